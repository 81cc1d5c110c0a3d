"""Stimulation, digital-out and analog-out messages <-> the documented dicts and models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radiens_async._generated.radiens.v1 import allego_pb2
from radiens_async.models.instrument_outputs import StimTrigger
from radiens_async.models.stim_params import BOOL_KEYS, ENUM_KEYS, INT_KEYS, STIM_KEYS


def stim_params_to_proto(params: Mapping[str, Any]) -> allego_pb2.StimChannelParams:
    """A (validated, possibly partial) parameter dict as a message; absent keys stay unset."""
    msg = allego_pb2.StimChannelParams(stim_sys_chan_idx=int(params["stim_sys_chan_idx"]))
    for key, value in params.items():
        if key != "stim_sys_chan_idx":
            setattr(msg, key, value)
    return msg


def stim_params_from_proto(msg: allego_pb2.StimChannelParams) -> dict[str, Any]:
    """The keys a message carries, typed as documented (ints, floats, bools)."""
    out: dict[str, Any] = {}
    for key in STIM_KEYS:
        if key == "stim_sys_chan_idx" or msg.HasField(key):
            value = getattr(msg, key)
            if key in BOOL_KEYS:
                out[key] = bool(value)
            elif key in ENUM_KEYS or key in INT_KEYS:
                out[key] = int(value)
            else:
                out[key] = float(value)
    return out


def stim_reply_to_dict(msg: allego_pb2.StimParamsReply) -> dict[int, dict[str, Any]]:
    """``{stim_sys_chan_idx: params}`` (the documented ``get_stim_params`` result)."""
    return {int(c.stim_sys_chan_idx): stim_params_from_proto(c) for c in msg.channels}


def stim_trigger_to_model(msg: allego_pb2.StimTriggerReply) -> StimTrigger:
    return StimTrigger(
        sample_index=msg.sample_index,
        fired_sys_chan_idxs=tuple(msg.fired_sys_chan_idxs),
        first_pulse_sample=tuple(msg.first_pulse_sample),
        refractory_sys_chan_idxs=tuple(msg.refractory_sys_chan_idxs),
        trigger_level=msg.trigger_level,
        stream_epoch=msg.stream_epoch,
    )


def dout_states_to_dict(msg: allego_pb2.DigitalOutStatesReply) -> dict[str, Any]:
    """The documented ``{'digital_outs_mode': ..., 'states': [{'chan_idx', 'state'}, ...]}``."""
    return {
        "digital_outs_mode": msg.digital_outs_mode,
        "states": [{"chan_idx": int(s.chan_idx), "state": bool(s.state)} for s in msg.states],
    }


def analog_out_to_proto(settings: Mapping[str, Any]) -> allego_pb2.AnalogOutSettings:
    """The documented analog-out dict as a message."""
    return allego_pb2.AnalogOutSettings(
        dac=[
            allego_pb2.AnalogOutChannel(
                amp_ntv_chan_idx=d["amp_ntv_chan_idx"],
                aout_ntv_chan_idx=d["aout_ntv_chan_idx"],
                stream=d["stream"],
                stream_offset_idx=d["stream_offset_idx"],
            )
            for d in settings["dac"]
        ],
        gain=settings["gain"],
        high_pass_enable=settings["high_pass"]["enable"],
        high_pass_cutoff_freq=settings["high_pass"]["cutoff_freq"],
    )


def analog_out_to_dict(msg: allego_pb2.AnalogOutSettings) -> dict[str, Any]:
    """The documented ``get_analog_out_settings`` dict: ``dac``, ``gain``, ``high_pass``."""
    return {
        "dac": [
            {
                "amp_ntv_chan_idx": int(d.amp_ntv_chan_idx),
                "aout_ntv_chan_idx": int(d.aout_ntv_chan_idx),
                "stream": int(d.stream),
                "stream_offset_idx": int(d.stream_offset_idx),
            }
            for d in msg.dac
        ],
        "gain": int(msg.gain),
        "high_pass": {
            "enable": bool(msg.high_pass_enable),
            "cutoff_freq": float(msg.high_pass_cutoff_freq),
        },
    }
