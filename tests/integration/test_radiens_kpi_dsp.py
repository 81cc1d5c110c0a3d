"""The live DSP group (AllegoCore Get/SetDSPGroup) and live KPI (Kpi1) on the Radiens ports,
compared with what our own protocol reads for the same state (one instrument, two protocols).

The stream is stopped before values are compared, so both protocols read the same window.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator

import grpc
import numpy as np
import pytest

import radiens_async as radiens
from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async.models.signal_metrics import MetricID
from radiens_async.utils.enums import MetricMode, MetricName

from hub_process import HubProcess

pytestmark = pytest.mark.anyio
LIVE = "Live Signals"
KPI_AND_OURS = [
    (common_pb2.KPI_RMS, MetricName.RMS),
    (common_pb2.KPI_MEAN, MetricName.MEAN),
    (common_pb2.KPI_NOISE_UV, MetricName.NOISE_UV),
    (common_pb2.KPI_MAX_MIN_DIFF_ABS, MetricName.MAX_MIN_DIFF_ABS),
    (common_pb2.KPI_NUM_PTS, MetricName.NUM_PTS),
    (common_pb2.KPI_EVENT_RATE, MetricName.EVENT_RATE),
    (common_pb2.KPI_EVENT_MEAN_MAX_ABS, MetricName.MEAN_MAX_ABS),
    (common_pb2.KPI_SNR, MetricName.SNR),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("radiens-kpi-dsp"), radiens_base_port=0) as process:
        yield process


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def streamed(hub: HubProcess) -> AsyncIterator[None]:
    """3 s of the spikes simulator, then stopped: the cache holds a fixed window."""
    async with radiens.AsyncAllegoClient(hub.address) as allego:
        await allego.restart("smartbox_sim_gen_spikes", seed=3)
        await allego.set_streaming("on")
        await asyncio.sleep(3.0)
        await allego.set_streaming("off")
    yield


@pytest.fixture
async def stubs(
    hub: HubProcess, streamed: None
) -> AsyncIterator[tuple[allegoserver_pb2_grpc.AllegoCoreStub, allegoserver_pb2_grpc.Kpi1Stub]]:
    base = hub.radiens_base_port
    assert base is not None
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{base}") as core,
        grpc.aio.insecure_channel(f"127.0.0.1:{base + 2}") as kpi,
    ):
        core_stub = allegoserver_pb2_grpc.AllegoCoreStub(core)
        yield core_stub, allegoserver_pb2_grpc.Kpi1Stub(kpi)
        await core_stub.SetDSPGroup(_set(common_pb2.STAGE2, []))  # leave stage 2 empty


def _set(stage: int, params: list[common_pb2.DSPParams]) -> common_pb2.SetDSPGroupRequest:
    return common_pb2.SetDSPGroupRequest(streamGroupId=LIVE, stage=stage, dspParams=params)  # type: ignore[arg-type]


def _p(kind: int, **fields: object) -> common_pb2.DSPParams:
    msg = common_pb2.DSPParams(
        type=kind,  # type: ignore[arg-type]
        stage=common_pb2.STAGE2,
        userLabel=str(fields.pop("userLabel", "")),
        port=fields.pop("port", common_pb2.A),  # type: ignore[arg-type]
        isAux=False,
        zeroPhase=bool(fields.pop("zeroPhase", False)),  # radiens-core always sends both
        forceSOS=False,
    )
    for name, value in fields.items():
        if name == "band":
            low, high = value  # type: ignore[misc]
            msg.freqSpecBand.lowFreq, msg.freqSpecBand.highFreq = low, high
        else:
            setattr(msg, name, value)
    return msg


def _kpi_request(
    kpis: list[int], lookback: float | None = 2.0, ntv: list[int] | None = None
) -> common_pb2.KpiMetricsReq:
    req = common_pb2.KpiMetricsReq(
        streamGroupId=LIVE,
        stype=common_pb2.PRI,
        arg=common_pb2.BundleReq(
            ntvIdxs=ntv or [],
            tR=common_pb2.TimeRange(timeRangeSec=[5.0, math.nan], fs=30000.0),
            metrics=[common_pb2.KpiMetricID(name=k) for k in kpis],  # type: ignore[arg-type]
        ),
        mode=common_pb2.KPI_SVC_STREAM,
    )
    if lookback is not None:
        req.streamLookbackSec = lookback
    return req


def _values(reply: common_pb2.SignalMetricsPacketReply) -> np.ndarray:
    m = reply.metricVals
    return np.frombuffer(m.data, "<f4").reshape(m.rows, m.cols).astype(np.float64)


async def _ours(hub: HubProcess, lookback: float) -> np.ndarray:
    """Our own protocol: the last packet of the STREAM-mode metrics of the same window."""
    async with radiens.AsyncAllegoClient(hub.address) as allego:
        m = await allego.signal_metrics().get_metrics(
            lookback,
            metrics=[MetricID(MetricMode.STREAM, name) for _k, name in KPI_AND_OURS],
            plot=False,
        )
    return np.asarray(m.val[-1])


def _same(kpi: np.ndarray, ours: np.ndarray) -> None:
    np.testing.assert_allclose(kpi, ours.astype(np.float32).astype(np.float64), rtol=1e-6)


# -- DSP group -----------------------------------------------------------------------------
async def test_dsp_group_round_trip(stubs) -> None:  # type: ignore[no-untyped-def]
    core, _kpi = stubs
    empty = await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    assert (list(empty.hardware), list(empty.softwareStage1), list(empty.softwareStage2)) == (
        [],
        [],
        [],
    )
    params = [
        _p(common_pb2.HIGHPASS, freq=300.0, userLabel="hp"),
        _p(common_pb2.NOTCH, freq=60.0, notchBandwidth=2.0),
        _p(common_pb2.BANDPASS, band=(300.0, 6000.0), filterOrder=6),
        _p(common_pb2.LOWPASS, freq=5000.0, family=common_pb2.FILTER_FAMILY_CHEBYSHEV_I),
        _p(common_pb2.CAR),
        _p(common_pb2.VIRTUAL_REFERENCE, refNtvChanIdx=3),
        _p(common_pb2.PAIRED_REFERENCE, refNtvChanIdx=4, targetNtvChanIdx=7.0),
    ]
    await core.SetDSPGroup(_set(common_pb2.STAGE2, params))
    got = await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    assert list(got.softwareStage2) == params
    assert list(got.hardware) == [] and list(got.softwareStage1) == []
    # stage 1 replaces its own list only; the step is stored in the stage it was set in
    stage1 = _p(common_pb2.LOWPASS, freq=7000.0)
    await core.SetDSPGroup(_set(common_pb2.STAGE1, [stage1]))
    got = await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    assert list(got.softwareStage2) == params
    assert got.softwareStage1[0].stage == common_pb2.STAGE1
    assert got.softwareStage1[0].freq == 7000.0
    await core.SetDSPGroup(_set(common_pb2.STAGE1, []))


@pytest.mark.parametrize(
    ("request_", "code", "message"),
    [
        (_set(common_pb2.STAGE2, [_p(common_pb2.HIGHPASS, freq=20000.0)]), "INVALID", "fs/2"),
        (_set(common_pb2.STAGE2, [_p(common_pb2.HIGHPASS, freq=math.nan)]), "INVALID", "finite"),
        (
            _set(common_pb2.STAGE2, [_p(common_pb2.HIGHPASS, freq=300.0, zeroPhase=True)]),
            "INVALID",
            "zero-phase",
        ),
        (
            _set(common_pb2.STAGE2, [_p(common_pb2.HIGHPASS, freq=300.0, port=common_pb2.C)]),
            "INVALID",
            "not connected",
        ),
        (_set(common_pb2.STAGE2, [_p(common_pb2.NOTCH, freq=60.0)]), "INVALID", "bandwidth"),
        (
            _set(common_pb2.STAGE2, [_p(common_pb2.VIRTUAL_REFERENCE, refNtvChanIdx=999)]),
            "INVALID",
            "amplifier channel",
        ),
        (
            _set(
                common_pb2.STAGE2,
                [_p(common_pb2.PAIRED_REFERENCE, refNtvChanIdx=1, targetNtvChanIdx=2.5)],
            ),
            "INVALID",
            "whole channel",
        ),
        (_set(common_pb2.SPIKE_SORTER, []), "INVALID", "SPIKE_SORTER"),
        (
            _set(common_pb2.STAGE_HARDWARE, [_p(common_pb2.HIGHPASS, freq=1.0)]),
            "FAILED",
            "no acquisition hardware",
        ),
        (
            common_pb2.SetDSPGroupRequest(streamGroupId="nope", stage=common_pb2.STAGE2),
            "NOT_FOUND",
            "nope",
        ),
    ],
)
async def test_bad_dsp_groups_are_refused_and_nothing_changes(  # type: ignore[no-untyped-def]
    stubs, request_: common_pb2.SetDSPGroupRequest, code: str, message: str
) -> None:
    core, _kpi = stubs
    good = [_p(common_pb2.HIGHPASS, freq=300.0)]
    await core.SetDSPGroup(_set(common_pb2.STAGE2, good))
    before = await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await core.SetDSPGroup(request_)
    assert info.value.code().name.startswith(code)
    assert message in (info.value.details() or "")
    assert await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE)) == before
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId="nope"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


# -- KPI -----------------------------------------------------------------------------------
async def test_kpi_metrics_equal_our_own_client(hub: HubProcess, stubs) -> None:  # type: ignore[no-untyped-def]
    _core, kpi = stubs
    assert (await kpi.Healthcheck(common_pb2.StandardRequest())).errMsg == ""
    kpis = [k for k, _name in KPI_AND_OURS]
    reply = await kpi.KpiGetMetrics(_kpi_request(kpis, 2.0))
    assert reply.answeredMode == common_pb2.KPI_SVC_STREAM and reply.sigType == common_pb2.PRI
    assert [m.name for m in reply.metrics] == kpis
    assert list(reply.ntvIdxs) == list(range(32))  # every channel is selected after a restart
    values = _values(reply)
    assert values.shape == (32, len(kpis))
    ours = await _ours(hub, 2.0)
    _same(values, ours)
    assert np.all(values[:, 4] == 60000)  # NUM_PTS: the 2 s window
    assert reply.tR.timestamp[1] - reply.tR.timestamp[0] == 60000 and reply.tR.fs == 30000.0
    # a subset of channels, in the asked order; the look-back stays set (shared)
    sub = await kpi.KpiGetMetrics(_kpi_request(kpis, None, [5, 2]))
    assert list(sub.ntvIdxs) == [5, 2]
    _same(_values(sub), ours[[5, 2]])


async def test_kpi_of_both_protocols_sees_stage2(hub: HubProcess, stubs) -> None:  # type: ignore[no-untyped-def]
    core, kpi = stubs
    kpis = [k for k, _name in KPI_AND_OURS]
    raw = _values(await kpi.KpiGetMetrics(_kpi_request(kpis, 1.0)))
    await core.SetDSPGroup(_set(common_pb2.STAGE2, [_p(common_pb2.HIGHPASS, freq=300.0)]))
    filtered = _values(await kpi.KpiGetMetrics(_kpi_request(kpis, 1.0)))
    _same(filtered, await _ours(hub, 1.0))  # our own protocol sees stage 2 too
    rms, mean = 0, 1
    assert np.all(filtered[:, rms] < 0.7 * raw[:, rms])  # the LFP band is gone
    assert np.abs(filtered[:, mean]).max() < 0.1 < np.abs(raw[:, mean]).max()  # and the DC
    await core.SetDSPGroup(_set(common_pb2.STAGE2, []))
    _same(_values(await kpi.KpiGetMetrics(_kpi_request(kpis, 1.0))), raw)


async def test_kpi_status_and_packet_duration_equal_our_own_client(  # type: ignore[no-untyped-def]
    hub: HubProcess, stubs
) -> None:
    _core, kpi = stubs
    status = await kpi.GetKpiStatus(common_pb2.GetKpiStatusRequest(streamGroupId=LIVE))
    async with radiens.AsyncAllegoClient(hub.address) as allego:
        ours = await allego.signal_metrics().get_metrics_status()
        assert status.streamGroupId == LIVE == ours.datasource_id
        assert status.packetDur == ours.packet_dur_sec == 1.0
        assert status.numPackets == ours.num_packets and status.numSigs == ours.num_sigs == 32
        assert status.persistence == pytest.approx(ours.persistence_sec)
        assert status.updatePeriod == ours.update_period_sec
        assert list(status.tR.timestamp) == ours.time_range.timestamp.tolist()
        assert status.numPacketsMemory == int(status.persistence // status.packetDur)
        await kpi.SetKpiPacketDur(common_pb2.SetKpiParamRequest(streamGroupId=LIVE, param=0.5))
        try:
            assert (await allego.signal_metrics().get_metrics_status()).packet_dur_sec == 0.5
            status = await kpi.GetKpiStatus(common_pb2.GetKpiStatusRequest(streamGroupId=LIVE))
            assert status.packetDur == 0.5
            kpis = [k for k, _name in KPI_AND_OURS]
            _same(_values(await kpi.KpiGetMetrics(_kpi_request(kpis, 2.0))), await _ours(hub, 2.0))
            for bad in (-1.0, math.nan, 1e9):
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await kpi.SetKpiPacketDur(common_pb2.SetKpiParamRequest(param=bad))
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await kpi.SetKpiPacketDur(common_pb2.SetKpiParamRequest())
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert (await allego.signal_metrics().get_metrics_status()).packet_dur_sec == 0.5
        finally:
            await kpi.SetKpiPacketDur(common_pb2.SetKpiParamRequest(param=1.0))


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"streamGroupId": "nope"}, grpc.StatusCode.NOT_FOUND, "nope"),
        ({"stype": common_pb2.AUX}, grpc.StatusCode.INVALID_ARGUMENT, "PRI"),
        ({"mode": common_pb2.KPI_SVC_RANGE}, grpc.StatusCode.FAILED_PRECONDITION, "RANGE"),
        ({"streamLookbackSec": math.nan}, grpc.StatusCode.INVALID_ARGUMENT, "streamLookbackSec"),
        ({"streamLookbackSec": -1.0}, grpc.StatusCode.INVALID_ARGUMENT, "streamLookbackSec"),
        ({"ntvIdxs": [999]}, grpc.StatusCode.INVALID_ARGUMENT, "999"),
    ],
)
async def test_bad_kpi_requests_are_refused_and_nothing_changes(  # type: ignore[no-untyped-def]
    hub: HubProcess, stubs, change: dict[str, object], code: grpc.StatusCode, message: str
) -> None:
    _core, kpi = stubs
    kpis = [common_pb2.KPI_RMS]
    before = _values(await kpi.KpiGetMetrics(_kpi_request(kpis, 1.5)))
    req = _kpi_request(kpis, None)
    for name, value in change.items():
        if name == "ntvIdxs":
            req.arg.ntvIdxs.extend(value)  # type: ignore[arg-type]
        else:
            setattr(req, name, value)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await kpi.KpiGetMetrics(req)
    assert info.value.code() == code and message in (info.value.details() or "")
    # the shared look-back (1.5 s) is unchanged
    again = await kpi.KpiGetMetrics(_kpi_request(kpis, None))
    np.testing.assert_array_equal(_values(again), before)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await kpi.GetKpiStatus(common_pb2.GetKpiStatusRequest(streamGroupId="nope"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


# -- last: restarts the device -------------------------------------------------------------
async def test_the_live_sorter_sees_stage2_and_a_restart_clears_it(  # type: ignore[no-untyped-def]
    hub: HubProcess, stubs
) -> None:
    """A virtual reference on channel 3 zeroes it in stage 2: the sorter finds nothing there,
    while the raw cache (no stage 2 on plain reads) keeps its signal."""
    core, _kpi = stubs
    async with radiens.AsyncAllegoClient(hub.address) as allego:
        await allego.restart("smartbox_sim_gen_spikes", seed=5)
        await core.SetDSPGroup(
            _set(common_pb2.STAGE2, [_p(common_pb2.VIRTUAL_REFERENCE, refNtvChanIdx=3)])
        )
        await allego.spike_sorter().set_threshold(neg_thr="on")
        await allego.set_streaming("on")
        try:
            await asyncio.sleep(3.0)
        finally:
            await allego.set_streaming("off")
        spikes = (await allego.spikes().get_spike_rasters())["spikes"]
        per_channel = np.bincount(spikes["ntv_chan_idx"], minlength=32)
        assert per_channel[3] == 0
        assert per_channel.sum() > 50 and (per_channel > 0).sum() > 10
        await allego.restart("smartbox_sim_gen_spikes", seed=5)
    got = await core.GetDSPGroup(common_pb2.SignalGroupIDRequest(streamGroupId=LIVE))
    assert list(got.softwareStage2) == []
