"""Pcache1Service in process, over a real AllegoDevice: the reply bound, stage-2 reads and the
live signal group's completeness (no hub process, no network)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest

from radiens_async._generated.allego import common_pb2
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.live_dsp_group import DspParams, DspType, FilterStage
from radiens_async.hub.radiens import pcache_service
from radiens_async.hub.radiens.pcache_service import Pcache1Service
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.signal_group import signal_group

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class FakeContext:
    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


@pytest.fixture(scope="module")
def device() -> Iterator[AllegoDevice]:
    dev = AllegoDevice()
    dev.set_streaming(True)
    time.sleep(0.3)
    dev.set_streaming(False)
    yield dev
    dev.close()


def service(device: AllegoDevice) -> Pcache1Service:
    domain = RadiensDomain(device=device, workspaces=Any, datasets=Any)  # type: ignore[arg-type]
    return Pcache1Service(domain)


def request(sec: list[float], apply_dsp: bool = False) -> common_pb2.HDSnapshotRequest2:
    return common_pb2.HDSnapshotRequest2(
        dsourceID="Live Signals",
        tR=common_pb2.TimeRange(timeRangeSec=sec, fs=30000.0),
        selMode=common_pb2.TRS_SUBSET,
        applyDSPstage2=apply_dsp,
    )


async def snapshot(
    svc: pcache_service.Pcache1Service, req: common_pb2.HDSnapshotRequest2
) -> common_pb2.HDSnapshot2:
    """The servicer answers in wire format (hd_snapshot_wire): parse it as a client does."""
    wire = await svc.GetHDSnapshot2(req, FakeContext())  # type: ignore[arg-type]
    assert isinstance(wire, bytes)
    reply = common_pb2.HDSnapshot2.FromString(wire)
    assert reply.IsInitialized()
    return reply


async def test_a_reply_past_the_bound_is_resource_exhausted(
    device: AllegoDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pcache_service, "MAX_SNAPSHOT_BYTES", 32 * 4 * 1000)
    svc = service(device)
    ok = await snapshot(svc, request([0.0, 1000 / 30000]))
    assert list(ok.sigs.amp.shape) == [32, 1000]
    with pytest.raises(Aborted) as info:
        await svc.GetHDSnapshot2(request([0.0, 1001 / 30000]), FakeContext())  # type: ignore[arg-type]
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "MiB" in info.value.details


async def test_apply_dsp_is_the_live_stage_2(device: AllegoDevice) -> None:
    svc = service(device)
    device.dsp_group.set_stage(FilterStage.STAGE2, [DspParams(DspType.HIGHPASS, "A", freq=300.0)])
    try:
        sec = [0.1, 0.2]
        reply = await snapshot(svc, request(sec, apply_dsp=True))
        raw = await snapshot(svc, request(sec))
        got = np.frombuffer(reply.sigs.amp.data, np.float32).reshape(32, 3000)
        cache = device.cache
        assert cache is not None
        rows = np.arange(32, dtype=np.intp)
        want = device.dsp_group.read_stage2(cache, 3000, 6000, rows).data
        assert np.array_equal(got, want)
        plain = np.frombuffer(raw.sigs.amp.data, np.float32).reshape(32, 3000)
        assert np.array_equal(plain, cache.read(3000, 6000, rows).data)
        assert not np.array_equal(got, plain)  # the high-pass did something
    finally:
        device.dsp_group.set_stage(FilterStage.STAGE2, [])


async def test_streaming_never_started_is_a_failed_precondition() -> None:
    svc = service(AllegoDevice())
    with pytest.raises(Aborted) as info:
        await svc.GetHDSnapshot2(request([0.0, 0.1]), FakeContext())  # type: ignore[arg-type]
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_the_signal_group_is_complete_and_fresh(device: AllegoDevice) -> None:
    group = signal_group(device)
    assert group.IsInitialized()
    assert group.sensorPortSpec.sensorA[0].IsInitialized()
    group.channels[0].chanName = "changed by a caller"
    assert signal_group(device).channels[0].chanName == "A-000"  # the memo is not shared
    device.channel_selection.deselect(device.layout.channels[0].signal_type, [0])
    try:
        assert not signal_group(device).channels[0].isSelected  # a change is seen at once
    finally:
        device.channel_selection.select(device.layout.channels[0].signal_type, [0])
