"""The async client transport: finds the hub, owns the grpclib channels, applies deadlines and
maps every failure to :mod:`radiens_async.errors` (through :func:`map_error`, the one place)."""

from __future__ import annotations

import asyncio
import enum
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

from radiens_async._generated.radiens.v1 import (
    allego_grpc,
    common_pb2,
    hub_grpc,
    hub_pb2,
    neurons_grpc,
)
from radiens_async.client import embedded_hub, hub_registry
from radiens_async.client.error_mapping import map_error
from radiens_async.client.hub_registry import HubAddress
from radiens_async.client.tls import TlsSetting, client_ssl_context
from radiens_async.client.tuned_channel import TunedChannel
from radiens_async.errors import ClientClosed, ConnectError
from radiens_async.hub_contract import AUTH_METADATA_KEY, bearer

Reply = TypeVar("Reply")
Stub = TypeVar("Stub")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CONNECT_TIMEOUT_S = 5.0


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class HubTransport:
    """One client's connection to one hub.

    Parameters
    ----------
    hub_name : str, optional
        A name from the hub registry (default: ``RADIENS_HUB`` or ``"default"``).
    address : str, optional
        ``"host:port"``; bypasses the registry.
    token : str, optional
        Access token (default: ``RADIENS_HUB_TOKEN``), sent as ``authorization: Bearer``.
    timeout : float
        Deadline in seconds for every unary call.
    connect_timeout : float
        Deadline for reaching the hub at all.
    tls : bool, str, PathLike or SSLContext, optional
        TLS for a remote hub (see :mod:`radiens_async.client.tls`); default:
        ``RADIENS_HUB_TLS_CA`` or plain HTTP/2.
    """

    def __init__(
        self,
        hub_name: str | None = None,
        address: str | None = None,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
        tls: TlsSetting = None,
    ) -> None:
        self.hub_name, self.address = hub_registry.resolve(hub_name, address)
        self.ssl = client_ssl_context(tls)
        token = token if token is not None else os.environ.get(hub_registry.ENV_TOKEN)
        self.metadata = {AUTH_METADATA_KEY: bearer(token)} if token else None
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._state = _State.UNOPENED
        self._channel: TunedChannel | None = None
        self._open_lock: asyncio.Lock | None = None
        self.hub: hub_grpc.HubStub | None = None
        self.allego: allego_grpc.AllegoStub | None = None
        self.neurons: neurons_grpc.NeuronsStub | None = None

    @property
    def where(self) -> str:
        return f"'{self.hub_name}' at {self.address}"

    async def open(self) -> None:
        """Connect (starting the embedded hub if the default one does not answer)."""
        if self._state is _State.CLOSED:
            raise ClientClosed("this client was closed; create a new one")
        if self._state is _State.OPENED:
            return
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            if self._state is _State.OPENED:
                return
            try:
                await self._connect(self.address)
            except ConnectError:
                if self.address.explicit:
                    raise
                host, port = await asyncio.to_thread(
                    embedded_hub.start_embedded_hub, self.address.port
                )
                self.address = HubAddress(host, port, explicit=False)
                await self._connect(self.address)
            self._state = _State.OPENED

    async def _connect(self, address: HubAddress) -> None:
        channel = TunedChannel(address.host, address.port, ssl=self.ssl)
        hub = hub_grpc.HubStub(channel)
        try:
            reply = await asyncio.wait_for(
                hub.Health(common_pb2.Empty(), metadata=self.metadata), self.connect_timeout
            )
        except asyncio.CancelledError:
            channel.close()
            raise
        except Exception as exc:
            channel.close()
            mapped = map_error(exc, where=str(address))
            if isinstance(mapped, ConnectError | TimeoutError):
                reason = str(mapped).removeprefix(f"cannot reach the hub at {address}: ")
                raise ConnectError(
                    f"cannot reach the hub {self.hub_name!r} at {address} within "
                    f"{self.connect_timeout:g} s: {reason}"
                ) from exc
            raise mapped from exc
        if not isinstance(reply, hub_pb2.HealthReply) or not reply.serving:
            channel.close()
            raise ConnectError(f"the service at {address} is not a serving radiens hub")
        self._channel, self.hub = channel, hub
        self.allego = allego_grpc.AllegoStub(channel)
        self.neurons = neurons_grpc.NeuronsStub(channel)

    async def close(self) -> None:
        """Close the channel; the transport cannot be used again."""
        self._state = _State.CLOSED
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    async def stub(self, stub_class: Callable[[TunedChannel], Stub]) -> Stub:
        """A ``stub_class`` stub (e.g. ``curate_grpc.CurateStub``) on the open channel.

        Opens the transport first; ask again after a reconnect (stubs are cheap to build).

        Examples
        --------
        >>> stub = await transport.stub(curate_grpc.CurateStub)  # doctest: +SKIP
        >>> await transport.call(stub.ListJobs, common_pb2.Empty())  # doctest: +SKIP
        """
        await self.open()
        if self._channel is None:  # closed while opening
            raise ClientClosed("this client was closed; create a new one")
        return stub_class(self._channel)

    async def call(
        self,
        method: Callable[..., Awaitable[Reply]],
        request: Any,
        *,
        timeout: float | None = None,
    ) -> Reply:
        """Run one unary call with the deadline and error mapping.

        ``method`` is a bound stub method, looked up after :meth:`open` (e.g.
        ``lambda: transport.allego.GetStatus``) — pass the stub attribute via :meth:`stub`.
        """
        try:
            return await method(
                request,
                timeout=self.timeout if timeout is None else timeout,
                metadata=self.metadata,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise map_error(exc, where=str(self.address)) from exc

    async def stream(
        self,
        stub_factory: Callable[[TunedChannel], Any],
        method_name: str,
        request: Any,
        *,
        window: int | None = None,
    ) -> AsyncGenerator[Any, None]:
        """The messages of a server-streaming call, on a channel of its own.

        Bulk streams get their own HTTP/2 connection so that a slow consumer's flow-control
        window never stalls control calls; ``window`` sets that connection's flow-control
        window in bytes (see :func:`flow_window_bytes`). The connection sends keepalive pings,
        so a frozen or vanished hub ends the stream with :class:`ConnectError` within
        :func:`~radiens_async.client.tuned_channel.keepalive_bound_s` seconds.

        This generator alone owns the call and its connection: however it is left (the end of
        the stream, ``aclose()`` after a ``break``, an exception thrown in, cancellation,
        finalisation by the event loop when it is abandoned, loop shutdown) it resets the call
        (RST_STREAM) and closes the connection, without waiting for the hub. Its cleanup never
        suspends, so closing it from the loop's shutdown hooks is safe in any order.

        Raises
        ------
        ConnectError
            The hub cannot be reached, or the connection broke (keepalive unanswered).
        RadiensError
            The hub's status for the call, mapped by :func:`map_error`.

        Examples
        --------
        >>> messages = transport.stream(neurons_grpc.NeuronsStub, "StreamSpikes", request)
        >>> async with contextlib.aclosing(messages):  # doctest: +SKIP
        ...     async for message in messages:
        ...         ...
        """
        await self.open()
        where = str(self.address)
        channel = TunedChannel(self.address.host, self.address.port, window=window, ssl=self.ssl)
        call: Any = None
        try:
            try:
                call = getattr(stub_factory(channel), method_name).open(metadata=self.metadata)
                await call.__aenter__()
                await call.send_message(request, end=True)
            except Exception as exc:
                raise map_error(exc, where=where) from exc
            while True:
                try:
                    message = await call.recv_message()
                except Exception as exc:
                    raise map_error(exc, where=where) from exc
                if message is None:
                    break
                yield message  # what the consumer throws in here is its own: never mapped
            ending, call = call, None
            try:
                await ending.__aexit__(None, None, None)  # reads the trailers: the status
            except Exception as exc:
                raise map_error(exc, where=where) from exc
        except BaseException as exc:
            if call is not None:
                _reset_call(call, exc)
            raise
        finally:
            channel.close()

    def open_stream(
        self,
        stub_factory: Callable[[TunedChannel], Any],
        method_name: str,
        request: Any,
        *,
        window: int | None = None,
    ) -> StreamScope:
        """:meth:`stream` as an async context manager: leaving the block closes the stream.

        Examples
        --------
        >>> async with transport.open_stream(stub, "StreamJobProgress", request) as messages:
        ...     async for message in messages:  # doctest: +SKIP
        ...         ...
        """
        return StreamScope(self.stream(stub_factory, method_name, request, window=window))


class StreamScope:
    """Closes a :meth:`HubTransport.stream` generator when the ``async with`` block ends.

    A plain class rather than an ``asynccontextmanager``: a generator-based context manager
    inside an async generator is closed by the loop's shutdown hooks on its own, after which
    the outer generator's exit fails with "generator didn't stop after athrow()".
    """

    def __init__(self, messages: AsyncGenerator[Any, None]) -> None:
        self.messages = messages

    async def __aenter__(self) -> AsyncGenerator[Any, None]:
        return self.messages

    async def __aexit__(self, *exc_info: object) -> None:
        await self.messages.aclose()


def _reset_call(call: Any, exc: BaseException) -> None:
    """Reset ``call`` (RST_STREAM) and release it, without suspending.

    grpclib's ``Stream.__aexit__`` never awaits when it is given an exception (it resets the
    stream with ``reset_nowait``), so it is driven here by hand; were it ever to suspend it is
    abandoned (closing the connection right after ends the call on the hub anyway).
    """
    step = call.__aexit__(type(exc), exc, exc.__traceback__)
    try:
        step.send(None)
    except StopIteration:
        return
    except Exception:
        return
    step.close()
