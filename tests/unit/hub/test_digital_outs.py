"""Digital-out modes (manual, gated, pulse; events refused), recording triggers, DAC routing and
gain, the stim step and set-level keypress triggers: the domain behind the Radiens output calls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiens_async.errors import FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.digital_outs import DigitalOutMode, DigitalOutRegister, PulseTrains
from radiens_async.hub.daq.recording_triggers import RecordingTriggers
from radiens_async.hub.daq.stimulation import DEFAULT_STIM_STEP, StimBank, StimStep


def _dout_rows(device: AllegoDevice, n: int) -> np.ndarray:
    """The next ``n`` samples of the digital outputs as the simulator streams them."""
    rows = [c.sys_idx for c in device.layout.of_type(StreamSignalType.DOUT)]
    return device.simulator.generate(n)[rows]


def test_pulse_mode_draws_trains_in_the_stream_and_keeps_their_phase() -> None:
    device = AllegoDevice()  # 30 kHz
    outputs = device.outputs
    device.simulator.generate(7)  # the train starts at the next sample acquired
    outputs.set_dout_pulse(0.001, 0.0005, 0)  # 15 high of every 30 samples on dout 0
    assert outputs.dout_mode == DigitalOutMode.PULSE
    dout = _dout_rows(device, 90)
    expected = np.tile(np.r_[np.ones(15), np.zeros(15)], 3)
    np.testing.assert_array_equal(dout[0], expected)
    np.testing.assert_array_equal(dout[1], 0.0)  # no pulse settings: low
    # configuring dout 1 leaves dout 0's phase alone
    outputs.set_dout_pulse(0.002, 0.001, 1)
    dout = _dout_rows(device, 60)
    np.testing.assert_array_equal(dout[0], np.tile(np.r_[np.ones(15), np.zeros(15)], 2))
    np.testing.assert_array_equal(dout[1], np.r_[np.ones(30), np.zeros(30)])
    reg = outputs.dio_register
    assert reg.req_pulse_ntv_chan_idx == 1 and reg.channels[0].pulse_interval_s == 0.001
    # a new stream starts every train again at sample 0
    device.simulator.reset()
    outputs.new_stream(device.simulator)
    dout = _dout_rows(device, 30)
    np.testing.assert_array_equal(dout[0], np.r_[np.ones(15), np.zeros(15)])
    # back to manual: the held states, no trains
    outputs.set_dout_manual(1, True)
    assert outputs.dout_mode == DigitalOutMode.MANUAL
    dout = _dout_rows(device, 40)
    np.testing.assert_array_equal(dout[0], 0.0)
    np.testing.assert_array_equal(dout[1], 1.0)


def test_pulse_trains_vectorized_and_looped_paths_agree() -> None:
    reg = DigitalOutRegister.default(2).with_pulse(0.0001, 0.00005, -1, fs=30000.0)  # 3 / 1.5
    trains = PulseTrains(reg, 30000.0)
    long = np.zeros((2, 3000), np.float32)
    trains(long, 100)
    period, width = 3, round(0.00005 * 30000.0)
    expected = ((np.arange(3000)) % period < width).astype(np.float32)
    np.testing.assert_array_equal(long[0], expected)
    np.testing.assert_array_equal(long[1], expected)
    short = np.zeros((2, 7), np.float32)
    trains(short, 3100)  # anchored at 100: 3000 samples later, the same phase
    np.testing.assert_array_equal(short[0], expected[:7])


@pytest.mark.parametrize(
    ("interval", "duration", "chan"),
    [
        (math.nan, 0.001, 0),
        (0.01, math.inf, 0),
        (0.0, 0.0, 0),
        (-1.0, 0.1, 0),
        (0.01, 0.01, 0),  # not shorter than the interval
        (0.01, 0.00001, 0),  # shorter than one sample at 30 kHz
        (7200.0, 1.0, 0),
        (0.01, 0.001, 2),
        (0.01, 0.001, -2),
        ("0.01", 0.001, 0),
    ],
)
def test_pulse_settings_are_validated(interval: object, duration: object, chan: object) -> None:
    device = AllegoDevice()
    with pytest.raises(InvalidArgument):
        device.outputs.set_dout_pulse(interval, duration, chan)
    assert device.outputs.dio_register == DigitalOutRegister.default(2)


def test_gated_mode_drives_the_gates_and_clears_manual_states() -> None:
    device = AllegoDevice()
    outputs = device.outputs
    outputs.set_dout_manual(0, True)
    outputs.set_dout_gated(True)
    assert outputs.dout_mode == DigitalOutMode.GATED
    assert outputs.dout_states == (False, False)  # manual settings cleared
    np.testing.assert_array_equal(_dout_rows(device, 10), 1.0)  # streaming: gates active
    outputs.set_dout_gated(False)
    np.testing.assert_array_equal(_dout_rows(device, 10), 0.0)
    with pytest.raises(InvalidArgument):
        outputs.set_dout_gated(1)
    assert outputs.dio_register.gated_polarity is False


def test_events_mode_is_validated_then_refused_without_hardware() -> None:
    device = AllegoDevice()
    outputs = device.outputs
    outputs.set_dout_manual(1, True)
    before = outputs.dio_register
    for bad in ((5, 50.0, True), (0, math.nan, True), (0, 50.0, 1)):
        with pytest.raises(InvalidArgument):
            outputs.set_dout_events(*bad)
    with pytest.raises(FailedPrecondition, match="no SmartBox Pro hardware"):
        outputs.set_dout_events(0, -50.0, False)
    assert outputs.dio_register == before


def test_v1_batch_set_switches_back_to_manual() -> None:
    device = AllegoDevice()
    device.outputs.set_dout_pulse(0.01, 0.001, -1)
    sample = device.outputs.set_digital_outs({0: True})
    assert device.outputs.dout_mode == DigitalOutMode.MANUAL
    assert sample == device.simulator.next_sample
    np.testing.assert_array_equal(_dout_rows(device, 5), [[1.0] * 5, [0.0] * 5])


def test_restart_resets_modes_step_and_triggers() -> None:
    device = AllegoDevice()
    outputs = device.outputs
    outputs.set_dout_pulse(0.01, 0.001, 0)
    outputs.set_stim_step(StimStep.STIM_STEP_SIZE_1_UA)
    outputs.triggers.enable(StreamSignalType.DIN, 1)
    outputs.set_analog_out_gain(3)
    outputs.set_analog_out_route(1, 5)
    device.restart(2)
    assert outputs.dio_register == DigitalOutRegister.default(2)
    assert outputs.stim_step == DEFAULT_STIM_STEP
    assert outputs.triggers.enabled == ()
    assert outputs.analog_out.gain == 0 and outputs.analog_out.dac[1].amp_ntv_chan_idx == -1


def test_stim_step_is_validated_and_refused_while_streaming() -> None:
    outputs = AllegoDevice().outputs
    assert outputs.set_stim_step(3) == StimStep.STIM_STEP_SIZE_50_NA
    assert outputs.set_stim_step("stim_step_size_2_ua") == StimStep.STIM_STEP_SIZE_2_UA
    for bad in (12, -1, True, 2.0, "10uA"):
        with pytest.raises(InvalidArgument):
            outputs.set_stim_step(bad)
    with pytest.raises(FailedPrecondition, match="streaming"):
        outputs.set_stim_step(4, streaming=True)
    assert outputs.stim_step == StimStep.STIM_STEP_SIZE_2_UA


def test_recording_triggers_one_at_a_time() -> None:
    triggers = RecordingTriggers(n_din=2, n_dout=2)
    triggers.enable(StreamSignalType.DIN, 0)
    triggers.enable(StreamSignalType.DOUT, 1, "B")
    assert [(t.signal_type, t.ntv_idx, t.port) for t in triggers.enabled] == [
        (StreamSignalType.DOUT, 1, "B")
    ]
    with pytest.raises(NotFound, match="no digital input 5"):
        triggers.enable(StreamSignalType.DIN, 5)
    with pytest.raises(InvalidArgument):
        triggers.enable(StreamSignalType.AMP, 0)
    with pytest.raises(InvalidArgument):
        triggers.enable(StreamSignalType.DIN, 16)
    with pytest.raises(InvalidArgument):
        triggers.enable(StreamSignalType.DIN, 0, "Z")
    assert len(triggers.enabled) == 1
    triggers.disable(StreamSignalType.DIN, 0)  # any channel: every trigger
    assert triggers.enabled == ()


def test_dac_routes_gain_and_off() -> None:
    device = AllegoDevice()
    outputs = device.outputs
    outputs.set_analog_out_gain(7)
    settings = outputs.set_analog_out_route(0, 12)
    route = settings.dac[0]
    assert (route.amp_ntv_chan_idx, route.aout_ntv_chan_idx, route.stream) == (12, 0, 0)
    assert route.stream_offset_idx == 12  # one port: the offset is the ntv index
    for bad_dac, ntv in ((2, 0), (-1, 0), (True, 0)):
        with pytest.raises(InvalidArgument):
            outputs.set_analog_out_route(bad_dac, ntv)
    with pytest.raises(NotFound):
        outputs.set_analog_out_route(1, 10_000)
    for gain in (8, -1, 2.0, True):
        with pytest.raises(InvalidArgument):
            outputs.set_analog_out_gain(gain)
    assert outputs.analog_out.gain == 7 and outputs.analog_out.dac[0].amp_ntv_chan_idx == 12
    off = outputs.set_analog_out_off()
    assert [r.amp_ntv_chan_idx for r in off.dac] == [-1, -1] and off.gain == 7


def test_snapshot_round_trip_keeps_the_new_state_and_reads_old_snapshots() -> None:
    device = AllegoDevice()
    outputs = device.outputs
    outputs.set_dout_pulse(0.01, 0.002, 1)
    outputs.set_stim_step(5)
    outputs.triggers.enable(StreamSignalType.DOUT, 0)
    outputs.set_stim_params({"stim_sys_chan_idx": 2}, headstage_global_amp_settle=True)
    saved = outputs.snapshot()
    amp = [c.sys_idx for c in device.layout.of_type(StreamSignalType.AMP)]
    device.restart(2)
    outputs.apply_restore(outputs.prepare_restore(saved, device.fs, amp))
    assert outputs.dio_register.channels[1].pulse_duration_s == 0.002
    assert outputs.dout_mode == DigitalOutMode.PULSE
    assert outputs.stim_step == StimStep.STIM_STEP_SIZE_200_NA
    assert outputs.triggers.enabled[0].signal_type == StreamSignalType.DOUT
    assert outputs.stim.headstage_global_amp_settle(2)
    old = {k: saved[k] for k in ("stim", "dout", "analog_out")}
    old["dout"] = [True, False]
    outputs.apply_restore(outputs.prepare_restore(old, device.fs, amp))
    assert outputs.dout_mode == DigitalOutMode.MANUAL and outputs.dout_states == (True, False)
    assert outputs.stim_step == DEFAULT_STIM_STEP and outputs.triggers.enabled == ()


def test_set_key_fires_on_the_transition_it_waits_for() -> None:
    bank = StimBank([0, 1, 2])
    common = {"enabled": True, "trigger_source_is_keypress": True, "trigger_source_idx": 2}
    bank.set({"stim_sys_chan_idx": 0, **common})  # edge, rising
    bank.set({"stim_sys_chan_idx": 1, **common, "trigger_high_or_low": "ST_LOW"})
    bank.set({"stim_sys_chan_idx": 2, **common, "trigger_edge_or_level": "ST_LEVEL"})
    down = bank.set_key(2, True, 30000.0, 0)
    assert down.fired == (0, 2) and down.level is True
    assert bank.set_key(2, True, 30000.0, 10_000).fired == ()  # no transition
    up = bank.set_key(2, False, 30000.0, 20_000)
    assert up.fired == (1,) and bank.key_level(2) is False
    with pytest.raises(InvalidArgument):
        bank.set_key(9, True, 30000.0, 0)
    with pytest.raises(InvalidArgument):
        bank.set_key(2, 1, 30000.0, 0)  # type: ignore[arg-type]
