"""radiens-core's AllegoClient drives stimulation, recording triggers, digital and analog outputs
on the hub; each result is checked against what our own client reads over radiens.v1."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from radiens_core import AllegoClient
from radiens_core.exceptions import ServerCommunicationError
from radiens_core.models.dio import DIOMode
from radiens_core.models.ports import Port
from radiens_core.models.status import RecordingConfig, RecordMode
from radiens_core.models.stim import (
    StimKeypressIndex,
    StimParams,
    StimPolarity,
    StimShape,
    StimStep,
)
from radiens_core.models.triggers import TriggerChannel

import radiens_async as radiens
from radiens_async.utils.enums import SignalType

from hub_process import HubProcess


@pytest.fixture(scope="module")
def rc() -> Iterator[AllegoClient]:
    with AllegoClient() as client:
        yield client


@pytest.fixture
def ours(radiens_hub: HubProcess) -> Iterator[radiens.AllegoClient]:
    with radiens.AllegoClient(radiens_hub.address) as client:
        client.set_streaming("off")
        client.restart("sim-spikes", seed=3)
        yield client
        client.set_streaming("off")


def test_stim_params_round_trip_against_ours(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    params = StimParams.biphasic(
        amplitude=25.0,
        pulse_duration=150.0,
        polarity=StimPolarity.ANODIC_FIRST,
        stim_sys_chan_idx=6,
        trigger_source_idx=StimKeypressIndex.KEYPRESS_3,
        refractory_period=2000.0,  # µs in radiens-core, ms on the wire
        headstage_global_amp_settle=True,
    )
    rc.set_stim_params({6: params, 9: params.model_copy(update={"first_phase_amplitude": 40.0})})
    mine = ours.get_stim_params()
    assert (
        mine[6]["first_phase_amplitude_uA"] == 25.0 and mine[9]["first_phase_amplitude_uA"] == 40.0
    )
    assert mine[6]["first_phase_duration_us"] == 150.0 and mine[6]["stim_polarity"] == 1
    assert mine[6]["refactory_period_ms"] == 2.0
    assert mine[6]["trigger_source_is_keypress"] is True and mine[6]["trigger_source_idx"] == 3
    theirs = rc.get_stim_params()
    assert sorted(theirs) == sorted(mine)
    assert theirs[6] == params  # every field, the global amp settle flag included
    # set through ours, read through radiens-core: a digital-input trigger by its sys index
    din_sys = list(ours.get_channel_metadata().index(SignalType.DIN).sys)
    ours.set_stim_params(
        {"stim_sys_chan_idx": 7, "stim_shape": "MONOPHASIC", "trigger_source_idx": 1}
    )
    seven = rc.get_stim_params()[7]
    assert seven.stim_shape == StimShape.MONOPHASIC and seven.trigger_source_idx == din_sys[1]
    assert seven.refractory_period == 1000.0  # the 1 ms default, in µs


def test_stim_params_refusals_change_nothing(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    before = ours.get_stim_params()
    good = StimParams.biphasic(
        amplitude=10.0,
        pulse_duration=100.0,
        polarity=StimPolarity.CATHODIC_FIRST,
        stim_sys_chan_idx=6,
        trigger_source_idx=StimKeypressIndex.KEYPRESS_1,
    )
    for bad in (
        {1000: good},  # no such stim channel
        {6: good.model_copy(update={"first_phase_amplitude": math.nan})},
        {6: good.model_copy(update={"second_phase_amplitude": 5000.0})},
        {6: good.model_copy(update={"first_phase_duration": -5.0})},
    ):
        with pytest.raises(ServerCommunicationError):
            rc.set_stim_params(bad)
    ours.set_streaming("on")
    with pytest.raises(ServerCommunicationError, match="streaming"):
        rc.set_stim_params({6: good})
    ours.set_streaming("off")
    assert ours.get_stim_params() == before


def test_stim_step(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    rc.set_stim_step(step=StimStep.STIM_STEP_SIZE_2_UA)
    assert rc.get_stim_step().stim_step == StimStep.STIM_STEP_SIZE_2_UA
    ours.restart("sim-spikes")  # a restart through our protocol resets it
    assert rc.get_stim_step().stim_step == StimStep.STIM_STEP_SIZE_10_UA


def test_keypress_triggers_against_ours(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    with pytest.raises(ServerCommunicationError, match="streaming is off"):
        rc.toggle_stim_trigger(trigger=1)
    ours.set_stim_params(
        {
            "stim_sys_chan_idx": 6,
            "enabled": True,
            "trigger_source_is_keypress": True,
            "trigger_source_idx": 2,
            "trigger_edge_or_level": "ST_LEVEL",
        }
    )
    ours.set_streaming("on")
    rc.set_stim_trigger(trigger=StimKeypressIndex.KEYPRESS_2, on=True)
    rc.toggle_stim_trigger(trigger=2)  # released again
    rc.set_stim_trigger(trigger=2, on=False)  # already up: no transition
    # ours toggles it down: a level-triggered channel fires entering its level
    fired = ours.set_manual_stim_trigger(2)
    assert fired.trigger_level is True and fired.fired_sys_chan_idxs == (6,)


def test_recording_triggers(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    rc.enable_trigger(channel="din_1", port=Port.B)
    state = rc.get_trigger_state()
    assert state.enabled_channels == [TriggerChannel.T_DIN_1] and state.ports == [Port.B]
    rc.enable_trigger(channel=TriggerChannel.T_DOUT_0)  # one trigger at a time
    assert rc.get_trigger_state().enabled_channels == [TriggerChannel.T_DOUT_0]
    with pytest.raises(ServerCommunicationError, match="no digital input 9"):
        rc.enable_trigger(channel="din_9")
    rc.disable_trigger(channel="dout_0")
    assert rc.get_trigger_state().enabled_channels == []
    rc.enable_trigger(channel="din_0")
    rc.disable_all_triggers()
    assert rc.get_trigger_state().enabled_channels == []
    rc.enable_trigger(channel="din_0")
    ours.restart("sim-spikes")
    assert rc.get_trigger_state().enabled_channels == []


def _wait_for(check: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _live_rows(ours: radiens.AllegoClient, row: int, start: int, n: int) -> np.ndarray:
    """Samples ``[start, start + n)`` of one channel of the live stream, read by ours."""
    got: list[np.ndarray] = []
    stream = ours.stream_signals(start=start, channels=[row])
    try:
        for chunk in stream:
            assert chunk.first_sample == start + sum(g.size for g in got)
            got.append(chunk.data[0])
            if sum(g.size for g in got) >= n:
                break
    finally:
        stream.close()
    return np.concatenate(got)[:n]


def test_a_dout_trigger_starts_and_stops_recordings(
    rc: AllegoClient, ours: radiens.AllegoClient, tmp_path: Path
) -> None:
    rc.update_recording_config(
        RecordingConfig(base_file_name="rc_trig", base_file_path=str(tmp_path), time_stamp=False)
    )
    rc.enable_trigger(channel="dout_1")
    rc.start_streaming()
    time.sleep(0.1)  # the level the trigger first sees is no edge
    rc.set_dio_manual(chan_idx=1, state=True)
    _wait_for(lambda: rc.get_status().recording.record_mode == RecordMode.ON)
    status = rc.get_status().recording
    assert status.active_filename == str(tmp_path / "rc_trig_0.xdat")
    assert ours.get_status().recording.file_name == status.active_filename
    time.sleep(0.3)
    rc.set_dio_manual(chan_idx=1, state=False)
    _wait_for(lambda: rc.get_status().recording.record_mode == RecordMode.OFF)
    assert ours.get_status().recording.mode == "R_OFF"
    duration = rc.get_status().recording.duration
    assert duration == pytest.approx(ours.get_status().recording.dur_sec)

    neo_rawio = pytest.importorskip("neo.rawio")

    def parsed() -> Any:
        raw = neo_rawio.NeuroNexusRawIO(filename=str(tmp_path / "rc_trig_0.xdat.json"))
        raw.parse_header()
        return raw

    n = round(duration * 30000)
    _wait_for(lambda: parsed().get_signal_size(0, 0, 0) == n)  # closed by its own thread
    raw = parsed()
    dout = next(i for i, s in enumerate(raw.header["signal_streams"]) if s["id"] == "dout")
    first = round(raw.get_signal_t_start(0, 0, dout) * 30000)
    recorded = raw.get_analogsignal_chunk(0, 0, 0, n, stream_index=dout)[:, 1]
    assert np.all(recorded == 1.0)
    # the live stream, read by ours: low right before the first sample and at the one after
    # the last, so the file runs from the rising edge to the falling edge exactly
    dout_idx = ours.get_channel_metadata().index(SignalType.DOUT)
    row = dout_idx.sys[dout_idx.ntv.index(1)]
    live = _live_rows(ours, row, first - 1, n + 2)
    assert live[0] == 0.0 and np.all(live[1:-1] == 1.0) and live[-1] == 0.0
    assert rc.get_trigger_state().enabled_channels == [TriggerChannel.T_DOUT_1]
    rc.disable_all_triggers()


def test_digital_outs_against_ours(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    rc.set_dio_manual(chan_idx=0, state=True)
    assert ours.get_digital_out_states() == {
        "digital_outs_mode": "MANUAL",
        "states": [{"chan_idx": 0, "state": True}, {"chan_idx": 1, "state": False}],
    }
    ours.set_digital_out_manual(False, True)
    reg = rc.get_dio_reg()
    assert reg.mode == DIOMode.MANUAL
    assert [(c.ntv_chan_idx, c.manual_state) for c in reg.dout_chan_registers] == [
        (0, False),
        (1, True),
    ]
    rc.set_dio_pulse(interval_sec=0.5, duration_sec=0.1, chan_idx=1)
    reg = rc.get_dio_reg()
    assert reg.mode == DIOMode.PULSE and reg.req_pulse_ntv_chan_idx == 1
    assert reg.dout_chan_registers[1].pulse_interval_sec == pytest.approx(0.5)
    assert reg.dout_chan_registers[0].pulse_interval_sec == 0.0
    assert ours.get_digital_out_states()["digital_outs_mode"] == "PULSE"
    with pytest.raises(ServerCommunicationError):
        rc.set_dio_pulse(interval_sec=0.1, duration_sec=0.2)
    rc.set_dio_gated(polarity=True)
    assert ours.get_digital_out_states() == {
        "digital_outs_mode": "GATED",
        "states": [{"chan_idx": 0, "state": False}, {"chan_idx": 1, "state": False}],
    }
    with pytest.raises(ServerCommunicationError, match="hardware"):
        rc.set_dio_events(chan_idx=0, threshold=-50.0, polarity=False)
    assert rc.get_dio_reg().mode == DIOMode.GATED
    with pytest.raises(ServerCommunicationError):
        rc.set_dio_manual(chan_idx=5, state=True)
    assert ours.get_digital_out_states()["digital_outs_mode"] == "GATED"


def test_analog_outs_against_ours(rc: AllegoClient, ours: radiens.AllegoClient) -> None:
    rc.set_dac_gain(4)
    rc.set_dac_stream(0, 3)
    rc.set_dac_highpass(True, 250.0)
    mine = ours.get_analog_out_settings()
    assert mine["gain"] == 4 and mine["high_pass"] == {"enable": True, "cutoff_freq": 250.0}
    assert mine["dac"][0]["amp_ntv_chan_idx"] == 3 and mine["dac"][1]["amp_ntv_chan_idx"] == -1
    ours.set_analog_out_high_pass(400.0, False)
    reg = rc.get_dac_reg()
    assert (reg.gain, reg.highpass_reg.enable, reg.highpass_reg.cutoff_freq) == (4, False, 400.0)
    assert [(c.analog_out_ntv_chan_idx, c.pri_ntv_chan_idx) for c in reg.channels] == [
        (0, 3),
        (1, -1),
    ]
    for call in (
        lambda: rc.set_dac_gain(9),
        lambda: rc.set_dac_stream(5, 0),
        lambda: rc.set_dac_stream(0, 4096),
        lambda: rc.set_dac_highpass(True, 16000.0),
        lambda: rc.set_dac_highpass(True, math.nan),
    ):
        with pytest.raises(ServerCommunicationError):
            call()
    assert rc.get_dac_reg() == reg
    rc.set_dac_off()
    assert [d["amp_ntv_chan_idx"] for d in ours.get_analog_out_settings()["dac"]] == [-1, -1]
