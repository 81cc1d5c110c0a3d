"""Which wire protocol an Allego client speaks, decided by asking the server.

* ``protocol="hub"``: our hub's ``radiens.v1`` (:class:`HubAllegoBackend`), found through the
  hub registry or started as the embedded hub, exactly as before backends existed.
* ``protocol="radiens"``: the Radiens protocol of the Allego app
  (:class:`~radiens_async.client.backends.radiens_allego.RadiensAllegoBackend`) at the given
  address, or at ``localhost:50051`` where the Allego app listens.
* ``protocol="auto"`` (default): with an address, ``radiens.v1`` ``Hub.Health`` first; a server
  that answers it UNIMPLEMENTED (or otherwise not as a hub) but answers
  ``allego.AllegoLifecycle.Healthcheck`` is an Allego. With no address, first an Allego app
  running on this machine (one short Healthcheck probe of ``localhost:50051``, the port the
  official client dials; a refused connection costs nothing), then the hub registry and the
  embedded hub. ``RADIENS_ALLEGO_DISCOVERY=0`` skips that local probe.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from ssl import SSLContext
from typing import Final, Literal

from grpclib.client import Channel

from radiens_async._generated.allego import allegoserver_grpc, common_pb2
from radiens_async.client.backends.allego_backend import AllegoBackend
from radiens_async.client.backends.hub_allego import HubAllegoBackend
from radiens_async.client.hub_registry import HubAddress
from radiens_async.client.transport import HubTransport
from radiens_async.errors import InvalidArgument, NotSupported, RemoteError

__all__ = [
    "ALLEGO_CORE_PORT",
    "DISCOVERY_TIMEOUT_S",
    "ENV_DISCOVERY",
    "PROTOCOLS",
    "WireProtocol",
    "answers_allego",
    "discover_local_allego",
    "discovery_enabled",
    "parse_protocol",
    "radiens_backend",
    "select_allego_backend",
]

WireProtocol = Literal["auto", "hub", "radiens"]
PROTOCOLS: Final = ("auto", "hub", "radiens")
ALLEGO_CORE_PORT = 50051  # where the Allego app serves AllegoCore (radiens-core dials it)
ENV_DISCOVERY: Final = "RADIENS_ALLEGO_DISCOVERY"
DISCOVERY_TIMEOUT_S = 0.5
RADIENS_BACKEND_MODULE: Final = "radiens_async.client.backends.radiens_allego"


def parse_protocol(protocol: object) -> WireProtocol:
    """``protocol`` checked: ``'auto'``, ``'hub'`` or ``'radiens'``.

    Raises
    ------
    InvalidArgument
        Anything else.
    """
    if protocol == "auto":
        return "auto"
    if protocol == "hub":
        return "hub"
    if protocol == "radiens":
        return "radiens"
    raise InvalidArgument(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


def discovery_enabled() -> bool:
    """False when ``RADIENS_ALLEGO_DISCOVERY`` is ``0`` / ``false`` / ``no`` / ``off``."""
    value = os.environ.get(ENV_DISCOVERY, "").strip().lower()
    return value not in ("0", "false", "no", "off")


async def answers_allego(address: HubAddress, timeout: float) -> bool:
    """Whether ``address`` answers ``allego.AllegoLifecycle.Healthcheck`` within ``timeout``.

    Any answer counts, even an error status other than UNIMPLEMENTED (the server speaks the
    protocol); a refused connection, a timeout or UNIMPLEMENTED is False.
    """
    from grpclib.const import Status
    from grpclib.exceptions import GRPCError

    channel = Channel(address.host, address.port)
    try:
        stub = allegoserver_grpc.AllegoLifecycleStub(channel)
        await asyncio.wait_for(stub.Healthcheck(common_pb2.StandardRequest()), timeout)
    except asyncio.CancelledError:
        raise
    except GRPCError as exc:
        return exc.status is not Status.UNIMPLEMENTED
    except Exception:
        return False
    finally:
        channel.close()
    return True


async def discover_local_allego(timeout: float = DISCOVERY_TIMEOUT_S) -> HubAddress | None:
    """The core port of an Allego app running on this machine, or None (also when
    ``RADIENS_ALLEGO_DISCOVERY=0``)."""
    if not discovery_enabled():
        return None
    address = HubAddress("127.0.0.1", ALLEGO_CORE_PORT)
    return address if await answers_allego(address, timeout) else None


def radiens_backend(
    address: HubAddress, *, timeout: float, connect_timeout: float, ssl: SSLContext | None
) -> AllegoBackend:
    """A ``RadiensAllegoBackend`` for the core port ``address`` (imported on first use).

    Raises
    ------
    NotSupported
        This installation has no Radiens backend.
    """
    try:
        module = importlib.import_module(RADIENS_BACKEND_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != RADIENS_BACKEND_MODULE:
            raise
        raise NotSupported(
            "AsyncAllegoClient", "radiens", "this installation has no Radiens backend"
        ) from exc
    backend: AllegoBackend = module.RadiensAllegoBackend(
        address, timeout=timeout, connect_timeout=connect_timeout, ssl=ssl
    )
    return backend


async def select_allego_backend(transport: HubTransport, protocol: WireProtocol) -> AllegoBackend:
    """Decide the backend of an Allego client and open it.

    Parameters
    ----------
    transport : HubTransport
        The client's hub transport (its address is the one the client was given, or the
        default hub's); it is opened only when the hub protocol is chosen. When the Radiens
        protocol is chosen, its ``address`` is set to the Allego's core port.
    protocol : {'auto', 'hub', 'radiens'}

    Raises
    ------
    ConnectError
        Nothing answers (the error of the hub protocol's attempt, as before backends existed).
    RemoteError
        The server answers neither protocol.
    """
    if protocol == "hub":
        return await _opened(HubAllegoBackend(transport))
    if protocol == "radiens":
        address = transport.address
        if not address.explicit:
            address = HubAddress("127.0.0.1", ALLEGO_CORE_PORT)
        return await _opened_radiens(transport, address)
    if not transport.address.explicit:
        local = await discover_local_allego()
        if local is not None:
            return await _opened_radiens(transport, local)
    try:
        await transport.open()
    except RemoteError:
        # a gRPC server that is not our hub (an Allego answers Hub.Health UNIMPLEMENTED)
        if not await answers_allego(transport.address, transport.connect_timeout):
            raise
        return await _opened_radiens(transport, transport.address)
    return HubAllegoBackend(transport)


async def _opened(backend: AllegoBackend) -> AllegoBackend:
    await backend.open()
    return backend


async def _opened_radiens(transport: HubTransport, address: HubAddress) -> AllegoBackend:
    address = HubAddress(address.host, address.port, explicit=True)
    backend = radiens_backend(
        address,
        timeout=transport.timeout,
        connect_timeout=transport.connect_timeout,
        ssl=transport.ssl,
    )
    transport.address = address
    try:
        await backend.open()
    except BaseException:
        await backend.aclose()
        raise
    return backend
