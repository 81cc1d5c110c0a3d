"""The documented stim-parameter dict: keys, defaults, validation (pure, no hub)."""

from __future__ import annotations

import math

import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.models.stim_params import (
    STIM_KEYS,
    check_value,
    checked_request,
    checked_update,
    default_stim_params,
)


def test_the_26_documented_keys_and_defaults() -> None:
    p = default_stim_params(6)
    assert list(p) == list(STIM_KEYS) and len(STIM_KEYS) == 26
    assert p["stim_sys_chan_idx"] == 6
    assert (p["stim_shape"], p["stim_polarity"]) == (0, 0)
    assert p["first_phase_duration_us"] == p["second_phase_duration_us"] == 100.0
    assert p["interphase_delay_us"] == 100.0
    assert p["number_of_stim_pulses"] == 2 and p["pulse_train_period_us"] == 10000.0
    assert p["refactory_period_ms"] == 1.0 and p["enabled"] is False
    assert p["maintain_amp_settle_us"] is False  # a bool despite its name
    assert p["trigger_source_is_keypress"] is False and p["trigger_source_idx"] == 0


def test_update_keeps_unspecified_keys_and_normalizes_names() -> None:
    current = default_stim_params(3)
    request = {
        "stim_sys_chan_idx": 3,
        "stim_shape": "triphasic",
        "enabled": True,
        "number_of_stim_pulses": 4.0,
    }
    merged = checked_update(current, request)
    assert merged["stim_shape"] == 2 and merged["enabled"] is True
    assert merged["number_of_stim_pulses"] == 4 and isinstance(merged["number_of_stim_pulses"], int)
    assert merged["first_phase_duration_us"] == 100.0
    assert request["stim_shape"] == "triphasic" and "stim_polarity" not in request  # not mutated
    assert current == default_stim_params(3)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("first_phase_duration_us", -1.0, "must be in"),
        ("interphase_delay_us", math.nan, "finite"),
        ("post_trigger_delay_us", math.inf, "finite"),
        ("refactory_period_ms", -0.5, "must be in"),
        ("first_phase_amplitude_uA", -10.0, "must be in"),
        ("second_phase_amplitude_uA", math.nan, "finite"),
        ("second_phase_amplitude_uA", 1e9, "must be in"),
        ("first_phase_amplitude_uA", "10", "must be a number"),
        ("first_phase_amplitude_uA", True, "must be a number"),
        ("enabled", 1, "True or False"),
        ("enabled", "yes", "True or False"),
        ("stim_shape", 7, "invalid value"),
        ("stim_shape", "square", "unknown name"),
        ("stim_polarity", 1.5, "int or a name"),
        ("number_of_stim_pulses", 0, "must be in"),
        ("number_of_stim_pulses", 2.5, "must be an int"),
        ("trigger_source_idx", -1, "must be in"),
        ("baseline_voltage", math.inf, "finite"),
    ],
)
def test_each_bad_value_is_refused(key: str, value: object, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        checked_request({"stim_sys_chan_idx": 0, key: value})


def test_unknown_keys_and_a_missing_channel_are_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"unknown stim parameter.*'amplitude'"):
        checked_request({"stim_sys_chan_idx": 0, "amplitude": 1.0})
    with pytest.raises(InvalidArgument, match="Required key stim_sys_chan_idx"):
        checked_request({"enabled": True})
    with pytest.raises(InvalidArgument, match="must be a dict"):
        checked_request([("stim_sys_chan_idx", 0)])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="unknown stim parameter"):
        check_value("nope", 1)


def test_cross_field_rules() -> None:
    p = default_stim_params(0)
    with pytest.raises(InvalidArgument, match="pulse_train_period_us"):
        checked_update(
            p, {"stim_sys_chan_idx": 0, "pulse_or_train": 1, "pulse_train_period_us": 150.0}
        )
    with pytest.raises(InvalidArgument, match="charge_recovery_off_us"):
        checked_update(
            p,
            {
                "stim_sys_chan_idx": 0,
                "enable_charge_recovery": True,
                "post_stim_charge_recovery_on_us": 50.0,
                "post_stim_charge_recovery_off_us": 10.0,
            },
        )
    with pytest.raises(InvalidArgument, match="does not match"):
        checked_update(p, {"stim_sys_chan_idx": 1})
