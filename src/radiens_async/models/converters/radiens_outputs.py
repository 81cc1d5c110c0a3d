"""Radiens protocol stimulation, digital-out and analog-out messages <-> the documented dicts.

Stimulation durations are µs on the wire and the refractory period ms (radiens-core converts
only that field: "backend expects ms for this field only"), as the documented keys say. A
channel not triggered by a keypress names its digital input by **sys index** on the wire
(radiens-core: "the system channel index of an AIN or DIN channel"); the documented
``trigger_source_idx`` is that input's ntv index, so the converters take the DIN index map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from radiens_async._generated.allego import allegoserver_pb2
from radiens_async.models.stim_params import BOOL_KEYS, ENUM_KEYS, INT_KEYS

__all__ = [
    "STIM_FIELDS",
    "analog_out_to_dict",
    "dio_register_to_dict",
    "stim_params_from_proto",
    "stim_params_to_proto",
    "stim_reply_to_dict",
]

STIM_FIELDS: Final[dict[str, str]] = {
    "stim_shape": "stimShape",
    "stim_polarity": "stimPolarity",
    "first_phase_duration_us": "firstPhaseDuration",
    "second_phase_duration_us": "secondPhaseDuration",
    "interphase_delay_us": "interphaseDelay",
    "first_phase_amplitude_uA": "firstPhaseAmplitude",
    "second_phase_amplitude_uA": "secondPhaseAmplitude",
    "baseline_voltage": "baselineVoltage",
    "trigger_edge_or_level": "triggerEdgeOrLevel",
    "trigger_high_or_low": "triggerHighOrLow",
    "enabled": "enabled",
    "post_trigger_delay_us": "postTriggerDelay",
    "pulse_or_train": "pulseOrTrain",
    "number_of_stim_pulses": "numberOfStimPulses",
    "pulse_train_period_us": "pulseTrainPeriod",
    "refactory_period_ms": "refractoryPeriod",
    "pre_stim_amp_settle_us": "preStimAmpSettle",
    "post_stim_amp_settle_us": "postStimAmpSettle",
    "maintain_amp_settle_us": "maintainAmpSettle",
    "enable_amp_settle": "enableAmpSettle",
    "post_stim_charge_recovery_on_us": "postStimChargeRecovOn",
    "post_stim_charge_recovery_off_us": "postStimChargeRecovOff",
    "enable_charge_recovery": "enableChargeRecovery",
    "trigger_source_is_keypress": "triggerSourceIsKeypress",
    "trigger_source_idx": "triggerSourceIdx",
    "stim_sys_chan_idx": "stimSysChanIdx",
}
"""Documented key -> ``allego.StimParams`` field."""


def stim_params_from_proto(
    msg: allegoserver_pb2.StimParams, din_ntv_of_sys: Mapping[int, int] | None = None
) -> dict[str, Any]:
    """One channel's ``StimParams`` as the documented 26-key dict (enums as ints).

    ``din_ntv_of_sys`` maps a digital input's sys index to its ntv index (a sys index that is
    not a known input is kept as it is).
    """
    out: dict[str, Any] = {}
    for key, field in STIM_FIELDS.items():
        value = getattr(msg, field)
        if key in BOOL_KEYS:
            out[key] = bool(value)
        elif key in ENUM_KEYS or key in INT_KEYS:
            out[key] = int(value)
        else:
            out[key] = float(value)
    if not out["trigger_source_is_keypress"] and din_ntv_of_sys:
        src = out["trigger_source_idx"]
        out["trigger_source_idx"] = din_ntv_of_sys.get(src, src)
    return out


def stim_params_to_proto(
    params: Mapping[str, Any], din_sys_of_ntv: Mapping[int, int] | None = None
) -> allegoserver_pb2.StimParams:
    """A complete documented dict (every key) as a complete ``StimParams``.

    ``din_sys_of_ntv`` maps a digital input's ntv index to the sys index the wire carries.
    """
    msg = allegoserver_pb2.StimParams()
    for key, field in STIM_FIELDS.items():
        value = params[key]
        if key == "trigger_source_idx" and not params["trigger_source_is_keypress"]:
            value = (din_sys_of_ntv or {}).get(int(value), int(value))
        elif key in BOOL_KEYS:
            value = bool(value)
        elif key in ENUM_KEYS or key in INT_KEYS:
            value = int(value)
        else:
            value = float(value)
        setattr(msg, field, value)
    return msg


def stim_reply_to_dict(
    msg: allegoserver_pb2.StimParamsReply, din_ntv_of_sys: Mapping[int, int] | None = None
) -> dict[int, dict[str, Any]]:
    """``GetStimParams`` as ``{stim_sys_chan_idx: params}``, sorted by channel."""
    return {
        int(idx): stim_params_from_proto(p, din_ntv_of_sys)
        for idx, p in sorted(msg.params.items(), key=lambda kv: kv[0])
    }


def dio_register_to_dict(msg: allegoserver_pb2.DigitalOutRegister) -> dict[str, Any]:
    """``GetDIOReg`` as ``{'digital_outs_mode': 'MANUAL', 'states': [{'chan_idx', 'state'}]}``."""
    return {
        "digital_outs_mode": allegoserver_pb2.DIOMode.Name(msg.mode).upper(),
        "states": [
            {"chan_idx": int(r.ntvChanIdx), "state": bool(r.manualState)}
            for r in msg.doutChanRegisters
        ],
    }


def analog_out_to_dict(msg: allegoserver_pb2.AnalogOutRegister) -> dict[str, Any]:
    """``GetDACReg`` as the documented ``get_analog_out_settings`` dict."""
    return {
        "dac": [
            {
                "amp_ntv_chan_idx": int(d.PriNtvChanIdx),
                "aout_ntv_chan_idx": int(d.AnalogOutNtvChanIdx),
                "stream": int(d.Stream),
                "stream_offset_idx": int(d.StreamOffsetIdx),
            }
            for d in msg.analogOutChannels
        ],
        "gain": int(msg.gain),
        "high_pass": {
            "enable": bool(msg.highpassReg.enable),
            "cutoff_freq": float(msg.highpassReg.cutoffFreq),
        },
    }
