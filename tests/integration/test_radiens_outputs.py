"""Stimulation, recording triggers, digital and analog outputs on the hub's Radiens ports, each
checked against what our own client reads over radiens.v1 (one instrument, two protocols)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from radiens_async._generated.allego import allegoserver_pb2 as pb
from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.errors import FormatError
from radiens_async.formats.xdat_reader import XdatReader
from radiens_async.hub.radiens.required_fields import UNMARSHAL_PREFIX
from radiens_async.utils.enums import SignalType

from hub_process import HubProcess
from stim_fixtures import EVERY_FIELD

pytestmark = pytest.mark.anyio

REQ = common_pb2.StandardRequest()


@pytest.fixture(scope="module")
def radiens_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("radiens-outputs"), radiens_base_port=0) as process:
        yield process


@pytest.fixture
async def channel(radiens_hub: HubProcess) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{radiens_hub.radiens_base_port}") as ch:
        yield ch


@pytest.fixture
async def ours(radiens_hub: HubProcess) -> AsyncIterator[AsyncAllegoClient]:
    async with AsyncAllegoClient(radiens_hub.address) as client:
        await client.set_streaming("off")
        await client.restart("sim-spikes", seed=3)
        yield client
        await client.set_streaming("off")


def core(channel: grpc.aio.Channel) -> allegoserver_pb2_grpc.AllegoCoreStub:
    return allegoserver_pb2_grpc.AllegoCoreStub(channel)


async def refused(call: Awaitable[Any], code: grpc.StatusCode) -> str:
    """Await a call that must fail with ``code``; its message."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    return info.value.details() or ""


def radiens_stim(chan: int, **changes: Any) -> pb.StimParams:
    """A complete ``StimParams`` (every required field), as radiens-core sends one."""
    fields: dict[str, Any] = {
        "stimShape": pb.BIPHASIC_INTERPHASE_DELAY,
        "stimPolarity": pb.ANODIC_FIRST,
        "firstPhaseDuration": 120.0,
        "secondPhaseDuration": 60.0,
        "interphaseDelay": 50.0,
        "firstPhaseAmplitude": 5.0,
        "secondPhaseAmplitude": 10.0,
        "baselineVoltage": -0.25,
        "triggerEdgeOrLevel": pb.ST_LEVEL,
        "triggerHighOrLow": pb.ST_LOW,
        "enabled": True,
        "postTriggerDelay": 200.0,
        "pulseOrTrain": pb.PULSE_TRAIN,
        "numberOfStimPulses": 3,
        "pulseTrainPeriod": 2000.0,
        "refractoryPeriod": 5.0,
        "preStimAmpSettle": 10.0,
        "postStimAmpSettle": 20.0,
        "maintainAmpSettle": True,
        "enableAmpSettle": True,
        "headstageGlobalAmpSettle": True,
        "postStimChargeRecovOn": 30.0,
        "postStimChargeRecovOff": 40.0,
        "enableChargeRecovery": True,
        "triggerSourceIsKeypress": True,
        "triggerSourceIdx": 2,
        "stimSysChanIdx": chan,
    }
    fields.update(changes)
    return pb.StimParams(**fields)


AS_DOCUMENTED = EVERY_FIELD  # radiens_stim(6) in the documented keys


async def sys_of(ours: AsyncAllegoClient, stype: SignalType) -> list[int]:
    return [int(i) for i in (await ours.get_channel_metadata()).index(stype).sys]


async def read_rows(ours: AsyncAllegoClient, rows: list[int], start: int, n: int) -> np.ndarray:
    """Samples ``[start, start + n)`` of ``rows`` from our live stream."""
    got: list[np.ndarray] = []
    have = 0
    stream = ours.stream_signals(start=start, channels=rows)
    async with contextlib.aclosing(stream) as chunks:
        async for chunk in chunks:
            got.append(chunk.data)
            have += chunk.data.shape[1]
            if have >= n:
                break
    return np.concatenate(got, axis=1)[:, :n]


# -- stimulation -----------------------------------------------------------------------------
async def test_stim_params_set_through_either_protocol_read_through_both(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    assert (await stub.SetStimParams(radiens_stim(6))).errMsg == ""
    assert (await ours.get_stim_params())[6] == AS_DOCUMENTED
    reply = await stub.GetStimParams(REQ)
    assert sorted(reply.params) == sorted(await ours.get_stim_params())
    assert reply.params[6] == radiens_stim(6)  # every field round-trips, the flag included
    assert reply.params[5].headstageGlobalAmpSettle is False
    # through ours, a digital-input trigger: Radiens names the input by its sys index
    din_sys = await sys_of(ours, SignalType.DIN)
    await ours.set_stim_params(
        {"stim_sys_chan_idx": 7, "trigger_source_idx": 1, "first_phase_amplitude_uA": 25.0}
    )
    seven = (await stub.GetStimParams(REQ)).params[7]
    assert (seven.triggerSourceIsKeypress, seven.triggerSourceIdx) == (False, din_sys[1])
    assert seven.firstPhaseAmplitude == 25.0 and seven.refractoryPeriod == 1.0  # ms
    await stub.SetStimParams(
        radiens_stim(7, triggerSourceIsKeypress=False, triggerSourceIdx=din_sys[0])
    )
    assert (await ours.get_stim_params())[7]["trigger_source_idx"] == 0


async def test_stim_bad_input_is_refused_and_changes_nothing(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    before = await ours.get_stim_params()
    ain_sys = await sys_of(ours, SignalType.AIN)
    code = grpc.StatusCode
    assert "unknown stim channel 500" in await refused(
        stub.SetStimParams(radiens_stim(500)), code.NOT_FOUND
    )
    for bad in (
        {"firstPhaseAmplitude": math.nan},
        {"secondPhaseAmplitude": 3000.0},
        {"firstPhaseDuration": -1.0},
        {"postTriggerDelay": math.inf},
        {"numberOfStimPulses": 0},
        {"pulseTrainPeriod": 100.0},  # shorter than one pulse of the train
        {"triggerSourceIsKeypress": False, "triggerSourceIdx": ain_sys[0]},
    ):
        await refused(stub.SetStimParams(radiens_stim(6, **bad)), code.INVALID_ARGUMENT)
    await refused(
        stub.SetStimParams(radiens_stim(6, triggerSourceIsKeypress=False, triggerSourceIdx=9999)),
        code.NOT_FOUND,
    )
    # an unknown enum value leaves the required field unset: refused before the method runs
    raw = channel.unary_unary(
        "/allego.AllegoCore/SetStimParams",
        request_serializer=lambda m: m.SerializePartialToString() + bytes([0x08, 9]),
        response_deserializer=common_pb2.StandardReply.FromString,
    )
    partial = radiens_stim(6)
    partial.ClearField("stimShape")
    assert UNMARSHAL_PREFIX in await refused(raw(partial), code.INTERNAL)
    await ours.set_streaming("on")
    assert "streaming" in await refused(
        stub.SetStimParams(radiens_stim(6)), code.FAILED_PRECONDITION
    )
    await ours.set_streaming("off")
    assert await ours.get_stim_params() == before


async def test_stim_step_round_trip_and_refusals(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    assert (await stub.GetStimStep(REQ)).stimStep == pb.StimStepSize10uA  # the default
    await stub.SetStimStep(pb.StimStepMessage(stimStep=pb.StimStepSize500nA))
    assert (await stub.GetStimStep(REQ)).stimStep == pb.StimStepSize500nA
    await ours.set_streaming("on")
    await refused(
        stub.SetStimStep(pb.StimStepMessage(stimStep=pb.StimStepSize1uA)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    await ours.set_streaming("off")
    raw = channel.unary_unary(
        "/allego.AllegoCore/SetStimStep",
        request_serializer=lambda _m: bytes([0x08, 12]),  # StimStep has no 12
        response_deserializer=common_pb2.StandardReply.FromString,
    )
    await refused(raw(pb.StimStepMessage()), grpc.StatusCode.INTERNAL)
    assert (await stub.GetStimStep(REQ)).stimStep == pb.StimStepSize500nA
    await ours.restart("sim-spikes")  # a restart through ours resets it
    assert (await stub.GetStimStep(REQ)).stimStep == pb.StimStepSize10uA


async def test_keypress_triggers_fire_what_ours_sees(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    await refused(  # streaming is off
        stub.ManualStimTriggerToggle(pb.ManualStimTriggerToggleRequest(trigger=0)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    await ours.set_stim_params(
        {
            "stim_sys_chan_idx": 6,
            "enabled": True,
            "trigger_source_is_keypress": True,
            "trigger_source_idx": 1,  # keypress 1 is wire trigger 0
            "first_phase_amplitude_uA": 10.0,
            "second_phase_amplitude_uA": 10.0,
        }
    )
    await ours.set_streaming("on")
    await asyncio.sleep(0.2)
    await stub.ManualStimTriggerToggle(pb.ManualStimTriggerToggleRequest(trigger=0))
    x = await read_rows(ours, [6], 0, 30000)  # the stream's first second holds the trigger
    hits = np.flatnonzero(x[0] < -90_000)
    assert hits.size == 3, "one 100 µs cathodic phase (3 samples at 30 kHz)"
    # the toggle left keypress 1 down: setting it down again is no transition, up is one
    await stub.ManualStimTrigger(pb.ManualStimTriggerRequest(trigger=0, triggerOn=True))
    await stub.ManualStimTrigger(pb.ManualStimTriggerRequest(trigger=0, triggerOn=False))
    assert (await ours.set_manual_stim_trigger(1)).trigger_level is True  # ours sees it up
    for bad in (8, -1):
        await refused(
            stub.ManualStimTrigger(pb.ManualStimTriggerRequest(trigger=bad, triggerOn=True)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )


# -- recording triggers ----------------------------------------------------------------------
async def test_recording_triggers_one_at_a_time_and_reset_by_a_restart(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    assert list((await stub.GetTriggerState(REQ)).enabledChannels) == []
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_DIN_1, enabled=True, port=1))
    state = await stub.GetTriggerState(REQ)
    assert list(state.enabledChannels) == [pb.T_DIN_1] and list(state.ports) == [1]
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_DOUT_0, enabled=True))
    state = await stub.GetTriggerState(REQ)
    assert list(state.enabledChannels) == [pb.T_DOUT_0] and list(state.ports) == [0]
    code = grpc.StatusCode
    await refused(
        stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_DIN_5, enabled=True)),
        code.NOT_FOUND,
    )
    await refused(
        stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_NONE, enabled=True)),
        code.INVALID_ARGUMENT,
    )
    assert list((await stub.GetTriggerState(REQ)).enabledChannels) == [pb.T_DOUT_0]
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_NONE, enabled=False))
    assert list((await stub.GetTriggerState(REQ)).enabledChannels) == []
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_DIN_0, enabled=True))
    await ours.restart("sim-spikes")
    assert list((await stub.GetTriggerState(REQ)).enabledChannels) == []


async def _until(check: Any, timeout: float = 15.0) -> None:
    """Poll the coroutine function ``check`` until it returns a true value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def _recording_on(stub: allegoserver_pb2_grpc.AllegoCoreStub) -> bool:
    return bool((await stub.GetStatus(REQ)).recording.recordMode == pb.R_ON)


async def _not(call: Awaitable[bool]) -> bool:
    return not await call


def _neo_dout(path: Path, fs: float) -> tuple[int, int, np.ndarray]:
    """First sample, sample count and the ``gpio_dout`` rows of a file set, read by neo."""
    neo_rawio = pytest.importorskip("neo.rawio")
    raw = neo_rawio.NeuroNexusRawIO(filename=str(path.with_suffix(".xdat.json")))
    raw.parse_header()
    dout = next(i for i, s in enumerate(raw.header["signal_streams"]) if s["id"] == "dout")
    assert raw.get_signal_sampling_rate(dout) == fs
    n = raw.get_signal_size(0, 0, dout)
    first = round(raw.get_signal_t_start(0, 0, dout) * fs)
    return first, n, raw.get_analogsignal_chunk(0, 0, 0, n, stream_index=dout).T


async def _closed_samples(path: Path, n: int) -> None:
    """Wait until the file set at ``path`` (closed by its recorder thread) holds ``n`` samples."""

    async def done() -> bool:
        try:
            with XdatReader(path) as reader:
                return reader.n_samples == n
        except FormatError:
            return False

    await _until(done)


async def test_a_dout_trigger_set_over_radiens_records_while_ours_drives_the_output_high(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel, tmp_path: Path
) -> None:
    stub = core(channel)
    await ours.set_recording_config(tmp_path, "trig", 0, False)
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_DOUT_0, enabled=True))
    await ours.set_streaming("on")
    await asyncio.sleep(0.1)  # the level the trigger first sees is no edge
    rise = await ours.set_digital_out_manual(True, False)
    await _until(lambda: _recording_on(stub))
    state, radiens = await ours.get_status(), await stub.GetStatus(REQ)
    assert state.recording.mode == "R_ON"
    assert radiens.recording.activeFileName == state.recording.file_name
    assert state.recording.file_name == str(tmp_path / "trig_0.xdat")
    await asyncio.sleep(0.3)
    fall = await ours.set_digital_out_manual(False, False)
    await _until(lambda: _not(_recording_on(stub)))
    await _closed_samples(tmp_path / "trig_0.xdat", fall - rise)
    first, n, dout = _neo_dout(tmp_path / "trig_0.xdat", 30000.0)
    assert (first, n) == (rise, fall - rise)  # from the rising edge to the falling one
    assert np.all(dout[0] == 1.0) and np.all(dout[1] == 0.0)
    done, theirs = await stub.GetStatus(REQ), await ours.get_status()
    assert done.recording.duration == pytest.approx(theirs.recording.dur_sec)
    assert done.recording.duration == pytest.approx((fall - rise) / 30000.0)
    assert (await ours.get_recording_config()).index == 1
    # a manual stop ends a triggered recording; the trigger stays armed
    await ours.set_digital_out_manual(True, False)
    await _until(lambda: _recording_on(stub))
    await ours.set_recording("off")
    assert not await _recording_on(stub)
    await ours.set_digital_out_manual(False, False)
    await asyncio.sleep(0.1)
    assert not await _recording_on(stub)
    assert list((await stub.GetTriggerState(REQ)).enabledChannels) == [pb.T_DOUT_0]
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_NONE, enabled=False))


async def test_triggers_while_stopped_or_with_the_recording_directory_gone(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel, tmp_path: Path
) -> None:
    stub = core(channel)
    # enabled while not streaming: held, armed when streaming starts; the output is already
    # high then, which is a level, not an edge
    await ours.set_digital_out_manual(False, True)
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_DOUT_1, enabled=True))
    assert list((await stub.GetTriggerState(REQ)).enabledChannels) == [pb.T_DOUT_1]
    target = tmp_path / "gone"
    target.mkdir()
    await ours.set_recording_config(target, "lost", 0, False)
    await ours.set_streaming("on")
    await asyncio.sleep(0.2)
    assert not await _recording_on(stub)
    target.rmdir()
    await ours.set_digital_out_manual(False, False)
    await asyncio.sleep(0.05)
    await ours.set_digital_out_manual(False, True)  # a rising edge: the start fails

    async def reported() -> bool:
        return "no longer exists" in (await stub.GetStatus(REQ)).recording.error

    await _until(reported)
    state = await ours.get_status()
    assert state.recording.mode == "R_OFF" and "no longer exists" in state.recording.error
    # acquisition goes on
    head = state.stream.time_range[1]
    await asyncio.sleep(0.2)
    later = await ours.get_status()
    assert later.stream.mode == "S_ON" and later.stream.time_range[1] > head
    await stub.SetTriggerState(pb.SetTriggerRequest(channel=pb.T_NONE, enabled=False))


# -- digital out -----------------------------------------------------------------------------
async def test_dio_manual_states_seen_through_both(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    await stub.SetDIOManual(pb.DIOModeManualRequest(chanIdx=1, state=True))
    assert await ours.get_digital_out_states() == {
        "digital_outs_mode": "MANUAL",
        "states": [{"chan_idx": 0, "state": False}, {"chan_idx": 1, "state": True}],
    }
    await ours.set_digital_out_manual(True, False)
    reg = await stub.GetDIOReg(REQ)
    assert reg.mode == pb.manual
    assert [(c.ntvChanIdx, c.manualState) for c in reg.doutChanRegisters] == [(0, True), (1, False)]
    for bad in (2, -1):
        await refused(
            stub.SetDIOManual(pb.DIOModeManualRequest(chanIdx=bad, state=True)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    assert (await ours.get_digital_out_states())["states"][0]["state"] is True


async def test_dio_pulse_trains_show_in_our_stream(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    await stub.SetDIOPulse(
        pb.DIOModePulseRequest(reqIntervalSec=0.01, reqDurationSec=0.002, reqNtvChanIdx=-1)
    )
    reg = await stub.GetDIOReg(REQ)
    assert reg.mode == pb.pulse and reg.reqPulseNtvChanIdx == -1
    assert all(c.pulseIntervalSec == pytest.approx(0.01) for c in reg.doutChanRegisters)
    assert (await ours.get_digital_out_states())["digital_outs_mode"] == "PULSE"
    for bad in ((0.01, 0.01), (math.nan, 0.001), (0.01, -0.001), (0.0, 0.0)):
        await refused(
            stub.SetDIOPulse(
                pb.DIOModePulseRequest(
                    reqIntervalSec=bad[0], reqDurationSec=bad[1], reqNtvChanIdx=0
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
    await refused(
        stub.SetDIOPulse(
            pb.DIOModePulseRequest(reqIntervalSec=0.01, reqDurationSec=0.001, reqNtvChanIdx=2)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert await stub.GetDIOReg(REQ) == reg
    await ours.set_streaming("on")
    x = await read_rows(ours, await sys_of(ours, SignalType.DOUT), 0, 3000)
    # the trains start at sample 0 of the stream: 60 samples high of every 300
    expected = (np.arange(3000) % 300 < 60).astype(np.float32)
    np.testing.assert_array_equal(x[0], expected)
    np.testing.assert_array_equal(x[1], expected)


async def test_dio_gated_and_events(ours: AsyncAllegoClient, channel: grpc.aio.Channel) -> None:
    stub = core(channel)
    await ours.set_digital_out_manual(True, True)
    await stub.SetDIOGated(pb.DIOModeGatedRequest(gatedPolarity=True))
    assert await ours.get_digital_out_states() == {
        "digital_outs_mode": "GATED",
        "states": [{"chan_idx": 0, "state": False}, {"chan_idx": 1, "state": False}],
    }
    reg = await stub.GetDIOReg(REQ)
    assert reg.mode == pb.gated and reg.gatedPolarity is True
    message = await refused(
        stub.SetDIOEvents(
            pb.DIOModeEventsRequest(chanIdx=0, eventThreshold=-60.0, eventPolarity=False)
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "hardware" in message
    await refused(
        stub.SetDIOEvents(
            pb.DIOModeEventsRequest(chanIdx=0, eventThreshold=math.nan, eventPolarity=False)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert await stub.GetDIOReg(REQ) == reg
    await ours.set_streaming("on")
    x = await read_rows(ours, await sys_of(ours, SignalType.DOUT), 0, 300)
    np.testing.assert_array_equal(x, 1.0)  # the gates are active while streaming


# -- analog out ------------------------------------------------------------------------------
async def test_dac_settings_seen_through_both(
    ours: AsyncAllegoClient, channel: grpc.aio.Channel
) -> None:
    stub = core(channel)
    await stub.SetDACGain(pb.DACGainRequest(gain=5))
    await stub.SetDACStream(
        common_pb2.DACStreamRequest(DAC=1, NtvChanIdx=4, streamGroupId="Live Signals")
    )
    await stub.SetDACHighPass(pb.DACHighPassRegister(enable=True, cutoffFreq=300.0))
    settings = await ours.get_analog_out_settings()
    assert settings["gain"] == 5 and settings["high_pass"] == {"enable": True, "cutoff_freq": 300.0}
    assert settings["dac"][1] == {
        "amp_ntv_chan_idx": 4,
        "aout_ntv_chan_idx": 1,
        "stream": 0,
        "stream_offset_idx": 4,
    }
    await ours.set_analog_out_high_pass(500.0, False)
    reg = await stub.GetDACReg(REQ)
    assert (reg.highpassReg.enable, reg.highpassReg.cutoffFreq, reg.gain) == (False, 500.0, 5)
    assert [(c.AnalogOutNtvChanIdx, c.PriNtvChanIdx) for c in reg.analogOutChannels] == [
        (0, -1),
        (1, 4),
    ]
    code = grpc.StatusCode
    for call, status in (
        (stub.SetDACGain(pb.DACGainRequest(gain=8)), code.INVALID_ARGUMENT),
        (stub.SetDACGain(pb.DACGainRequest(gain=-1)), code.INVALID_ARGUMENT),
        (
            stub.SetDACStream(common_pb2.DACStreamRequest(DAC=2, NtvChanIdx=0)),
            code.INVALID_ARGUMENT,
        ),
        (stub.SetDACStream(common_pb2.DACStreamRequest(DAC=0, NtvChanIdx=9999)), code.NOT_FOUND),
        (
            stub.SetDACStream(common_pb2.DACStreamRequest(DAC=0, NtvChanIdx=1, streamGroupId="x")),
            code.NOT_FOUND,
        ),
        (
            stub.SetDACHighPass(pb.DACHighPassRegister(enable=True, cutoffFreq=20000.0)),
            code.INVALID_ARGUMENT,
        ),
        (
            stub.SetDACHighPass(pb.DACHighPassRegister(enable=True, cutoffFreq=math.nan)),
            code.INVALID_ARGUMENT,
        ),
        (stub.SetDACOff(common_pb2.DACOffRequest(streamGroupId="x")), code.NOT_FOUND),
    ):
        await refused(call, status)
    assert await stub.GetDACReg(REQ) == reg
    await stub.SetDACOff(common_pb2.DACOffRequest(streamGroupId="Live Signals"))
    after = await ours.get_analog_out_settings()
    assert [d["amp_ntv_chan_idx"] for d in after["dac"]] == [-1, -1] and after["gain"] == 5
