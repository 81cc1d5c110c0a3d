"""The hub's Radiens ports: what is served where, the lifecycle answers, refusals that change
nothing (incomplete proto2 requests, taken ports)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from radiens_async._generated.allego import allegoserver_pb2, allegoserver_pb2_grpc, common_pb2
from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.hub.radiens.lifecycle_service import ALLEGO_PROTOCOL_VERSION
from radiens_async.hub.radiens.required_fields import UNMARSHAL_PREFIX

from hub_process import HubProcess, free_port_block

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def radiens_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("radiens-ports"), radiens_base_port=0) as process:
        yield process


@pytest.fixture
async def channels(radiens_hub: HubProcess) -> AsyncIterator[list[grpc.aio.Channel]]:
    base = radiens_hub.radiens_base_port
    assert base is not None
    opened = [grpc.aio.insecure_channel(f"127.0.0.1:{base + i}") for i in range(5)]
    yield opened
    for channel in opened:
        await channel.close()


HEALTHCHECKS = {
    0: (allegoserver_pb2_grpc.AllegoCoreStub, allegoserver_pb2_grpc.AllegoLifecycleStub),
    1: (allegoserver_pb2_grpc.Pcache1Stub,),
    2: (allegoserver_pb2_grpc.Kpi1Stub,),
    3: (allegoserver_pb2_grpc.Neurons1Stub,),
    4: (allegoserver_pb2_grpc.AllegoLifecycleStub,),
}


async def test_each_port_answers_its_services_healthcheck(channels: list[grpc.aio.Channel]) -> None:
    for offset, stubs in HEALTHCHECKS.items():
        for stub in stubs:
            reply = await stub(channels[offset]).Healthcheck(common_pb2.StandardRequest())
            assert reply.errMsg == ""


async def test_a_port_serves_only_its_own_services(channels: list[grpc.aio.Channel]) -> None:
    """As on an Allego: Pcache1 is not on the core port, AllegoCore not on the Pcache1 port."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await allegoserver_pb2_grpc.Pcache1Stub(channels[0]).Healthcheck(
            common_pb2.StandardRequest()
        )
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await allegoserver_pb2_grpc.AllegoCoreStub(channels[1]).Healthcheck(
            common_pb2.StandardRequest()
        )
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_our_own_protocol_is_not_on_the_radiens_ports(radiens_hub: HubProcess) -> None:
    """Only the official services are served there; radiens.v1 stays on the hub's own port."""
    from radiens_async._generated.radiens.v1 import common_pb2 as v1_common
    from radiens_async._generated.radiens.v1 import hub_pb2_grpc

    async with grpc.aio.insecure_channel(radiens_hub.radiens_address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await hub_pb2_grpc.HubStub(channel).Health(v1_common.Empty())
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_lifecycle_version_and_licence(channels: list[grpc.aio.Channel]) -> None:
    for offset in (0, 4):
        stub = allegoserver_pb2_grpc.AllegoLifecycleStub(channels[offset])
        version = await stub.GetVersion(common_pb2.StandardRequest())
        assert version.version == ALLEGO_PROTOCOL_VERSION
        licence = await stub.GetOfflineLicenseStatus(common_pb2.StandardRequest())
        assert licence.isVerified
        assert len(licence.hardwareUUID) == 36


async def test_a_request_missing_a_required_field_is_refused_like_allego(
    radiens_hub: HubProcess, channels: list[grpc.aio.Channel]
) -> None:
    """Go's protobuf refuses to unmarshal it (INTERNAL), and nothing changes."""
    async with AsyncAllegoClient(radiens_hub.address) as ours:
        before = await ours.get_status()
        raw = channels[0].unary_unary(
            "/allego.AllegoCore/Restart",
            request_serializer=lambda _msg: b"",  # a RestartRequest without its required mode
            response_deserializer=common_pb2.StandardReply.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw(allegoserver_pb2.RestartRequest())
        assert info.value.code() == grpc.StatusCode.INTERNAL
        assert UNMARSHAL_PREFIX in (info.value.details() or "")
        assert "allego.RestartRequest.mode" in (info.value.details() or "")
        after = await ours.get_status()
        assert after.system_mode == before.system_mode
        # the hub keeps serving both protocols
        assert (await ours.hub_health()).serving
        reply = await allegoserver_pb2_grpc.AllegoLifecycleStub(channels[4]).Healthcheck(
            common_pb2.StandardRequest()
        )
        assert reply.errMsg == ""


def test_taken_radiens_ports_refuse_the_hub_clearly(tmp_path: Path) -> None:
    base = free_port_block()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", base + 2))
    blocker.listen()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "radiens_async.hub",
                "--port",
                "0",
                "--data-dir",
                str(tmp_path),
                "--radiens-ports",
                "--radiens-base-port",
                str(base),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        blocker.close()
    assert proc.returncode == 1
    assert f"127.0.0.1:{base + 2} is in use" in proc.stderr
    assert "Allego" in proc.stderr
    assert "Traceback" not in proc.stderr
    # nothing was left listening on the other four ports
    for port in (base, base + 1, base + 3, base + 4):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))
