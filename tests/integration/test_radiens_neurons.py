"""``allego.Neurons1`` on the hub's Radiens port against our own client on the same hub.

The live sorter is one object behind both protocols: parameters set through one read the same
through the other, state and dashboard give the same numbers, and rasters, dense spikes, neurons
and the spikes spec describe the same spikes our own protocol returns. Bad input is refused with
a clear status and changes nothing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
import pytest

import radiens_async as radiens
from radiens_async._generated.allego import (
    allegoserver_pb2_grpc,
    biointerface_pb2,
    common_pb2,
    spikesorter_pb2,
)
from radiens_async.hub.radiens.sorter_ids import LIVE_SORTER_ID, SORTER_SINK_ID
from radiens_async.hub.radiens.spikes_translation import LABELS_PER_CHANNEL
from radiens_async.hub.servicers.neurons_service import LIVE_SORTER_ID as V1_SORTER_ID

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

SS = spikesorter_pb2
BI = biointerface_pb2
PC = common_pb2
FS = 30000.0
STREAM_S = 4.0


def neurons_address(hub: HubProcess) -> str:
    assert hub.radiens_base_port is not None
    return f"127.0.0.1:{hub.radiens_base_port + 3}"


def global_labels(channel: np.ndarray, unit: np.ndarray) -> np.ndarray:
    return np.where(unit > 0, channel.astype(np.int64) * LABELS_PER_CHANNEL + unit, 0)


def set_param(
    cmd: int, floats: list[float], bools: list[bool] | None = None, chans: list[int] | None = None
) -> PC.SpikeSorterSetParamRequest:
    return PC.SpikeSorterSetParamRequest(
        spikeSorterID=LIVE_SORTER_ID,
        cmd=cmd,  # type: ignore[arg-type]
        regFloat64=floats,
        regBool=bools or [],
        ntvChanIdx=chans or [],
    )


def command(cmd: int, sorter_id: str = LIVE_SORTER_ID) -> SS.SpikeSorterCommandRequest:
    return SS.SpikeSorterCommandRequest(
        spikeSorterID=sorter_id,
        cmd=cmd,  # type: ignore[arg-type]
        subCmd=SS.SORTER_SUBCMD_NULL,
    )


def std(sorter_id: str = LIVE_SORTER_ID) -> SS.SpikeSorterStandardRequest:
    return SS.SpikeSorterStandardRequest(spikeSorterID=sorter_id)


def raster_request(**fields: Any) -> SS.SpikeSorterGetRasterDataRequest:
    base: dict[str, Any] = {
        "spikeSorterID": LIVE_SORTER_ID,
        "timeWindow": 0.0,
        "plotWidthPoints": 0.0,
        "componentID": "test",
        "mode": SS.CHANNELS,
    }
    return SS.SpikeSorterGetRasterDataRequest(**{**base, **fields})


def dense_request(**fields: Any) -> BI.SpikesGetSpikesRequest:
    base: dict[str, Any] = {
        "dsourceID": SORTER_SINK_ID,
        "mode": BI.SpikeWaveforms,
        "timeStart": 0.0,
        "timeStop": math.inf,
        "maxSpikesPerChannel": -1,
    }
    return BI.SpikesGetSpikesRequest(**{**base, **fields})


async def expect(code: grpc.StatusCode, call: Any, request: Any) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(request)
    assert info.value.code() == code, info.value.details()
    return info.value.details() or ""


def params_equal(a: Any, b: Any) -> bool:
    """Two ``get_params`` tables hold the same values (NaN equal to NaN)."""
    return bool(a.astype(str).equals(b.astype(str)))


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def control_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub for parameter, command and bad-input tests (each test restarts the device)."""
    with HubProcess(tmp_path_factory.mktemp("radiens-neurons"), radiens_base_port=0) as process:
        yield process


@dataclass(frozen=True)
class Recorded:
    """A hub whose sorter streamed and sorted ``smartbox_sim_gen_spikes``, then stopped."""

    hub: HubProcess


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """Stream and sort a few seconds (sorting turned on through the Radiens port), then stop
    streaming so both protocols read the same, unchanging spikes."""
    with HubProcess(tmp_path_factory.mktemp("radiens-spikes"), radiens_base_port=0) as hub:

        async def stream_and_sort() -> None:
            async with radiens.AsyncAllegoClient(hub.address) as allego:
                await allego.restart("sim-spikes", seed=5)
                await allego.set_streaming("on")
                async with grpc.aio.insecure_channel(neurons_address(hub)) as channel:
                    stub = allegoserver_pb2_grpc.Neurons1Stub(channel)
                    await stub.SpikeSorterCommand(command(SS.SORTER_CMD_ON))
                    await asyncio.sleep(STREAM_S)
                await allego.set_streaming("off")

        asyncio.run(stream_and_sort())
        yield Recorded(hub)


@pytest.fixture
async def neurons(control_hub: HubProcess) -> AsyncIterator[allegoserver_pb2_grpc.Neurons1Stub]:
    async with grpc.aio.insecure_channel(neurons_address(control_hub)) as channel:
        yield allegoserver_pb2_grpc.Neurons1Stub(channel)


@pytest.fixture
async def allego(control_hub: HubProcess) -> AsyncIterator[radiens.AsyncAllegoClient]:
    async with radiens.AsyncAllegoClient(control_hub.address) as client:
        await client.restart("sim-spikes")
        yield client


@pytest.fixture
async def rec_neurons(recorded: Recorded) -> AsyncIterator[allegoserver_pb2_grpc.Neurons1Stub]:
    async with grpc.aio.insecure_channel(neurons_address(recorded.hub)) as channel:
        yield allegoserver_pb2_grpc.Neurons1Stub(channel)


@pytest.fixture
async def rec_allego(recorded: Recorded) -> AsyncIterator[radiens.AsyncAllegoClient]:
    async with radiens.AsyncAllegoClient(recorded.hub.address) as client:
        yield client


# --- sorter parameters, commands and state ----------------------------------------------------


async def test_healthcheck_and_sorter_id(neurons: allegoserver_pb2_grpc.Neurons1Stub) -> None:
    assert (await neurons.Healthcheck(PC.StandardRequest())).errMsg == ""
    assert LIVE_SORTER_ID == V1_SORTER_ID == "Live Signals"
    reply = await neurons.SpikeSorterGetParam(std())
    assert reply.spikeSorterID == LIVE_SORTER_ID
    # radiens 4.0.1 names the live sorter with an empty ID
    assert len((await neurons.SpikeSorterGetParam(std(""))).rec) == len(reply.rec) == 32


async def test_params_read_the_same_through_both_protocols(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    ours = await allego.spike_sorter().get_params()
    recs = (await neurons.SpikeSorterGetParam(std())).rec
    assert [r.ntvChanIdx for r in recs] == list(ours["ntv_idx"])
    for r, (_, row) in zip(recs, ours.iterrows(), strict=True):
        assert r.isEnabled == row["chan_enabled"]
        assert list(r.isSetThr) == list(row["thr_activated"])
        np.testing.assert_array_equal(r.thr, row["thr"])
        np.testing.assert_array_equal(r.thrSd, row["thr_sd"])
        np.testing.assert_allclose(np.array(r.thrWdw) * 1000.0, row["thr_wdw"], atol=1e-9)
        assert r.shadow * 1000.0 == pytest.approx(row["shadow"])
        np.testing.assert_array_equal(r.weakThr, row["weak_thr"])
        np.testing.assert_array_equal(r.weakThrSd, row["weak_thr_sd"])
        assert list(r.isSetWeakThr) == list(row["weak_thr_activated"])
        assert list(r.thrWdwPts) == list(row["thr_wdw_pts"]) and r.shadowPts == row["shadow_pts"]
        # the total window is pre + post + the peak-search margin
        assert r.thrWdwPts[2] == r.thrWdwPts[0] + r.thrWdwPts[1] + r.peakWdwPts[0]
        assert r.isSD  # the default threshold is -5 noise SD


async def test_params_set_through_radiens_are_seen_by_our_client(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    await neurons.SpikeSorterSetParams(
        PC.SpikeSorterSetParamsRequest(
            params=[
                set_param(PC.SORTER_THR_LEVEL, [-60.0, 0.0], [True, False], [0, 1]),
                set_param(PC.SORTER_THR_ACTIVATE, [1.0, 1.0], [False, True], [1]),
                set_param(PC.SORTER_WEAK_THR_LEVEL_SD, [-40.0, 40.0], [True, True], [2]),
                set_param(PC.SORTER_WEAK_THR_ACTIVATE, [1.0], [True], [2]),
                set_param(PC.SORTER_THR_WDW, [0.0006, 0.0012]),
            ]
        )
    )
    await neurons.SpikeSorterSetParam(set_param(PC.SORTER_SHADOW, [0.002]))
    params = (await allego.spike_sorter().get_params()).set_index("ntv_idx")
    assert params.loc[0, "thr"][0] == -60.0 and params.loc[1, "thr"][0] == -60.0
    assert params.loc[0, "thr_sd"][1] == 5.0  # the positive slot was not selected
    assert math.isnan(params.loc[3, "thr"][0]) or params.loc[3, "thr"][0] != -60.0
    assert list(params.loc[1, "thr_activated"]) == [True, True]
    assert list(params.loc[0, "thr_activated"]) == [True, False]
    assert list(params.loc[2, "weak_thr_sd"]) == [-40.0, 40.0]
    assert list(params.loc[2, "weak_thr_activated"]) == [True, False]
    assert list(params.loc[5, "thr_wdw"][:2]) == [0.6, 1.2]
    assert list(params.loc[5, "thr_wdw_pts"][:2]) == [18, 36]
    assert params.loc[9, "shadow"] == 2.0 and params.loc[9, "shadow_pts"] == 60


async def test_params_set_through_our_client_are_seen_through_radiens(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    sorter = allego.spike_sorter()
    await sorter.set_threshold_level(neg_thr=7, scale="sd", ntv_idxs=[4])
    await sorter.set_threshold_level(pos_thr=90, ntv_idxs=[5])
    await sorter.set_spike_shadow(2.5)
    recs = {r.ntvChanIdx: r for r in (await neurons.SpikeSorterGetParam(std())).rec}
    assert recs[4].thrSd[0] == -7.0 and recs[4].isSD
    assert recs[5].thr[1] == 90.0
    assert recs[7].shadow == pytest.approx(0.0025) and recs[7].shadowPts == 75


async def test_spike_width_set_through_radiens_reads_back_and_filters_spikes(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    before = await allego.spike_sorter().get_params()
    recs = (await neurons.SpikeSorterGetParam(std())).rec
    assert all(list(r.spikeWidthSec) == [0.0, math.inf] for r in recs)  # default: any width
    narrow, wide = list(range(16)), list(range(16, 32))
    await neurons.SpikeSorterSetParams(
        PC.SpikeSorterSetParamsRequest(
            params=[
                # nothing is a single sample wide at half its peak: every spike is dropped
                set_param(PC.SORTER_SPIKE_WIDTH, [0.0, 1.0 / FS], chans=narrow),
                set_param(PC.SORTER_SPIKE_WIDTH, [0.0, 0.01], chans=wide),
            ]
        )
    )
    recs = {r.ntvChanIdx: r for r in (await neurons.SpikeSorterGetParam(std())).rec}
    for c in narrow:
        assert list(recs[c].spikeWidthSec) == [0.0, 1.0 / FS]
    for c in wide:
        assert list(recs[c].spikeWidthSec) == [0.0, 0.01]
    # our own protocol has no spike-width column: its table is unchanged
    assert params_equal(before, await allego.spike_sorter().get_params())
    await allego.set_streaming("on")
    try:
        await asyncio.sleep(1.5)
        recent = await allego.spikes().get_recent_spikes(1.0, max_spikes_per_chan=10_000)
    finally:
        await allego.set_streaming("off")
    per = recent.channels()
    assert sum(per[c]["num_spikes"] for c in narrow) == 0
    assert sum(per[c]["num_spikes"] for c in wide) > 20
    sites = (await allego.spikes().get_spikes_metadata()).site_list
    assert sum(s.spike_count for s in sites if s.ntv_idx in narrow) == 0
    assert sum(s.spike_count for s in sites if s.ntv_idx in wide) > 20
    # INIT restores the default (no constraint)
    await neurons.SpikeSorterCommand(command(SS.SORTER_CMD_INIT))
    recs_after = (await neurons.SpikeSorterGetParam(std())).rec
    assert all(list(r.spikeWidthSec) == [0.0, math.inf] for r in recs_after)


async def test_commands_and_state(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    sorter = allego.spike_sorter()
    await allego.set_streaming("on")
    try:
        await neurons.SpikeSorterCommand(command(SS.SORTER_CMD_OFF))
        state = await neurons.SpikeSorterGetState(std())
        ours = await sorter.get_state()
        assert state.sys == SS.SYS_OFF and not state.isOn
        assert ours.mode == "SYS_OFF" and not ours.is_on
        assert state.phase == SS.SORTER_PHASE_DETECTING and state.msg == ours.message
        await neurons.SpikeSorterCommand(command(SS.SORTER_CMD_ON))
        state = await neurons.SpikeSorterGetState(std())
        ours = await sorter.get_state()
        assert state.sys == SS.SYS_ON and state.isOn and ours.mode == "SYS_ON" and ours.is_on
        assert state.fracComplete == ours.frac_complete == 1.0
        assert state.msg == ours.message == "sorting"
        assert state.errorMsg == ours.kernel_err_message
        # detect only: labeling stops, detection goes on
        detect_only = command(SS.SORTER_CMD_ON)
        detect_only.subCmd = SS.SORTER_SUBCMD_DETECT_ONLY
        await neurons.SpikeSorterCommand(detect_only)
        assert not (await sorter.get_state()).is_on
        await sorter.set_sorting("on")
        assert (await neurons.SpikeSorterGetState(std())).isOn
        # INIT restores default parameters and restarts a running sorter
        await neurons.SpikeSorterSetParam(set_param(PC.SORTER_SHADOW, [0.003]))
        await neurons.SpikeSorterCommand(command(SS.SORTER_CMD_INIT))
        assert (await sorter.get_params()).loc[0, "shadow"] == 1.5
        assert (await neurons.SpikeSorterGetState(std())).isOn
        await asyncio.sleep(1.0)
        assert (await sorter.get_dashboard()).num_spikes_processed > 20
        # CLEAR_SORT drops the spikes (templates stay), REBASE the templates too
        await neurons.SpikeSorterCommand(command(SS.SORTER_CMD_CLEAR_SORT))
        assert (await sorter.get_dashboard()).num_spikes_processed <= 20
        await neurons.SpikeSorterCommand(command(SS.SORTER_CMD_REBASE))
        dash = await sorter.get_dashboard()
        assert dash.num_units == 0 and dash.num_spikes_processed <= 20
    finally:
        await allego.set_streaming("off")
    # a stopped stream: the sorter keeps its on/off setting, and reports no phase
    state = await neurons.SpikeSorterGetState(std())
    assert state.phase == SS.SORTER_PHASE_UNSPECIFIED and state.fracComplete == 0.0
    assert state.isOn == (await sorter.get_state()).is_on


# --- bad input --------------------------------------------------------------------------------


async def test_unknown_sorter_and_datasource_ids_are_not_found(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    before = await allego.spike_sorter().get_params()
    nf = grpc.StatusCode.NOT_FOUND
    assert "offline-1" in await expect(nf, neurons.SpikeSorterGetParam, std("offline-1"))
    await expect(nf, neurons.SpikeSorterGetState, std("offline-1"))
    await expect(nf, neurons.SpikesGetSpec, std("offline-1"))
    await expect(nf, neurons.SpikeSorterCommand, command(SS.SORTER_CMD_INIT, "offline-1"))
    bad = set_param(PC.SORTER_SHADOW, [0.004])
    bad.spikeSorterID = "offline-1"
    await expect(nf, neurons.SpikeSorterSetParam, bad)
    await expect(
        nf,
        neurons.SpikeSorterGetDashboard,
        SS.SpikeSorterDashboardRequest(spikeSorterID="offline-1"),
    )
    await expect(nf, neurons.SpikeSorterGetRasterData, raster_request(spikeSorterID="x"))
    await expect(nf, neurons.BiointerfaceGetSpikesDense, dense_request(dsourceID="x.spikes"))
    await expect(
        nf,
        neurons.BiointerfaceGetNeurons,
        BI.BiointerfaceGetNeuronsRequest(dsourceID="x.spikes"),
    )
    assert params_equal(before, await allego.spike_sorter().get_params())


async def test_bad_parameters_change_nothing(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    before = await allego.spike_sorter().get_params()
    good = set_param(PC.SORTER_THR_LEVEL, [-70.0, 0.0], [True, False])
    inv = grpc.StatusCode.INVALID_ARGUMENT
    bulk = [
        [good, set_param(PC.SORTER_THR_LEVEL, [math.nan, 0.0], [True, False])],
        [good, set_param(PC.SORTER_THR_LEVEL_SD, [-5.0, -3.0], [True, True])],
        [good, set_param(PC.SORTER_THR_LEVEL, [-50.0], [True], [0, 99])],
        [good, set_param(PC.SORTER_THR_WDW, [0.0005, math.inf])],
        [good, set_param(PC.SORTER_THR_WDW, [0.0005, 0.02])],
        [good, set_param(PC.SORTER_SHADOW, [0.0])],
        [good, set_param(PC.SORTER_THR_ACTIVATE, [0.5], [True])],
        [good, set_param(PC.SORTER_THR_LEVEL, [-50.0, 50.0, 1.0], [True, True, True])],
        [good, set_param(PC.SORTER_THR_LEVEL, [-50.0, 50.0], [True])],
    ]
    for params in bulk:
        await expect(
            inv, neurons.SpikeSorterSetParams, PC.SpikeSorterSetParamsRequest(params=params)
        )
    good_width = set_param(PC.SORTER_SPIKE_WIDTH, [0.0002, 0.002], chans=[3])
    for width, chans in [
        ([math.nan, 0.002], [0]),
        ([0.0002, math.nan], [0]),
        ([0.002, 0.0002], [0]),  # min > max
        ([-0.0001, 0.002], [0]),
        ([math.inf, math.inf], [0]),
        ([0.0002], [0]),
        ([0.0002, 0.002, 0.003], [0]),
        ([0.0002, 0.002], [0, 99]),
    ]:
        details = await expect(
            inv,
            neurons.SpikeSorterSetParams,
            PC.SpikeSorterSetParamsRequest(
                params=[good_width, set_param(PC.SORTER_SPIKE_WIDTH, width, chans=chans)]
            ),
        )
        assert "spike_width_sec" in details or "unknown amplifier channel" in details
    recs = (await neurons.SpikeSorterGetParam(std())).rec
    assert all(list(r.spikeWidthSec) == [0.0, math.inf] for r in recs)
    assert params_equal(before, await allego.spike_sorter().get_params())


async def test_unknown_enum_values_are_refused(
    control_hub: HubProcess, allego: radiens.AsyncAllegoClient
) -> None:
    """proto2 keeps an unknown enum value as an unknown field: never read as the default."""
    async with grpc.aio.insecure_channel(neurons_address(control_hub)) as channel:

        def raw(method: str, reply: Any) -> Any:
            return channel.unary_unary(
                f"/allego.Neurons1/{method}",
                request_serializer=lambda b: b,
                response_deserializer=reply.FromString,
            )

        before = await allego.spike_sorter().get_params()
        state = await allego.spike_sorter().get_state()
        # cmd = 99 (field 2 varint): OFF is 1, ON is 0 -- it must not read as ON
        cmd = command(SS.SORTER_CMD_OFF).SerializeToString().replace(b"\x10\x01", b"\x10\x63")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw("SpikeSorterCommand", PC.StandardReply)(cmd)
        # refused before the method (required field unset, as an Allego does) or by it
        assert info.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT)
        assert "cmd" in (info.value.details() or "")
        shadow = set_param(PC.SORTER_SHADOW, [0.004]).SerializeToString()
        shadow = shadow.replace(b"\x10\x11", b"\x10\x63")  # cmd SHADOW (17) -> 99
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw("SpikeSorterSetParam", PC.StandardReply)(shadow)
        assert info.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT)
        dash = SS.SpikeSorterDashboardRequest(
            spikeSorterID=LIVE_SORTER_ID, dashElements=[SS.GENERAL]
        ).SerializeToString()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw("SpikeSorterGetDashboard", SS.SpikeSorterDashboardReply)(dash + b"\x10\x63")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "99" in (info.value.details() or "")
        assert params_equal(before, await allego.spike_sorter().get_params())
        assert (await allego.spike_sorter().get_state()).mode == state.mode


async def test_on_and_rebase_need_streaming(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    before = await allego.spike_sorter().get_state()
    for cmd in (SS.SORTER_CMD_ON, SS.SORTER_CMD_REBASE):
        details = await expect(
            grpc.StatusCode.FAILED_PRECONDITION, neurons.SpikeSorterCommand, command(cmd)
        )
        assert "streaming is off" in details
    assert (await allego.spike_sorter().get_state()).mode == before.mode


async def test_bad_spike_requests(
    neurons: allegoserver_pb2_grpc.Neurons1Stub, allego: radiens.AsyncAllegoClient
) -> None:
    inv, oor = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE
    raster, dense = neurons.SpikeSorterGetRasterData, neurons.BiointerfaceGetSpikesDense
    await expect(inv, raster, raster_request(timeRange=[2.0, 1.0]))
    await expect(inv, raster, raster_request(timeRange=[math.nan, 1.0]))
    await expect(inv, raster, raster_request(timeRange=[1.0]))
    await expect(inv, raster, raster_request(timeWindow=-1.0))
    await expect(inv, raster, raster_request(ntvChanIdx=[0, 77]))
    await expect(inv, dense, dense_request(timeStart=-1.0, timeStop=math.nan))
    await expect(inv, dense, dense_request(ntvChanIdx=[40]))
    # a range the live cache never held (10 s at most) is out of range, not an empty answer
    await expect(oor, raster, raster_request(timeRange=[1000.0, 1001.0]))
    await expect(oor, dense, dense_request(timeStart=1000.0, timeStop=1001.0))
    await expect(
        oor,
        neurons.BiointerfaceGetNeurons,
        BI.BiointerfaceGetNeuronsRequest(dsourceID=SORTER_SINK_ID, timeRange=[1000.0, 1001.0]),
    )


# --- spikes: the same through both protocols --------------------------------------------------


async def test_rasters_are_our_rasters(
    rec_neurons: allegoserver_pb2_grpc.Neurons1Stub, rec_allego: radiens.AsyncAllegoClient
) -> None:
    ours = await rec_allego.spikes().get_spike_rasters()
    ts, chan, unit = (ours["spikes"][k] for k in ("timestamps", "ntv_chan_idx", "labels"))
    assert ts.size > 100 and (unit > 0).mean() > 0.5  # a sorted stream
    head = round(STREAM_S * FS)
    by_channel = await rec_neurons.SpikeSorterGetRasterData(raster_request())
    assert by_channel.timeStampRange[0] == 0 and by_channel.timeStampRange[1] >= head
    assert by_channel.timeRange[1] == by_channel.timeStampRange[1] / FS
    np.testing.assert_array_equal([s.spikeTimestamp for s in by_channel.spikeTimestamps], ts)
    # CHANNELS mode: the label and raster row are the channel (all 32 asked, in ntv order)
    np.testing.assert_array_equal([s.label for s in by_channel.spikeTimestamps], chan)
    np.testing.assert_array_equal([s.dataIdxs[0] for s in by_channel.spikeTimestamps], chan)
    assert [s.neuronColorGroupData.colorGroupIdxNeuron for s in by_channel.spikeTimestamps] == [
        int(u) for u in unit
    ]
    by_neuron = await rec_neurons.SpikeSorterGetRasterData(raster_request(mode=SS.NEURONS))
    np.testing.assert_array_equal(
        [s.label for s in by_neuron.spikeTimestamps], global_labels(chan, unit)
    )
    labeled = await rec_neurons.SpikeSorterGetRasterData(
        raster_request(labeledOnly=True, ntvChanIdx=[int(chan[0])])
    )
    keep = (unit > 0) & (chan == chan[0])
    np.testing.assert_array_equal([s.spikeTimestamp for s in labeled.spikeTimestamps], ts[keep])
    # a sub-range, in seconds, is [start, stop) in samples
    a, b = head // 4, head // 2
    part = await rec_neurons.SpikeSorterGetRasterData(raster_request(timeRange=[a / FS, b / FS]))
    assert list(part.timeStampRange) == [a, b] and list(part.timeRange) == [a / FS, b / FS]
    inside = (ts >= a) & (ts < b)
    np.testing.assert_array_equal([s.spikeTimestamp for s in part.spikeTimestamps], ts[inside])
    # the last second, by look-back window
    last = await rec_neurons.SpikeSorterGetRasterData(raster_request(timeWindow=1.0))
    stop = last.timeStampRange[1]
    assert last.timeStampRange[0] == stop - round(FS)
    np.testing.assert_array_equal(
        [s.spikeTimestamp for s in last.spikeTimestamps], ts[ts >= stop - round(FS)]
    )
    details = await expect(
        grpc.StatusCode.OUT_OF_RANGE,
        rec_neurons.SpikeSorterGetRasterData,
        raster_request(timeRange=[100.0, 101.0]),
    )
    assert "outside the live cache" in details


def dense_arrays(reply: BI.SpikesSpikeDataDenseReply) -> dict[str, np.ndarray]:
    n_pts = reply.waveformNPoints
    matrix = np.frombuffer(reply.data, dtype="<f4").reshape(-1, n_pts)
    ts, ch, lab, waves = [], [], [], []
    for d in reply.channelDescriptors:
        assert list(d.siteNtvChanIdx) == [d.ntvChanIdx] and d.numRows == len(d.labels)
        ts += list(d.timestamps)
        ch += [d.ntvChanIdx] * len(d.labels)
        lab += list(d.labels)
        waves.append(matrix[d.rowOffset : d.rowOffset + d.numRows])
    order = np.lexsort((np.array(ch), np.array(ts)))
    return {
        "sample_index": np.array(ts, dtype=np.int64)[order],
        "channel": np.array(ch)[order],
        "label": np.array(lab)[order],
        "waveforms": np.concatenate(waves)[order],
    }


async def test_dense_spikes_are_our_recent_spikes(
    rec_neurons: allegoserver_pb2_grpc.Neurons1Stub, rec_allego: radiens.AsyncAllegoClient
) -> None:
    # 4.0.1's get_recent_spikes: a look-back [dur, NaN], the newest N of each channel
    ours = await rec_allego.spikes().get_recent_spikes(1.5, max_spikes_per_chan=3)
    reply = await rec_neurons.BiointerfaceGetSpikesDense(
        dense_request(timeStart=1.5, timeStop=math.nan, maxSpikesPerChannel=3)
    )
    assert reply.waveformNPoints == ours.num_pts_waveform == 45
    assert reply.totalNSpikes == ours.num_spikes_total > 0
    got = dense_arrays(reply)
    order = np.lexsort((ours.channel, ours.sample_index))
    np.testing.assert_array_equal(got["sample_index"], ours.sample_index[order])
    np.testing.assert_array_equal(got["channel"], ours.channel[order])
    np.testing.assert_array_equal(
        got["label"], global_labels(ours.channel[order], ours.label[order])
    )
    np.testing.assert_array_equal(got["waveforms"], ours.waveforms[order])
    for d in reply.channelDescriptors:
        rows = np.frombuffer(reply.data, "<f4").reshape(-1, 45)[
            d.rowOffset : d.rowOffset + d.numRows
        ]
        if d.numRows:
            assert d.waveformMaxValue == rows.max() and d.waveformMinValue == rows.min()


async def test_dense_spikes_match_the_rasters(
    rec_neurons: allegoserver_pb2_grpc.Neurons1Stub, rec_allego: radiens.AsyncAllegoClient
) -> None:
    rasters = (await rec_allego.spikes().get_spike_rasters())["spikes"]
    ts, chan, unit = rasters["timestamps"], rasters["ntv_chan_idx"], rasters["labels"]
    everything = dense_arrays(await rec_neurons.BiointerfaceGetSpikesDense(dense_request()))
    order = np.lexsort((chan, ts))
    np.testing.assert_array_equal(everything["sample_index"], ts[order])
    np.testing.assert_array_equal(everything["label"], global_labels(chan, unit)[order])
    # timestamps only: labels and timestamps, no waveform data
    stamps = await rec_neurons.BiointerfaceGetSpikesDense(
        dense_request(mode=BI.SpikeTimestamps, ntvChanIdx=[3, 1])
    )
    assert stamps.data == b"" and stamps.waveformNPoints == 0
    assert [d.ntvChanIdx for d in stamps.channelDescriptors] == [3, 1]
    for d in stamps.channelDescriptors:
        np.testing.assert_array_equal(d.timestamps, ts[chan == d.ntvChanIdx])
    # one neuron's spikes, by its probe-wide label
    label = int(global_labels(chan, unit)[unit > 0][0])
    one = dense_arrays(
        await rec_neurons.BiointerfaceGetSpikesDense(dense_request(spikeLabels=[label]))
    )
    np.testing.assert_array_equal(one["sample_index"], ts[global_labels(chan, unit) == label])


async def test_neurons_and_spec_are_our_neurons_and_metadata(
    rec_neurons: allegoserver_pb2_grpc.Neurons1Stub, rec_allego: radiens.AsyncAllegoClient
) -> None:
    ours = await rec_allego.spikes().get_neurons()
    assert len(ours) > 0
    reply = await rec_neurons.BiointerfaceGetNeurons(
        BI.BiointerfaceGetNeuronsRequest(dsourceID=SORTER_SINK_ID)
    )
    assert sorted(reply.site) == list(range(32))
    listed = {
        (n.siteNtvChanIdx, int(n.spikeLabel)): n
        for site in reply.site.values()
        for n in site.neuron
        if n.spikeLabel != "0"
    }
    assert len(listed) == len(ours)
    for _, row in ours.iterrows():
        n = listed[(row["ntv_idx"], row["ntv_idx"] * LABELS_PER_CHANNEL + row["label"])]
        assert n.spikeCount == row["spike_count"]
        assert n.snr == pytest.approx(row["snr"]) and n.meanAbsPeakWfm == pytest.approx(
            row["mean_abs_peak_waveform"]
        )
    rasters = (await rec_allego.spikes().get_spike_rasters())["spikes"]
    total = sum(n.spikeCount for site in reply.site.values() for n in site.neuron)
    assert total == rasters["timestamps"].size  # every spike: in a unit or the 0 bin
    spec = await rec_neurons.SpikesGetSpec(std())
    meta = await rec_allego.spikes().get_spikes_metadata()
    assert spec.biointerfaceID == meta.id == LIVE_SORTER_ID
    assert spec.numNeurons == len(meta.neuron_list) == len(ours) and spec.numSites == 32
    assert spec.bioType == BI.BIO_SPIKES_STREAM
    for site, mine in zip(spec.site, meta.site_list, strict=True):
        assert site.ntvChanIdx == mine.ntv_idx
        assert site.spikeCountSite[0] == mine.spike_count
        assert site.spikeCountSite[1] == mine.spike_count_labeled
        assert site.noiseLevelSd == pytest.approx(mine.noise)
        assert site.numNeurons == mine.num_neurons
        assert list(site.neighbor.ntvChanIdx) == list(mine.neighbor_ntv_idxs)
        assert site.negThresholdSd == -5.0 and site.posThresholdSd == math.inf  # disarmed
        assert site.compLen.waveform[-1] == meta.num_pts_waveform
    # a sub-range counts only its spikes
    head = spec.tR.timestamp[1]
    part = await rec_neurons.BiointerfaceGetNeurons(
        BI.BiointerfaceGetNeuronsRequest(
            dsourceID=SORTER_SINK_ID, ntvChanIdx=[0, 1], timeRange=[0.0, head / 2 / FS]
        )
    )
    assert sorted(part.site) == [0, 1]
    for c, site in part.site.items():
        mine = rasters["timestamps"][
            (rasters["ntv_chan_idx"] == c) & (rasters["timestamps"] < round(head / 2))
        ]
        assert sum(n.spikeCount for n in site.neuron) == mine.size
        assert list(site.chunk.spikeRate) == [n.spikeRate for n in site.neuron]


async def test_dashboard_and_state_are_our_numbers(
    rec_neurons: allegoserver_pb2_grpc.Neurons1Stub, rec_allego: radiens.AsyncAllegoClient
) -> None:
    ours = await rec_allego.spike_sorter().get_dashboard()
    reply = await rec_neurons.SpikeSorterGetDashboard(
        SS.SpikeSorterDashboardRequest(spikeSorterID=LIVE_SORTER_ID)
    )
    g = reply.general
    assert [PC.Port.Name(p) for p in reply.enabledPorts] == list(ours.ports) == ["A"]
    assert tuple(g.timeRange) == ours.time_range
    assert g.numTotalSites == ours.num_sites_total == 32
    assert g.numEnabledSites == ours.num_sites_enabled
    assert g.numActiveSites == ours.num_sites_active > 0
    assert g.numNeurons == ours.num_units > 0
    assert g.numSpikesProcessed == ours.num_spikes_processed > 0
    assert g.numSpikesLabeled == ours.num_spikes_labeled
    assert g.sortEfficiency == pytest.approx(ours.num_spikes_labeled / ours.num_spikes_processed)
    assert g.probeYield == pytest.approx(ours.num_sites_active / ours.num_sites_enabled)
    assert g.siteYield == pytest.approx(ours.num_units / ours.num_sites_active)
    assert g.sorterID == LIVE_SORTER_ID and g.sorterType == SS.SORTER_SPIKES_STREAM
    assert tuple(reply.siteStats.snr) == pytest.approx(ours.probe_snr)
    assert tuple(reply.siteStats.noise) == pytest.approx(ours.probe_noise)
    assert tuple(reply.siteStats.neuronYield) == pytest.approx(ours.probe_units)
    (port,) = ours.port_stats
    assert tuple(reply.portStats["A"].snr) == pytest.approx(port.snr)
    assert tuple(reply.portStats["A"].neuronYield) == pytest.approx(port.units)
    panel = reply.sitePanel["A"]
    assert list(panel.ntvChanIdx) == list(range(32))
    assert sum(panel.neuronYield) == ours.num_units
    assert len(reply.neuronPanel["A"].neuronID) == ours.num_units
    assert not reply.HasField("aI")  # the hub's sorter does no AI tracking
    assert g.state.isOn == ours.sorter_state.is_on and g.state.msg == ours.sorter_state.message
    only = await rec_neurons.SpikeSorterGetDashboard(
        SS.SpikeSorterDashboardRequest(spikeSorterID=LIVE_SORTER_ID, dashElements=[SS.GENERAL])
    )
    assert only.HasField("general") and not only.enabledPorts and not only.portStats
