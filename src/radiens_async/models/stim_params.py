"""The documented stimulation-parameter dict: its 26 keys, their types, defaults and validation.

``get_stim_params()`` returns ``{stim_sys_chan_idx: {key: value}}`` and ``set_stim_params``
takes one such dict (``stim_sys_chan_idx`` required, any other key optional: a key left out keeps
the channel's current value). The key names are the documented ones, misspellings included
(``refactory_period_ms``; ``maintain_amp_settle_us`` is a bool).

Defaults are the documented API's code-level fallback (``DEFAULT_STIM_PARAMS``): biphasic,
cathodic first, 100 µs phases and interphase delay, zero amplitudes, edge / high trigger, disabled,
a single pulse (a train would have 2 pulses every 10 000 µs), refractory 1 ms, every settle and
recovery value 0 / False, trigger source 0 (not keypress). The two docstrings of the old client
disagree with each other on some of these (a [QUIRK] of the spec); this is the set its code used.

Validation is complete and pure (it never touches state): :func:`checked_update` returns the
merged dict or raises :class:`~radiens_async.errors.InvalidArgument` naming the bad key, so a
refused update changes nothing. The client runs it before sending and the hub runs it again.

Examples
--------
>>> p = checked_update(default_stim_params(6), {"stim_sys_chan_idx": 6, "enabled": True,
...                    "stim_shape": "BIPHASIC_INTERPHASE_DELAY"})
>>> p["enabled"], p["stim_shape"], p["first_phase_duration_us"]
(True, 1, 100.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import IntEnum
from typing import Any, Final

from radiens_async.errors import InvalidArgument


class StimShape(IntEnum):
    """Stimulus waveform shape."""

    BIPHASIC = 0
    BIPHASIC_INTERPHASE_DELAY = 1
    TRIPHASIC = 2
    MONOPHASIC = 3


class StimPolarity(IntEnum):
    """Which phase comes first."""

    CATHODIC_FIRST = 0
    ANODIC_FIRST = 1


class TriggerEdgeOrLevel(IntEnum):
    """Fire on an edge of the trigger source, or while it is at a level."""

    ST_EDGE = 0
    ST_LEVEL = 1


class TriggerHighOrLow(IntEnum):
    """Which edge / level of the trigger source fires."""

    ST_HIGH = 0
    ST_LOW = 1


class PulseOrTrain(IntEnum):
    """One pulse per trigger, or a train of ``number_of_stim_pulses``."""

    SINGLE_PULSE = 0
    PULSE_TRAIN = 1


ENUM_KEYS: Final[dict[str, type[IntEnum]]] = {
    "stim_shape": StimShape,
    "stim_polarity": StimPolarity,
    "trigger_edge_or_level": TriggerEdgeOrLevel,
    "trigger_high_or_low": TriggerHighOrLow,
    "pulse_or_train": PulseOrTrain,
}
BOOL_KEYS: Final = (
    "enabled",
    "maintain_amp_settle_us",
    "enable_amp_settle",
    "enable_charge_recovery",
    "trigger_source_is_keypress",
)
DURATION_KEYS: Final = (
    "first_phase_duration_us",
    "second_phase_duration_us",
    "interphase_delay_us",
    "post_trigger_delay_us",
    "pulse_train_period_us",
    "refactory_period_ms",
    "pre_stim_amp_settle_us",
    "post_stim_amp_settle_us",
    "post_stim_charge_recovery_on_us",
    "post_stim_charge_recovery_off_us",
)
AMPLITUDE_KEYS: Final = ("first_phase_amplitude_uA", "second_phase_amplitude_uA")
INT_KEYS: Final = ("number_of_stim_pulses", "trigger_source_idx", "stim_sys_chan_idx")

STIM_KEYS: Final = (
    "stim_shape",
    "stim_polarity",
    "first_phase_duration_us",
    "second_phase_duration_us",
    "interphase_delay_us",
    "first_phase_amplitude_uA",
    "second_phase_amplitude_uA",
    "baseline_voltage",
    "trigger_edge_or_level",
    "trigger_high_or_low",
    "enabled",
    "post_trigger_delay_us",
    "pulse_or_train",
    "number_of_stim_pulses",
    "pulse_train_period_us",
    "refactory_period_ms",
    "pre_stim_amp_settle_us",
    "post_stim_amp_settle_us",
    "maintain_amp_settle_us",
    "enable_amp_settle",
    "post_stim_charge_recovery_on_us",
    "post_stim_charge_recovery_off_us",
    "enable_charge_recovery",
    "trigger_source_is_keypress",
    "trigger_source_idx",
    "stim_sys_chan_idx",
)
"""The 26 documented keys, in the documented order."""

MAX_AMPLITUDE_UA: Final = 2550.0
"""Largest phase amplitude (µA): the top of the Intan stimulator range (255 steps of 10 µA)."""
MAX_DURATION_US: Final = 10_000_000.0
"""Longest duration or delay (10 s), a guard against unit mix-ups."""
MAX_REFRACTORY_MS: Final = 10_000.0
MAX_BASELINE_V: Final = 10.0
MAX_PULSES: Final = 256
MAX_TRIGGER_SOURCE: Final = 15
KEYPRESS_TRIGGERS: Final = range(1, 9)
"""Manual (keypress) triggers are numbered 1..8."""

_DEFAULTS: Final[dict[str, Any]] = {
    "stim_shape": 0,
    "stim_polarity": 0,
    "first_phase_duration_us": 100.0,
    "second_phase_duration_us": 100.0,
    "interphase_delay_us": 100.0,
    "first_phase_amplitude_uA": 0.0,
    "second_phase_amplitude_uA": 0.0,
    "baseline_voltage": 0.0,
    "trigger_edge_or_level": 0,
    "trigger_high_or_low": 0,
    "enabled": False,
    "post_trigger_delay_us": 0.0,
    "pulse_or_train": 0,
    "number_of_stim_pulses": 2,
    "pulse_train_period_us": 10000.0,
    "refactory_period_ms": 1.0,
    "pre_stim_amp_settle_us": 0.0,
    "post_stim_amp_settle_us": 0.0,
    "maintain_amp_settle_us": False,
    "enable_amp_settle": False,
    "post_stim_charge_recovery_on_us": 0.0,
    "post_stim_charge_recovery_off_us": 0.0,
    "enable_charge_recovery": False,
    "trigger_source_is_keypress": False,
    "trigger_source_idx": 0,
}


def default_stim_params(stim_sys_chan_idx: int) -> dict[str, Any]:
    """The default parameters of stim channel ``stim_sys_chan_idx`` (a fresh dict).

    Examples
    --------
    >>> default_stim_params(3)["number_of_stim_pulses"]
    2
    """
    return {**_DEFAULTS, "stim_sys_chan_idx": int(stim_sys_chan_idx)}


def _is_number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _check_enum(key: str, value: object) -> int:
    enum = ENUM_KEYS[key]
    if isinstance(value, str):
        try:
            return int(enum[value.strip().upper()])
        except KeyError:
            names = ", ".join(m.name for m in enum)
            raise InvalidArgument(f"{key}: unknown name {value!r}; expected {names}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{key} must be an int or a name, got {value!r}")
    try:
        return int(enum(value))
    except ValueError:
        valid = ", ".join(f"{m.name}={m.value}" for m in enum)
        raise InvalidArgument(f"{key}: invalid value {value}; expected {valid}") from None


def _check_float(key: str, value: object, low: float, high: float) -> float:
    if not _is_number(value):
        raise InvalidArgument(f"{key} must be a number, got {value!r}")
    x = float(value)  # type: ignore[arg-type]
    if not math.isfinite(x):
        raise InvalidArgument(f"{key} must be finite, got {x!r}")
    if not low <= x <= high:
        raise InvalidArgument(f"{key} must be in [{low:g}, {high:g}], got {x:g}")
    return x


def _check_int(key: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidArgument(f"{key} must be an int, got {value!r}")
    if not low <= value <= high:
        raise InvalidArgument(f"{key} must be in [{low}, {high}], got {value}")
    return int(value)


def check_value(key: str, value: object) -> Any:
    """Validate and normalize one parameter (names -> ints, ints -> floats where documented).

    Raises
    ------
    InvalidArgument
        An unknown key, a wrong type, a negative or non-finite duration or amplitude, a value
        out of range.

    Examples
    --------
    >>> check_value("stim_polarity", "anodic_first"), check_value("interphase_delay_us", 50)
    (1, 50.0)
    """
    if key in ENUM_KEYS:
        return _check_enum(key, value)
    if key in BOOL_KEYS:
        if not isinstance(value, bool):
            raise InvalidArgument(f"{key} must be True or False, got {value!r}")
        return value
    if key == "refactory_period_ms":
        return _check_float(key, value, 0.0, MAX_REFRACTORY_MS)
    if key in DURATION_KEYS:
        return _check_float(key, value, 0.0, MAX_DURATION_US)
    if key in AMPLITUDE_KEYS:
        return _check_float(key, value, 0.0, MAX_AMPLITUDE_UA)
    if key == "baseline_voltage":
        return _check_float(key, value, -MAX_BASELINE_V, MAX_BASELINE_V)
    if key == "number_of_stim_pulses":
        return _check_int(key, value, 1, MAX_PULSES)
    if key == "trigger_source_idx":
        return _check_int(key, value, 0, MAX_TRIGGER_SOURCE)
    if key == "stim_sys_chan_idx":
        return _check_int(key, value, 0, 2**31 - 1)
    raise InvalidArgument(f"unknown stim parameter {key!r}; valid keys: {', '.join(STIM_KEYS)}")


def checked_request(param_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a ``set_stim_params`` request: a mapping with ``stim_sys_chan_idx`` and known keys.

    Returns the normalized request (only the keys given). The caller's mapping is not changed.

    Raises
    ------
    InvalidArgument
        Not a mapping, no ``stim_sys_chan_idx``, an unknown key or a bad value.
    """
    if not isinstance(param_dict, Mapping):
        raise InvalidArgument(f"param_dict must be a dict, got {type(param_dict).__name__}")
    if "stim_sys_chan_idx" not in param_dict:
        raise InvalidArgument("Required key stim_sys_chan_idx not found in request.")
    unknown = [k for k in param_dict if k not in STIM_KEYS]
    if unknown:
        raise InvalidArgument(
            f"unknown stim parameter(s) {', '.join(repr(k) for k in unknown)}; "
            f"valid keys: {', '.join(STIM_KEYS)}"
        )
    return {key: check_value(key, value) for key, value in param_dict.items()}


def check_consistency(params: Mapping[str, Any]) -> None:
    """Cross-field rules of a complete parameter set.

    A pulse train must leave room for each pulse: its period must be longer than one pulse
    (phases, interphase delays); the charge-recovery switch must open after it closes.

    Raises
    ------
    InvalidArgument
        Naming the rule that is broken.
    """
    if params["pulse_or_train"] == PulseOrTrain.PULSE_TRAIN:
        width = pulse_width_us(params)
        if params["pulse_train_period_us"] <= width:
            raise InvalidArgument(
                f"pulse_train_period_us ({params['pulse_train_period_us']:g}) must be longer "
                f"than one pulse ({width:g} us)"
            )
    on, off = params["post_stim_charge_recovery_on_us"], params["post_stim_charge_recovery_off_us"]
    if params["enable_charge_recovery"] and off < on:
        raise InvalidArgument(
            f"post_stim_charge_recovery_off_us ({off:g}) must not precede "
            f"post_stim_charge_recovery_on_us ({on:g})"
        )


def pulse_width_us(params: Mapping[str, Any]) -> float:
    """Duration of one pulse (all phases and interphase delays) in µs."""
    d1, d2 = params["first_phase_duration_us"], params["second_phase_duration_us"]
    gap = params["interphase_delay_us"]
    shape = params["stim_shape"]
    if shape == StimShape.MONOPHASIC:
        return float(d1)
    if shape == StimShape.BIPHASIC:
        return float(d1 + d2)
    if shape == StimShape.BIPHASIC_INTERPHASE_DELAY:
        return float(d1 + gap + d2)
    return float(2 * d1 + d2 + 2 * gap)  # TRIPHASIC


def checked_update(current: Mapping[str, Any], param_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with the validated keys of ``param_dict`` applied (a new dict).

    Raises
    ------
    InvalidArgument
        For any bad key or value, or a broken cross-field rule; ``current`` is not changed.
    """
    request = checked_request(param_dict)
    if request["stim_sys_chan_idx"] != current["stim_sys_chan_idx"]:
        raise InvalidArgument(
            f"stim_sys_chan_idx {request['stim_sys_chan_idx']} does not match the channel "
            f"being updated ({current['stim_sys_chan_idx']})"
        )
    merged = {**current, **request}
    check_consistency(merged)
    return {key: merged[key] for key in STIM_KEYS}
