"""The client transport of the Radiens protocol: grpclib channels to the five ports of an Allego.

An Allego app (or our hub's Radiens ports) serves ``AllegoCore`` on its core port and the other
services on the ports after it::

    core port      AllegoCore (+ AllegoLifecycle.GetOfflineLicenseStatus, for auth)
    core port + 1  Pcache1            live signal reads
    core port + 2  Kpi1               signal metrics
    core port + 3  Neurons1           spike sorter and spikes
    core port + 4  AllegoLifecycle    health, version

Authorization is resolved once, on first use, as radiens-core does it: the device UUID from
``AllegoLifecycle.GetOfflineLicenseStatus`` on the core port, sent as ``authorization:
deviceUUID <uuid>``, or no header when the server does not answer it. Every failure goes through
:func:`~radiens_async.client.error_mapping.map_error`; a ``StandardReply`` whose ``errMsg`` is not
empty raises :class:`~radiens_async.errors.RemoteError`.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping
from ssl import SSLContext
from typing import Any, Final, Literal

from grpclib.client import Channel
from grpclib.exceptions import GRPCError

from radiens_async._generated.allego import allegoserver_grpc, common_pb2
from radiens_async.client.error_mapping import map_error
from radiens_async.client.tuned_channel import TunedChannel
from radiens_async.errors import ClientClosed, InvalidArgument, RemoteError

__all__ = ["DEFAULT_TIMEOUT_S", "PORT_OFFSETS", "RadiensTransport", "Service", "split_address"]

DEFAULT_TIMEOUT_S: Final = 10.0
DEFAULT_CONNECT_TIMEOUT_S: Final = 5.0
AUTH_KEY: Final = "authorization"  # the metadata key radiens-core sends

Service = Literal["core", "core_lifecycle", "pcache", "kpi", "neurons", "lifecycle"]

PORT_OFFSETS: Final[Mapping[Service, int]] = {
    "core": 0,
    "core_lifecycle": 0,
    "pcache": 1,
    "kpi": 2,
    "neurons": 3,
    "lifecycle": 4,
}
_STUBS: Final[Mapping[Service, Any]] = {
    "core": allegoserver_grpc.AllegoCoreStub,
    "core_lifecycle": allegoserver_grpc.AllegoLifecycleStub,
    "pcache": allegoserver_grpc.Pcache1Stub,
    "kpi": allegoserver_grpc.Kpi1Stub,
    "neurons": allegoserver_grpc.Neurons1Stub,
    "lifecycle": allegoserver_grpc.AllegoLifecycleStub,
}
# Bulk replies (signal snapshots, dense spikes) get the large-frame channel.
_BULK: Final = frozenset({1, 3})


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``"[v6]:port"`` too) as ``(host, port)``.

    Raises
    ------
    InvalidArgument
        No port, or a port that is not an int in 1..65531 (four ports follow the core port).

    Examples
    --------
    >>> split_address("localhost:50051")
    ('localhost', 50051)
    """
    host, sep, port_text = address.rpartition(":")
    if not sep or not host:
        raise InvalidArgument(f"an Allego address is 'host:port', got {address!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise InvalidArgument(f"an Allego address is 'host:port', got {address!r}") from None
    if not 0 < port <= 65535 - 4:
        raise InvalidArgument(f"core port {port} leaves no room for the four ports after it")
    return host.strip("[]"), port


class RadiensTransport:
    """One client's connection to the five ports of one Allego.

    Parameters
    ----------
    address : str
        ``"host:port"`` of the core port (an Allego app: ``"localhost:50051"``).
    timeout : float
        Deadline in seconds of every unary call (per call overridable).
    connect_timeout : float
        Deadline of the authorization look-up, the first call made.
    ssl : ssl.SSLContext, optional
        TLS for an Allego on another machine (default: plain HTTP/2, as the app serves).

    Examples
    --------
    >>> async def main():  # doctest: +SKIP
    ...     transport = RadiensTransport("localhost:50051")
    ...     status = await transport.call("core", "GetStatus", common_pb2.StandardRequest())
    ...     await transport.close()
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        ssl: SSLContext | None = None,
    ) -> None:
        self.host, self.core_port = split_address(address)
        self.ssl = ssl
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._state = _State.UNOPENED
        self._channels: dict[int, Channel] = {}
        self._stubs: dict[Service, Any] = {}
        self._metadata: dict[str, str] | None = None
        self._auth_lock: asyncio.Lock | None = None
        self._auth_resolved = False

    @property
    def address(self) -> str:
        """``"host:port"`` of the core port."""
        return f"{self.host}:{self.core_port}"

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    @property
    def authorization(self) -> str | None:
        """The ``authorization`` value sent with every call (None: no header, or not resolved)."""
        return None if self._metadata is None else self._metadata[AUTH_KEY]

    def where(self, service: Service) -> str:
        """``"host:port"`` of a service."""
        return f"{self.host}:{self.core_port + PORT_OFFSETS[service]}"

    def _open_channels(self) -> None:
        # Channels bind the running loop when built, so they are built here, on first use.
        for service, offset in PORT_OFFSETS.items():
            if offset not in self._channels:
                port = self.core_port + offset
                self._channels[offset] = (
                    TunedChannel(self.host, port, ssl=self.ssl)
                    if offset in _BULK
                    else Channel(self.host, port, ssl=self.ssl)
                )
            self._stubs[service] = _STUBS[service](self._channels[offset])
        self._state = _State.OPENED

    async def open(self) -> None:
        """Build the channels and resolve the authorization header (once)."""
        if self._state is _State.CLOSED:
            raise ClientClosed("this client was closed; create a new one")
        if self._state is _State.UNOPENED:
            self._open_channels()
        if self._auth_resolved:
            return
        if self._auth_lock is None:
            self._auth_lock = asyncio.Lock()
        async with self._auth_lock:
            if not self._auth_resolved:
                # a failure leaves it unresolved: the next call asks again
                await self._resolve_authorization()
                self._auth_resolved = True

    async def _resolve_authorization(self) -> None:
        stub = self._stubs["core_lifecycle"]
        try:
            reply = await stub.GetOfflineLicenseStatus(
                common_pb2.StandardRequest(), timeout=self.connect_timeout
            )
        except asyncio.CancelledError:
            raise
        except GRPCError:
            # A server without licence status (or refusing it): radiens-core sends no header.
            self._metadata = None
            return
        except Exception as exc:
            # No answer at all: nothing else would work either, so say so now.
            raise map_error(exc, where=self.where("core")) from exc
        uuid = reply.hardwareUUID
        self._metadata = {AUTH_KEY: f"deviceUUID {uuid}"} if uuid else None

    async def call(
        self, service: Service, method: str, request: Any, *, timeout: float | None = None
    ) -> Any:
        """One unary call of ``service.method`` with the deadline, auth and error mapping.

        Raises
        ------
        RemoteError
            The server answered with an error status (mapped to its subclass), or a
            ``StandardReply`` with a non-empty ``errMsg``.
        ConnectError, DeadlineExceeded
            The port does not answer, or not within the deadline.
        """
        await self.open()
        if self._state is _State.CLOSED:
            raise ClientClosed("this client was closed; create a new one")
        bound = getattr(self._stubs[service], method)
        try:
            reply = await bound(
                request,
                timeout=self.timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_error(exc, where=self.where(service)) from exc
        if isinstance(reply, common_pb2.StandardReply) and reply.errMsg:
            raise RemoteError(f"Allego {method}: {reply.errMsg}", "UNKNOWN")
        return reply

    async def close(self) -> None:
        """Close every channel; the transport cannot be used again."""
        self._state = _State.CLOSED
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        self._stubs.clear()
