"""Which backend an Allego client picks, by asking in-process fake servers on loopback.

A fake Allego serves only ``allego.AllegoLifecycle.Healthcheck`` (so it answers ``radiens.v1``
``Hub.Health`` UNIMPLEMENTED, like the app); a fake hub serves only ``radiens.v1`` ``Hub.Health``.
The Radiens backend itself is replaced by a recorder: these tests are about the choice.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async._generated.radiens.v1 import hub_pb2, hub_pb2_grpc
from radiens_async.client import protocol_selection
from radiens_async.client.backends.hub_allego import HubAllegoBackend
from radiens_async.client.hub_registry import HubAddress
from radiens_async.client.protocol_selection import (
    answers_allego,
    discover_local_allego,
    parse_protocol,
    select_allego_backend,
)
from radiens_async.client.transport import HubTransport
from radiens_async.errors import ConnectError, InvalidArgument, RemoteError

pytestmark = pytest.mark.anyio


class _Lifecycle(allegoserver_pb2_grpc.AllegoLifecycleServicer):
    def __init__(self) -> None:
        self.healthchecks = 0

    async def Healthcheck(self, request: Any, context: Any) -> common_pb2.StandardReply:
        self.healthchecks += 1
        return common_pb2.StandardReply()


class _Hub(hub_pb2_grpc.HubServicer):
    def __init__(self) -> None:
        self.healths = 0

    async def Health(self, request: Any, context: Any) -> hub_pb2.HealthReply:
        self.healths += 1
        return hub_pb2.HealthReply(serving=True, uptime_s=1.0, pid=1)


@dataclass
class FakeServer:
    port: int
    lifecycle: _Lifecycle | None = None
    hub: _Hub | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


async def _serve(
    *, lifecycle: bool = False, hub: bool = False
) -> tuple[grpc.aio.Server, FakeServer]:
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    fake = FakeServer(port)
    if lifecycle:
        fake.lifecycle = _Lifecycle()
        allegoserver_pb2_grpc.add_AllegoLifecycleServicer_to_server(fake.lifecycle, server)
    if hub:
        fake.hub = _Hub()
        hub_pb2_grpc.add_HubServicer_to_server(fake.hub, server)
    await server.start()
    return server, fake


@pytest.fixture
async def allego_app() -> AsyncIterator[FakeServer]:
    server, fake = await _serve(lifecycle=True)
    yield fake
    await server.stop(None)


@pytest.fixture
async def hub_server() -> AsyncIterator[FakeServer]:
    server, fake = await _serve(hub=True)
    yield fake
    await server.stop(None)


@pytest.fixture
async def nothing_server() -> AsyncIterator[FakeServer]:
    server, fake = await _serve()
    yield fake
    await server.stop(None)


@dataclass
class RecordingRadiensBackend:
    """Stands in for RadiensAllegoBackend: records how it was built and opened."""

    address: HubAddress
    kwargs: dict[str, Any]
    opened: int = 0
    closed: int = 0

    async def open(self) -> None:
        self.opened += 1

    async def aclose(self) -> None:
        self.closed += 1


@pytest.fixture
def radiens_built(monkeypatch: pytest.MonkeyPatch) -> list[RecordingRadiensBackend]:
    built: list[RecordingRadiensBackend] = []

    def factory(address: HubAddress, **kwargs: Any) -> RecordingRadiensBackend:
        backend = RecordingRadiensBackend(address, kwargs)
        built.append(backend)
        return backend

    monkeypatch.setattr(protocol_selection, "radiens_backend", factory)
    return built


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_unimplemented_hub_health_picks_the_radiens_backend(
    allego_app: FakeServer, radiens_built: list[RecordingRadiensBackend]
) -> None:
    transport = HubTransport(address=allego_app.address)
    backend = await select_allego_backend(transport, "auto")
    assert radiens_built == [backend]
    assert backend.address == HubAddress("127.0.0.1", allego_app.port)  # type: ignore[attr-defined]
    assert radiens_built[0].opened == 1
    assert allego_app.lifecycle is not None and allego_app.lifecycle.healthchecks == 1
    assert transport.address == HubAddress("127.0.0.1", allego_app.port)
    assert not transport.closed
    await transport.close()


async def test_a_hub_picks_the_hub_backend_without_asking_the_radiens_protocol(
    hub_server: FakeServer, radiens_built: list[RecordingRadiensBackend]
) -> None:
    transport = HubTransport(address=hub_server.address)
    backend = await select_allego_backend(transport, "auto")
    assert isinstance(backend, HubAllegoBackend)
    assert backend.capabilities.protocol == "radiens.v1" and backend.capabilities.ground_truth
    assert radiens_built == []
    assert hub_server.hub is not None and hub_server.hub.healths == 1
    await transport.close()


async def test_a_server_of_neither_protocol_keeps_the_hub_error(
    nothing_server: FakeServer, radiens_built: list[RecordingRadiensBackend]
) -> None:
    transport = HubTransport(address=nothing_server.address)
    with pytest.raises(RemoteError) as info:
        await select_allego_backend(transport, "auto")
    assert info.value.status == "UNIMPLEMENTED"
    assert radiens_built == []
    await transport.close()


async def test_explicit_protocols(
    allego_app: FakeServer, hub_server: FakeServer, radiens_built: list[RecordingRadiensBackend]
) -> None:
    # protocol="hub" never falls back to the Radiens protocol
    transport = HubTransport(address=allego_app.address)
    with pytest.raises(RemoteError) as info:
        await select_allego_backend(transport, "hub")
    assert info.value.status == "UNIMPLEMENTED"
    assert radiens_built == []
    await transport.close()
    # protocol="radiens" does not ask Hub.Health at all
    transport = HubTransport(address=hub_server.address)
    backend = await select_allego_backend(transport, "radiens")
    assert radiens_built == [backend]
    assert hub_server.hub is not None and hub_server.hub.healths == 0
    assert set(radiens_built[0].kwargs) == {"timeout", "connect_timeout", "ssl"}
    await transport.close()


async def test_nothing_listening_is_a_connect_error(
    radiens_built: list[RecordingRadiensBackend],
) -> None:
    transport = HubTransport(address=f"127.0.0.1:{_free_port()}", connect_timeout=2.0)
    with pytest.raises(ConnectError):
        await select_allego_backend(transport, "auto")
    assert radiens_built == []
    await transport.close()


async def test_no_address_first_uses_a_local_allego(
    allego_app: FakeServer,
    radiens_built: list[RecordingRadiensBackend],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(protocol_selection, "ALLEGO_CORE_PORT", allego_app.port)
    monkeypatch.delenv(protocol_selection.ENV_DISCOVERY, raising=False)
    transport = HubTransport()
    assert not transport.address.explicit
    backend = await select_allego_backend(transport, "auto")
    assert radiens_built == [backend]
    assert transport.address == HubAddress("127.0.0.1", allego_app.port)
    await transport.close()


async def test_discovery_can_be_switched_off_and_costs_nothing_when_refused(
    allego_app: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol_selection, "ALLEGO_CORE_PORT", allego_app.port)
    monkeypatch.setenv(protocol_selection.ENV_DISCOVERY, "0")
    assert await discover_local_allego() is None
    assert allego_app.lifecycle is not None and allego_app.lifecycle.healthchecks == 0
    monkeypatch.setenv(protocol_selection.ENV_DISCOVERY, "1")
    assert await discover_local_allego() == HubAddress("127.0.0.1", allego_app.port)
    # a refused connection answers at once, far below the probe's deadline
    monkeypatch.setattr(protocol_selection, "ALLEGO_CORE_PORT", _free_port())
    t0 = time.perf_counter()
    assert await discover_local_allego(timeout=5.0) is None
    assert time.perf_counter() - t0 < 1.0


async def test_answers_allego_is_false_for_a_hub(hub_server: FakeServer) -> None:
    address = HubAddress("127.0.0.1", hub_server.port)
    assert not await answers_allego(address, 2.0)


def test_parse_protocol() -> None:
    assert [parse_protocol(p) for p in ("auto", "hub", "radiens")] == ["auto", "hub", "radiens"]
    for bad in ("Hub", "", None, 1, "radiens.v1"):
        with pytest.raises(InvalidArgument, match="protocol must be one of"):
            parse_protocol(bad)
