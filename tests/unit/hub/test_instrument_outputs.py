"""Digital out, analog out and the output state a device keeps across simulators and restarts."""

from __future__ import annotations

import math

import pytest

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.instrument_outputs import AnalogOutSettings, InstrumentOutputs


def test_digital_outs_change_together_and_refuse_non_bools() -> None:
    device = AllegoDevice()
    outputs = device.outputs
    assert outputs.dout_states == (False, False) and outputs.dout_mode.name == "MANUAL"
    sample = outputs.set_digital_outs({0: True, 1: True})
    assert sample == device.simulator.next_sample == 0
    assert device.simulator.digital_out_state == (True, True)
    for bad in ({0: 1}, {1: "on"}, {2: True}, {-1: False}, {True: True}):
        with pytest.raises(InvalidArgument):
            outputs.set_digital_outs(bad)  # type: ignore[arg-type]
    assert outputs.dout_states == (True, True)
    assert device.simulator.digital_out_state == (True, True)


def test_outputs_survive_rate_and_sensor_changes_and_new_streams_but_not_restart() -> None:
    device = AllegoDevice()
    device.outputs.set_digital_outs({1: True})
    device.outputs.stim.set({"stim_sys_chan_idx": 3, "enabled": True})
    device.outputs.set_analog_out_high_pass(300.0, True)
    device.set_sampling_freq(20000)
    device.set_sensor("A", "passthrough_32", "buz32")
    assert device.simulator.digital_out_state == (False, True)
    assert device.outputs.stim.get()[3]["enabled"] is True
    device.set_streaming(True)
    try:
        assert device.simulator.digital_out_state == (False, True)
    finally:
        device.set_streaming(False)
    device.restart(2)
    assert device.outputs.dout_states == (False, False)
    assert device.outputs.stim.get()[3]["enabled"] is False
    assert device.outputs.analog_out == AnalogOutSettings.default()


def test_analog_out_high_pass_is_validated_against_nyquist() -> None:
    outputs = AllegoDevice().outputs
    assert outputs.set_analog_out_high_pass(500, True).as_dict()["high_pass"] == {
        "enable": True,
        "cutoff_freq": 500.0,
    }
    for cutoff, enable in (
        (-1.0, True),
        (math.nan, True),
        (math.inf, False),
        (15000.0, True),
        ("500", True),
        (True, True),
        (500.0, 1),
    ):
        with pytest.raises(InvalidArgument):
            outputs.set_analog_out_high_pass(cutoff, enable)
    assert outputs.analog_out.high_pass_cutoff_freq == 500.0


def test_analog_out_dict_round_trip() -> None:
    settings = AnalogOutSettings.default().with_high_pass(250.0, True, 30000.0)
    assert AnalogOutSettings.from_dict(settings.as_dict(), 30000.0, 32) == settings
    with pytest.raises(InvalidArgument, match="malformed"):
        AnalogOutSettings.from_dict({"dac": []}, 30000.0, 32)


def test_stim_trigger_needs_a_stream() -> None:
    device = AllegoDevice()
    with pytest.raises(FailedPrecondition, match="streaming is off"):
        device.outputs.manual_stim_trigger(1, streaming=False)
    with pytest.raises(FailedPrecondition, match="no device"):
        InstrumentOutputs().set_digital_outs({0: True})


def test_analog_out_high_pass_follows_a_lower_sampling_rate() -> None:
    device = AllegoDevice()
    device.outputs.set_analog_out_high_pass(10_000.0, True)
    device.set_sampling_freq(1000)
    hp = device.outputs.analog_out.as_dict()["high_pass"]
    assert hp == {"enable": True, "cutoff_freq": 450.0}  # below the new Nyquist (500 Hz)
