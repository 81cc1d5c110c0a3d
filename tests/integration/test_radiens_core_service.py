"""``allego.AllegoCore`` on the hub's Radiens port against our own protocol on the same hub.

Every call made through our grpc stubs on the Radiens port is checked against what our own
AsyncAllegoClient reads through radiens.v1 (``hub.address``) for the same state; a change through
one protocol is seen through the other; bad input is refused with a clear status and changes
nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pandas as pd
import pytest

from radiens_async._generated.allego import (
    allegoserver_pb2,
    allegoserver_pb2_grpc,
    common_pb2,
    datasource_pb2,
)
from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.hub.radiens.backbone_modes import SIMULATOR_OF
from radiens_async.models.allego_state import AllegoState
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID
from radiens_async.utils.enums import Port, SystemMode

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

BM = allegoserver_pb2
SIM_BACKBONE_MODES = sorted(SIMULATOR_OF)
HARDWARE_BACKBONE_MODES = [v for _n, v in BM.BackboneMode.items() if v not in SIMULATOR_OF]
REQ = common_pb2.StandardRequest()


@pytest.fixture(scope="module")
def radiens_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("radiens-core"), radiens_base_port=0) as process:
        yield process


@pytest.fixture
async def core(radiens_hub: HubProcess) -> AsyncIterator[allegoserver_pb2_grpc.AllegoCoreStub]:
    async with grpc.aio.insecure_channel(radiens_hub.radiens_address) as channel:
        yield allegoserver_pb2_grpc.AllegoCoreStub(channel)


@pytest.fixture
async def ours(radiens_hub: HubProcess) -> AsyncIterator[AsyncAllegoClient]:
    """Our own client on radiens.v1, the instrument reset to the default simulator."""
    async with AsyncAllegoClient(radiens_hub.address) as client:
        await client.set_recording("off")
        await client.set_streaming("off")
        await client.restart("smartbox_sim_gen_spikes")
        yield client


async def refused(call: Any, request: Any, code: grpc.StatusCode) -> str:
    """Make ``call`` and expect it to fail with ``code``; return the status message."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(request)
    assert info.value.code() == code, info.value.details()
    details = info.value.details() or ""
    assert details  # a human message
    return details


def assert_same_status(
    radiens: allegoserver_pb2.BackboneStatus | allegoserver_pb2.ConfigAndStatus,
    state: AllegoState,
) -> None:
    """Every field of a Radiens status that our own status also reports, equal."""
    assert radiens.IsInitialized()
    assert (radiens.streaming.streamMode == BM.S_ON) == (state.stream.mode == "S_ON")
    assert list(radiens.streaming.primaryCacheTRange) == pytest.approx(state.stream.time_range)
    assert radiens.streaming.hardwareMemoryLevel == pytest.approx(state.stream.hw_mem_level)
    assert (radiens.recording.recordMode == BM.R_ON) == (state.recording.mode == "R_ON")
    assert radiens.recording.activeFileName == state.recording.file_name
    assert radiens.recording.duration == pytest.approx(state.recording.dur_sec)
    assert radiens.recording.error == state.recording.error
    assert {Port(p.port): p.channelCount for p in radiens.ports} == state.port_num_channels
    assert radiens.isConnected == state.connected
    gpio = radiens.gpioChannelCount
    assert (gpio.nAux, gpio.nDin, gpio.nDout) == tuple(state.gpio)


async def test_healthcheck(core: allegoserver_pb2_grpc.AllegoCoreStub) -> None:
    assert (await core.Healthcheck(REQ)).errMsg == ""


async def test_status_and_config_equal_our_own(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, radiens_hub: HubProcess
) -> None:
    await ours.set_sampling_freq(12500)
    state = await ours.get_status()
    assert_same_status(await core.GetStatus(REQ), state)
    both = await core.GetConfigAndStatus(REQ)
    assert_same_status(both, state)
    assert both.baseSampFreq == state.sample_freq == 12500
    assert both.backboneMode == BM.SMARTBOX_SIM_GEN_SPIKES == state.system_mode
    assert not both.hasXDAQGPIOExpander and not both.cableDelays.cableDelays
    config = await core.GetConfig(REQ)
    assert config.IsInitialized()
    assert config.baseSampFreq == state.sample_freq
    assert config.backboneMode == state.system_mode
    assert config.streamLoopDurMs == round(await ours.get_stream_loop_dur_ms())
    assert config.allegoCoreServerPort == str(radiens_hub.radiens_base_port)
    assert all(v is None for v in state.cable_delay_spec.values())


async def test_streaming_through_either_protocol_is_seen_by_the_other(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    await core.SetStreamState(BM.SetStreamRequest(mode=BM.S_ON))
    before = await ours.get_status()
    await asyncio.sleep(0.2)
    radiens = await core.GetStatus(REQ)
    after = await ours.get_status()
    assert before.stream.mode == after.stream.mode == "S_ON"
    assert radiens.streaming.streamMode == BM.S_ON
    # the cache range read in between lies between ours before and after
    t0, t1 = radiens.streaming.primaryCacheTRange
    assert before.stream.time_range[1] <= t1 <= after.stream.time_range[1]
    assert 0.0 <= t0 <= t1 and t1 > 0.1
    await ours.set_streaming("off")
    stopped = await core.GetStatus(REQ)
    assert stopped.streaming.streamMode == BM.S_OFF
    assert_same_status(stopped, await ours.get_status())
    # setting the state it is in does nothing
    await core.SetStreamState(BM.SetStreamRequest(mode=BM.S_OFF))
    assert (await ours.get_status()).stream.mode == "S_OFF"


@pytest.mark.parametrize("mode", SIM_BACKBONE_MODES, ids=BM.BackboneMode.Name)
async def test_restart_into_every_simulated_backbone_mode(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, mode: int
) -> None:
    await ours.set_sampling_freq(20000)  # a restart resets it
    await core.Restart(BM.RestartRequest(mode=mode))
    state = await ours.get_status()
    assert state.system_mode == SIMULATOR_OF[mode]
    assert state.sample_freq == 30000
    assert state.port_num_channels == {Port.A: 32}
    # reported back as asked, through every message that carries the mode
    assert (await core.GetConfig(REQ)).backboneMode == mode
    assert (await core.GetConfigAndStatus(REQ)).backboneMode == mode
    # our simulator really runs that mode: it streams
    await core.SetStreamState(BM.SetStreamRequest(mode=BM.S_ON))
    await asyncio.sleep(0.1)
    assert (await ours.get_status()).stream.time_range[1] > 0


@pytest.mark.parametrize("mode", HARDWARE_BACKBONE_MODES, ids=BM.BackboneMode.Name)
async def test_hardware_backbone_modes_are_refused_and_change_nothing(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, mode: int
) -> None:
    await ours.restart("smartbox_sim_gen_sine")
    before = await ours.get_status()
    message = await refused(
        core.Restart, BM.RestartRequest(mode=mode), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert "hardware detected" in message and BM.BackboneMode.Name(mode).lower() in message
    assert await ours.get_status() == before
    assert (await core.GetConfig(REQ)).backboneMode == BM.SMARTBOX_SIM_GEN_SINE


async def test_restart_is_refused_while_streaming(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    await ours.set_streaming("on")
    message = await refused(
        core.Restart,
        BM.RestartRequest(mode=BM.SMARTBOX_SIM_GEN_SINE),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "streaming" in message
    state = await ours.get_status()
    assert state.stream.mode == "S_ON"
    assert state.system_mode == SystemMode.SMARTBOX_SIM_GEN_SPIKES


async def test_modes_the_published_enum_lacks_are_reported_as_the_nearest(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    for mode, reported in (
        ("sine_mapped", BM.SMARTBOX_SIM_GEN_SINE),
        ("sine_high_freq", BM.SMARTBOX_SIM_GEN_SINE),
        ("sine_multi_band", BM.SMARTBOX_SIM_GEN_LFP),
    ):
        await ours.restart(f"smartbox_sim_gen_{mode}")
        assert (await core.GetConfig(REQ)).backboneMode == reported
    # a Radiens restart's name is kept while the configuration it made lasts, across the Radiens
    # port's own rate and sensor changes
    await core.Restart(BM.RestartRequest(mode=BM.SMARTBOX_SIM_GEN_BROADBAND))
    assert (await core.GetConfig(REQ)).backboneMode == BM.SMARTBOX_SIM_GEN_BROADBAND
    await core.SetConfigCore(BM.SetConfigCoreRequest(sampFreq=20000.0))
    await core.SetSensor(
        common_pb2.SetSensorRequest(
            streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID,
            port=common_pb2.A,
            headstageId="hstg__passthrough_32",
            probeId="probe__buz32",
        )
    )
    assert (await core.GetConfig(REQ)).backboneMode == BM.SMARTBOX_SIM_GEN_BROADBAND
    # a restart through our own protocol ends it, even into the same simulator mode
    await ours.restart("smartbox_sim_gen_spikes")
    assert (await core.GetConfig(REQ)).backboneMode == BM.SMARTBOX_SIM_GEN_SPIKES
    await core.Restart(BM.RestartRequest(mode=BM.SMARTBOX_SIM_DATASOURCE))
    assert (await core.GetConfigAndStatus(REQ)).backboneMode == BM.SMARTBOX_SIM_DATASOURCE
    await ours.set_sampling_freq(10000)  # a change the Radiens port did not make
    assert (await core.GetConfig(REQ)).backboneMode == BM.SMARTBOX_SIM_GEN_SPIKES


async def test_set_config_core_sampling_rate_both_ways(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    await core.SetConfigCore(BM.SetConfigCoreRequest(sampFreq=6250.0))
    assert (await ours.get_status()).sample_freq == 6250
    await ours.set_sampling_freq(1000)
    assert (await core.GetConfig(REQ)).baseSampFreq == 1000
    # loopDur and pcachePersistence are accepted and ignored, as by an Allego
    await core.SetConfigCore(BM.SetConfigCoreRequest(loopDur=5.0, pcachePersistence=2.0))
    assert (await core.GetConfig(REQ)).baseSampFreq == 1000


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (BM.SetConfigCoreRequest(sampFreq=12345.0), grpc.StatusCode.INVALID_ARGUMENT),
        (BM.SetConfigCoreRequest(sampFreq=float("nan")), grpc.StatusCode.INVALID_ARGUMENT),
        (BM.SetConfigCoreRequest(sampFreq=-30000.0), grpc.StatusCode.INVALID_ARGUMENT),
        (
            BM.SetConfigCoreRequest(sampFreq=20000.0, loopDur=float("nan")),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            BM.SetConfigCoreRequest(sampFreq=20000.0, pcachePersistence=-1.0),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            BM.SetConfigCoreRequest(
                sampFreq=20000.0,
                cableDelay=BM.CableDelay(port=common_pb2.A, cableDelay=3, isAuto=False),
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        ),
    ],
    ids=["rate", "nan", "negative", "loop-nan", "persistence", "cable-delay"],
)
async def test_bad_core_config_is_refused_and_changes_nothing(
    core: allegoserver_pb2_grpc.AllegoCoreStub,
    ours: AsyncAllegoClient,
    request_: allegoserver_pb2.SetConfigCoreRequest,
    code: grpc.StatusCode,
) -> None:
    before = await ours.get_status()
    await refused(core.SetConfigCore, request_, code)
    assert await ours.get_status() == before
    assert (await core.GetConfig(REQ)).baseSampFreq == 30000


async def test_core_config_is_refused_while_streaming(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    await ours.set_streaming("on")
    message = await refused(
        core.SetConfigCore,
        BM.SetConfigCoreRequest(sampFreq=20000.0),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "streaming" in message
    assert (await ours.get_status()).sample_freq == 30000


async def test_recording_config_both_ways(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, tmp_path: Path
) -> None:
    request = BM.ConfigRecording(
        baseFileName="rat3",
        baseFilePath=str(tmp_path),
        dataSourceIdx=7,
        timeStamp=False,
        recordingType=BM.continuous,
    )
    await core.SetConfigRecording(request)
    cfg = await ours.get_recording_config()
    assert (cfg.path, cfg.base_name, cfg.index, cfg.time_stamp) == (
        str(tmp_path),
        "rat3",
        7,
        False,
    )
    (tmp_path / "other").mkdir()
    await ours.set_recording_config(tmp_path / "other", "mouse", 2, True)
    got = await core.GetConfigRecording(REQ)
    assert got.IsInitialized()
    assert (got.baseFilePath, got.baseFileName, got.dataSourceIdx, got.timeStamp) == (
        str(tmp_path / "other"),
        "mouse",
        2,
        True,
    )
    assert (got.splitFilesByPort, got.forceStartAtTStamp0) == (False, False)
    assert got.recordingType == BM.continuous
    # unset index and timestamp flag keep theirs
    await core.SetConfigRecording(
        BM.ConfigRecording(
            baseFileName="m2", baseFilePath=str(tmp_path), recordingType=BM.continuous
        )
    )
    cfg = await ours.get_recording_config()
    assert (cfg.base_name, cfg.index, cfg.time_stamp) == ("m2", 2, True)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"baseFilePath": "/no/such/dir/anywhere"}, grpc.StatusCode.NOT_FOUND),
        ({"baseFileName": "a.b"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"baseFileName": ""}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"dataSourceIdx": -1}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"recordingType": BM.spikes}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"splitFilesByPort": True}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"forceStartAtTStamp0": True}, grpc.StatusCode.INVALID_ARGUMENT),
    ],
    ids=["path", "dot", "empty", "index", "spikes", "split", "tstamp0"],
)
async def test_bad_recording_config_is_refused_and_changes_nothing(
    core: allegoserver_pb2_grpc.AllegoCoreStub,
    ours: AsyncAllegoClient,
    tmp_path: Path,
    fields: dict[str, Any],
    code: grpc.StatusCode,
) -> None:
    before = await ours.get_recording_config()
    request = BM.ConfigRecording(
        baseFileName="ok", baseFilePath=str(tmp_path), recordingType=BM.continuous
    )
    for name, value in fields.items():
        setattr(request, name, value)
    await refused(core.SetConfigRecording, request, code)
    assert await ours.get_recording_config() == before


async def test_record_state_writes_a_file_neo_opens(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, tmp_path: Path
) -> None:
    await ours.set_recording_config(tmp_path, "rec", 0, False)
    await core.SetRecordState(BM.SetRecordRequest(mode=BM.R_ON))  # starts streaming too
    await asyncio.sleep(0.3)
    state = await ours.get_status()
    radiens = await core.GetStatus(REQ)
    assert state.recording.mode == "R_ON" and state.stream.mode == "S_ON"
    assert radiens.recording.recordMode == BM.R_ON == radiens.recording.recordModePortA
    assert radiens.recording.activeFileName == state.recording.file_name
    assert radiens.recording.activeFileName == str(tmp_path / "rec_0.xdat")
    # stopping streaming is refused while recording, through the Radiens port too
    await refused(
        core.SetStreamState,
        BM.SetStreamRequest(mode=BM.S_OFF),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    await core.SetRecordState(BM.SetRecordRequest(mode=BM.R_OFF))
    await core.SetStreamState(BM.SetStreamRequest(mode=BM.S_OFF))
    done = await core.GetStatus(REQ)
    assert done.recording.recordMode == BM.R_OFF
    assert_same_status(done, await ours.get_status())
    assert (await ours.get_recording_config()).index == 1  # moved on after the recording
    neo_rawio = pytest.importorskip("neo.rawio")
    raw = neo_rawio.NeuroNexusRawIO(filename=str(tmp_path / "rec_0.xdat.json"))
    raw.parse_header()
    assert raw.get_signal_sampling_rate(0) == 30000
    n = raw.get_signal_size(0, 0, 0)
    assert n == pytest.approx(done.recording.duration * 30000, abs=1)
    assert n > 0.2 * 30000


async def test_record_state_for_a_port(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, tmp_path: Path
) -> None:
    await ours.set_recording_config(tmp_path, "portrec", 0, False)
    message = await refused(
        core.SetRecordState,
        BM.SetRecordRequest(mode=BM.R_ON, port=common_pb2.C),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "port C" in message
    assert (await ours.get_status()).recording.mode == "R_OFF"
    # port A is every connected port: recording it records the system
    await core.SetRecordState(BM.SetRecordRequest(mode=BM.R_ON, port=common_pb2.A))
    assert (await ours.get_status()).recording.mode == "R_ON"
    await core.SetRecordState(BM.SetRecordRequest(mode=BM.R_OFF, port=common_pb2.A))
    assert (await ours.get_status()).recording.mode == "R_OFF"
    assert (tmp_path / "portrec_0.xdat.json").exists()


async def test_sensor_specs_equal_our_available_sensors(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    reply = await core.ListSensorSpecs(
        common_pb2.ListSensorSpecsRequest(streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID)
    )
    assert reply.IsInitialized()
    sensors = await ours.get_available_sensors()
    assert all(p.name.startswith("probe__") for p in reply.probes)
    assert all(h.name.startswith("hstg__") for h in reply.headstages)
    assert {p.name.removeprefix("probe__"): p.channelCount for p in reply.probes} == sensors[
        "probes"
    ]
    assert {h.name.removeprefix("hstg__"): h.channelCount for h in reply.headstages} == sensors[
        "headstages"
    ]
    state = await ours.get_status()
    assert {Port(p.port): p.channelCount for p in reply.ports} == state.port_num_channels
    await refused(
        core.ListSensorSpecs,
        common_pb2.ListSensorSpecsRequest(streamGroupId="Other Signals"),
        grpc.StatusCode.NOT_FOUND,
    )


def sensors_of(meta: Any) -> dict[str, list[tuple[str, str]]]:
    return {
        str(p): [(s["headstage_id"], s["probe_id"]) for s in v]
        for p, v in meta.sensor_spec.items()
        if v
    }


async def test_set_sensor_is_seen_by_our_own_protocol(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    await core.SetSensor(
        common_pb2.SetSensorRequest(
            streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID,
            port=common_pb2.A,
            headstageId="hstg__passthrough_64",
            probeId="probe__buz64",
            numChannels=64,
        )
    )
    state = await ours.get_status()
    assert state.port_num_channels == {Port.A: 64}
    assert list(sensors_of(await ours.get_channel_metadata()).values()) == [
        [("passthrough_64", "buz64")]
    ]
    # an unset probe keeps the port's probe
    await core.SetSensor(
        common_pb2.SetSensorRequest(
            streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID,
            port=common_pb2.A,
            headstageId="hstg__chronic_smartlink_H64",
        )
    )
    assert list(sensors_of(await ours.get_channel_metadata()).values()) == [
        [("chronic_smartlink_H64", "buz64")]
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"headstageId": "hstg__no_such_headstage"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"probeId": "probe__no_such_probe"}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"port": common_pb2.D}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"numChannels": 16}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"connectionNtvIdx": 3}, grpc.StatusCode.INVALID_ARGUMENT),
        ({"streamGroupId": "elsewhere"}, grpc.StatusCode.NOT_FOUND),
    ],
    ids=["headstage", "probe", "port", "channels", "connection", "group"],
)
async def test_bad_set_sensor_is_refused_and_changes_nothing(
    core: allegoserver_pb2_grpc.AllegoCoreStub,
    ours: AsyncAllegoClient,
    fields: dict[str, Any],
    code: grpc.StatusCode,
) -> None:
    before = await ours.get_channel_metadata()
    request = common_pb2.SetSensorRequest(
        streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID,
        port=common_pb2.A,
        headstageId="hstg__passthrough_32",
        probeId="probe__buz32",
    )
    for name, value in fields.items():
        setattr(request, name, value)
    await refused(core.SetSensor, request, code)
    after = await ours.get_channel_metadata()
    assert sensors_of(after) == sensors_of(before)
    assert after.num_sigs_total() == before.num_sigs_total()


async def test_scan_ports_answers_the_simulated_ports(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    group = await core.ScanPorts(REQ)
    assert group.IsInitialized()
    meta = await ours.get_channel_metadata()
    assert len(group.channels) == meta.num_sigs_total()
    assert [c.sysChanIdx for c in group.channels] == sorted(meta.table["sys_key_idx"])
    assert group.sampFreq == (await ours.get_status()).sample_freq
    assert [s.probeId for s in group.sensorPortSpec.sensorA] == [
        s["probe_id"] for s in meta.sensor_spec["A"]
    ]
    await ours.set_streaming("on")
    message = await refused(core.ScanPorts, REQ, grpc.StatusCode.FAILED_PRECONDITION)
    assert "streaming" in message


async def test_spike_sorter_ids_name_the_live_sorter(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    reply = await core.GetSpikeSorterIDs(REQ)
    meta = await ours.spikes().get_spikes_metadata()
    assert list(reply.spikeSorterIDs) == [meta.id]


HARDWARE_CALLS = [
    ("GetIntanImpedance", datasource_pb2.ImpedanceRequest(port=common_pb2.A), "Intan"),
    ("ReadWireOut", BM.ReadWireOutRequest(wireOutAddress=0x20), "SmartBox Pro"),
    ("LoadAllMosi", BM.LoadAllMosiRequest(registerVals=[1, 2, 3]), "SiNAPS"),
    ("TransmitMosi", BM.TransmitMosiRequest(), "SiNAPS"),
    ("GetSinapsStatusRegisters", REQ, "SiNAPS"),
    ("FlashSinaps", BM.FlashSinapsRequest(bitfile="/tmp/sinaps.bit"), "SiNAPS"),
]


@pytest.mark.parametrize(
    ("method", "request_", "hardware"), HARDWARE_CALLS, ids=[c[0] for c in HARDWARE_CALLS]
)
async def test_hardware_only_calls_answer_no_hardware(
    core: allegoserver_pb2_grpc.AllegoCoreStub,
    ours: AsyncAllegoClient,
    method: str,
    request_: Any,
    hardware: str,
) -> None:
    before = await ours.get_status()
    message = await refused(getattr(core, method), request_, grpc.StatusCode.FAILED_PRECONDITION)
    assert f"no {hardware} hardware detected" in message
    assert "smartbox_sim_gen_spikes" in message
    assert await ours.get_status() == before


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("ReadWireOut", BM.ReadWireOutRequest(wireOutAddress=-1)),
        ("LoadAllMosi", BM.LoadAllMosiRequest()),
        ("FlashSinaps", BM.FlashSinapsRequest(bitfile=" ")),
    ],
    ids=["address", "registers", "bitfile"],
)
async def test_hardware_only_calls_refuse_bad_input(
    core: allegoserver_pb2_grpc.AllegoCoreStub, method: str, request_: Any
) -> None:
    await refused(getattr(core, method), request_, grpc.StatusCode.INVALID_ARGUMENT)


def control(cmd: int, workspace_id: str | None = None, **fields: Any) -> Any:
    request = common_pb2.WorkspaceControlRequest(cmd=cmd, app=common_pb2.Allego, **fields)
    if workspace_id is not None:
        request.workspaceID = workspace_id
    return request


async def listed(core: allegoserver_pb2_grpc.AllegoCoreStub, cmd: int) -> dict[str, Any]:
    reply = await core.GetWorkspace(common_pb2.GetWorkspaceRequest(cmd=cmd))
    assert reply.IsInitialized()
    return dict(reply.workspaceDesc)


async def test_workspaces_through_either_protocol(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    ws = ours.workspace()
    await core.WorkspaceControl(
        control(
            common_pb2.WSPACE_Save,
            "radiens_ws",
            annotation=common_pb2.AnnotateBundle(tags="t1", notes="n1"),
        )
    )
    table = (await ws.workspace_list()).set_index("ID")
    assert table.loc["radiens_ws", "tags"] == "t1" and table.loc["radiens_ws", "notes"] == "n1"
    assert (await ws.workspace_current())["ID"].tolist() == ["radiens_ws"]
    await ours.set_sampling_freq(2000)  # the live instrument now differs from radiens_ws
    await ws.workspace_save("ours_ws", tags="t2", notes="n2")
    await ws.workspace_switch("radiens_ws")
    # the same table through both protocols
    descs = await listed(core, common_pb2.GET_WSPACE_List)
    table = (await ws.workspace_list()).set_index("ID")
    assert sorted(descs) == sorted(table.index)
    for wid, d in descs.items():
        row = table.loc[wid]
        assert d.iD == wid and d.app == common_pb2.Allego and row["app"] == "ALLEGO"
        assert d.isModified == bool(row["is_modified"])
        assert (d.annotation.tags, d.annotation.notes) == (row["tags"], row["notes"])
        for field, column in (
            ("timestampLastUsed", "last_used"),
            ("timestampModified", "last_modified"),
        ):
            wire = pd.Timestamp(getattr(d, field))
            assert abs((wire - row[column]).total_seconds()) < 1e-5
    current = await listed(core, common_pb2.GET_WSPACE_Current)
    assert list(current) == ["radiens_ws"]
    # a switch through the Radiens port restores the instrument our protocol reads
    await core.WorkspaceControl(control(common_pb2.WSPACE_Switch, "ours_ws"))
    assert (await ws.workspace_current())["ID"].tolist() == ["ours_ws"]
    assert (await ours.get_status()).sample_freq == 2000
    await core.WorkspaceControl(control(common_pb2.WSPACE_SwitchToLastUsed))
    assert (await ws.workspace_current())["ID"].tolist() == ["ours_ws"]
    await core.WorkspaceControl(control(common_pb2.WSPACE_SaveAs, "copy_ws"))
    assert "copy_ws" in await listed(core, common_pb2.GET_WSPACE_List)
    await core.WorkspaceControl(control(common_pb2.WSPACE_Switch, "radiens_ws"))
    await core.WorkspaceControl(control(common_pb2.WSPACE_Delete, "copy_ws"))
    assert "copy_ws" not in (await ws.workspace_list())["ID"].tolist()
    # the app mask: an Allego has no Videre workspaces
    reply = await core.GetWorkspace(
        common_pb2.GetWorkspaceRequest(cmd=common_pb2.GET_WSPACE_List, appMask=common_pb2.Videre)
    )
    assert not reply.workspaceDesc


async def test_workspace_export_and_import_through_files(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient, tmp_path: Path
) -> None:
    """WSPACE_Export writes a workspace file; WSPACE_Import stores it (under its own ID or a new
    one) without switching; both refuse clearly and change nothing on bad input."""
    ws = ours.workspace()
    await ours.set_sampling_freq(2500)
    await ws.workspace_save("export_me", tags="t3", notes="n3")
    await ours.set_sampling_freq(30000)
    target = tmp_path / "export_me.workspace.json"
    await core.WorkspaceControl(
        control(common_pb2.WSPACE_Export, "export_me", targetFullFileName=str(target))
    )
    doc = json.loads(target.read_text())
    assert (doc["id"], doc["tags"], doc["notes"]) == ("export_me", "t3", "n3")
    assert os.listdir(tmp_path) == [target.name]  # no temporary file left
    # exporting again needs force; the file is unchanged when refused
    await refused(
        core.WorkspaceControl,
        control(common_pb2.WSPACE_Export, "export_me", targetFullFileName=str(target)),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    await core.WorkspaceControl(
        control(
            common_pb2.WSPACE_Export,
            "export_me",
            targetFullFileName=str(target),
            isForceOverwrite=True,
        )
    )
    # import under a new ID: listed by our own client, not switched to
    current = (await ws.workspace_current())["ID"].tolist()
    await core.WorkspaceControl(
        control(common_pb2.WSPACE_Import, "imported_ws", targetFullFileName=str(target))
    )
    table = (await ws.workspace_list()).set_index("ID")
    assert table.loc["imported_ws", "tags"] == "t3"
    assert (await ws.workspace_current())["ID"].tolist() == current
    # switching to it restores the exported state
    await ws.workspace_switch("imported_ws")
    assert (await ours.get_status()).sample_freq == 2500
    # its own ID exists: refused without force
    await refused(
        core.WorkspaceControl,
        control(common_pb2.WSPACE_Import, targetFullFileName=str(target)),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    # not a workspace file
    bad = tmp_path / "not_a_workspace.json"
    bad.write_text('{"format": "something else"}')
    await refused(
        core.WorkspaceControl,
        control(common_pb2.WSPACE_Import, "x_ws", targetFullFileName=str(bad)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "x_ws" not in (await ws.workspace_list())["ID"].tolist()
    await ours.set_sampling_freq(30000)


async def test_bad_workspace_control_is_refused_and_changes_nothing(
    core: allegoserver_pb2_grpc.AllegoCoreStub, ours: AsyncAllegoClient
) -> None:
    ws = ours.workspace()
    await ws.workspace_save("keep_ws")
    await ws.workspace_save("other_ws")
    before = await ws.workspace_list()
    cases = [
        (control(common_pb2.WSPACE_Switch, "no_such_ws"), grpc.StatusCode.NOT_FOUND),
        (control(common_pb2.WSPACE_Delete, "no_such_ws"), grpc.StatusCode.NOT_FOUND),
        (control(common_pb2.WSPACE_Delete, "other_ws"), grpc.StatusCode.FAILED_PRECONDITION),
        (control(common_pb2.WSPACE_SaveAs, "keep_ws"), grpc.StatusCode.ALREADY_EXISTS),
        (control(common_pb2.WSPACE_SaveAs), grpc.StatusCode.INVALID_ARGUMENT),
        (control(common_pb2.WSPACE_Switch, " bad id "), grpc.StatusCode.INVALID_ARGUMENT),
        (control(common_pb2.WSPACE_Export, "keep_ws"), grpc.StatusCode.INVALID_ARGUMENT),
        (
            control(common_pb2.WSPACE_Export, "keep_ws", targetFullFileName="relative.json"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            control(common_pb2.WSPACE_Import, targetFullFileName="/no/such/dir/ws.json"),
            grpc.StatusCode.NOT_FOUND,
        ),
        (
            common_pb2.WorkspaceControlRequest(
                cmd=common_pb2.WSPACE_Save, app=common_pb2.Videre, workspaceID="v"
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ]
    for request, code in cases:
        await refused(core.WorkspaceControl, request, code)
    after = await ws.workspace_list()
    assert after[["ID", "last_modified", "tags", "notes"]].equals(
        before[["ID", "last_modified", "tags", "notes"]]
    )
    await refused(
        core.GetWorkspace,
        common_pb2.GetWorkspaceRequest(cmd=common_pb2.GET_WSPACE_List, workspaceID="nope"),
        grpc.StatusCode.NOT_FOUND,
    )
