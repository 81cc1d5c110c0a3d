"""Stimulation parameters the Allego tests share (both protocols)."""

from __future__ import annotations

from typing import Any

EVERY_FIELD: dict[str, Any] = {
    "stim_sys_chan_idx": 6,
    "stim_shape": 1,
    "stim_polarity": 1,
    "first_phase_duration_us": 120.0,
    "second_phase_duration_us": 60.0,
    "interphase_delay_us": 50.0,
    "first_phase_amplitude_uA": 5.0,
    "second_phase_amplitude_uA": 10.0,
    "baseline_voltage": -0.25,
    "trigger_edge_or_level": 1,
    "trigger_high_or_low": 1,
    "enabled": True,
    "post_trigger_delay_us": 200.0,
    "pulse_or_train": 1,
    "number_of_stim_pulses": 3,
    "pulse_train_period_us": 2000.0,
    "refactory_period_ms": 5.0,
    "pre_stim_amp_settle_us": 10.0,
    "post_stim_amp_settle_us": 20.0,
    "maintain_amp_settle_us": True,
    "enable_amp_settle": True,
    "post_stim_charge_recovery_on_us": 30.0,
    "post_stim_charge_recovery_off_us": 40.0,
    "enable_charge_recovery": True,
    "trigger_source_is_keypress": True,
    "trigger_source_idx": 2,
}
"""Channel 6 with every documented stim key set away from its default."""
