"""Stimulation on the Radiens wire (``allego.StimParams``, ``StimStepMessage``, keypress
triggers) <-> the hub's stimulation domain (:mod:`radiens_async.hub.daq.stimulation`).

The wire carries every duration in µs and the refractory period in ms, as the domain's
documented keys do (``refactory_period_ms``); enum values are the same numbers. Two things
differ:

* ``triggerSourceIdx`` of a channel not triggered by a keypress is the **sys index** of the
  digital input it listens to (radiens-core: "the system channel index of an AIN or DIN
  channel"); the domain keeps the input's ntv index. Analog-input triggers are not simulated.
* Manual trigger requests number keypresses 0..7; the domain numbers them 1..8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from radiens_async._generated.allego import allegoserver_pb2
from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.hub.daq.channel_layout import ChannelLayout, StreamSignalType
from radiens_async.hub.daq.stimulation import StimStep

# wire field -> documented key, for the fields that carry the same value in the same unit
_SAME_VALUE: Final[dict[str, str]] = {
    "stimShape": "stim_shape",
    "stimPolarity": "stim_polarity",
    "firstPhaseDuration": "first_phase_duration_us",
    "secondPhaseDuration": "second_phase_duration_us",
    "interphaseDelay": "interphase_delay_us",
    "firstPhaseAmplitude": "first_phase_amplitude_uA",
    "secondPhaseAmplitude": "second_phase_amplitude_uA",
    "baselineVoltage": "baseline_voltage",
    "triggerEdgeOrLevel": "trigger_edge_or_level",
    "triggerHighOrLow": "trigger_high_or_low",
    "enabled": "enabled",
    "postTriggerDelay": "post_trigger_delay_us",
    "pulseOrTrain": "pulse_or_train",
    "numberOfStimPulses": "number_of_stim_pulses",
    "pulseTrainPeriod": "pulse_train_period_us",
    "refractoryPeriod": "refactory_period_ms",  # ms on the wire too
    "preStimAmpSettle": "pre_stim_amp_settle_us",
    "postStimAmpSettle": "post_stim_amp_settle_us",
    "maintainAmpSettle": "maintain_amp_settle_us",  # a bool, despite the documented name
    "enableAmpSettle": "enable_amp_settle",
    "postStimChargeRecovOn": "post_stim_charge_recovery_on_us",
    "postStimChargeRecovOff": "post_stim_charge_recovery_off_us",
    "enableChargeRecovery": "enable_charge_recovery",
    "triggerSourceIsKeypress": "trigger_source_is_keypress",
    "stimSysChanIdx": "stim_sys_chan_idx",
}
_ENUM_FIELDS: Final = {
    "stimShape": allegoserver_pb2.StimShape,
    "stimPolarity": allegoserver_pb2.StimPolarity,
    "triggerEdgeOrLevel": allegoserver_pb2.StimTriggerEdgeOrLevel,
    "triggerHighOrLow": allegoserver_pb2.StimTriggerHighOrLow,
    "pulseOrTrain": allegoserver_pb2.StimPulseOrTrain,
}
N_KEYPRESS_TRIGGERS: Final = 8


def _din_sys_by_ntv(layout: ChannelLayout) -> dict[int, int]:
    return {c.ntv_idx: c.sys_idx for c in layout.of_type(StreamSignalType.DIN)}


def trigger_source_from_radiens(sys_idx: int, layout: ChannelLayout) -> int:
    """The digital-input ntv index of the channel at ``sys_idx`` (a stim trigger source).

    Raises
    ------
    InvalidArgument
        The channel is not a digital input (analog-input triggers are not simulated).
    NotFound
        The device has no channel ``sys_idx``.
    """
    for c in layout.channels:
        if c.sys_idx == sys_idx:
            if c.signal_type == StreamSignalType.DIN:
                return c.ntv_idx
            if c.signal_type == StreamSignalType.AIN:
                raise InvalidArgument(
                    f"triggerSourceIdx {sys_idx} is analog input {c.chan_name}: analog-input "
                    "stim triggers are not simulated; use a digital input or a keypress"
                )
            raise InvalidArgument(
                f"triggerSourceIdx {sys_idx} is {c.chan_name}, not an AIN or DIN channel"
            )
    dins = ", ".join(str(s) for s in _din_sys_by_ntv(layout).values())
    raise NotFound(
        f"no trigger-source channel with sys index {sys_idx}; the digital inputs are sys {dins}"
    )


def stim_params_from_radiens(
    msg: allegoserver_pb2.StimParams, layout: ChannelLayout
) -> tuple[dict[str, Any], bool | None]:
    """A ``SetStimParams`` request as a documented parameter dict (all 26 keys, not yet
    validated) and its headstage-global amp settle flag (None when the request lacks it)."""
    params: dict[str, Any] = {key: getattr(msg, field) for field, key in _SAME_VALUE.items()}
    if msg.triggerSourceIsKeypress:
        params["trigger_source_idx"] = msg.triggerSourceIdx
    else:
        params["trigger_source_idx"] = trigger_source_from_radiens(msg.triggerSourceIdx, layout)
    global_settle = (
        msg.headstageGlobalAmpSettle if msg.HasField("headstageGlobalAmpSettle") else None
    )
    return params, global_settle


def stim_params_to_radiens(
    params: Mapping[str, Any], headstage_global_amp_settle: bool, layout: ChannelLayout
) -> allegoserver_pb2.StimParams:
    """One channel's parameters as ``allego.StimParams`` (every required field set).

    A digital-input trigger source the device does not have reads as ``triggerSourceIdx``
    -1 (it never fires).
    """
    values: dict[str, Any] = {}
    for field, key in _SAME_VALUE.items():
        enum = _ENUM_FIELDS.get(field)
        values[field] = enum.Name(int(params[key])) if enum is not None else params[key]
    source = int(params["trigger_source_idx"])
    if not params["trigger_source_is_keypress"]:
        source = _din_sys_by_ntv(layout).get(source, -1)
    return allegoserver_pb2.StimParams(
        triggerSourceIdx=source, headstageGlobalAmpSettle=headstage_global_amp_settle, **values
    )


def stim_params_reply(
    params: Mapping[int, Mapping[str, Any]], global_settle: tuple[int, ...], layout: ChannelLayout
) -> allegoserver_pb2.StimParamsReply:
    """``StimParamsReply``: every stim channel's parameters keyed by its sys index."""
    reply = allegoserver_pb2.StimParamsReply()
    for idx, p in params.items():
        reply.params[idx].CopyFrom(stim_params_to_radiens(p, idx in global_settle, layout))
    return reply


def stim_step_to_radiens(step: StimStep) -> allegoserver_pb2.StimStepMessage:
    return allegoserver_pb2.StimStepMessage(stimStep=allegoserver_pb2.StimStep.Name(int(step)))


def keypress_from_radiens(trigger: int) -> int:
    """A wire keypress trigger (0..7) as the domain's keypress number (1..8).

    Raises
    ------
    InvalidArgument
        ``trigger`` is not 0..7.
    """
    if not 0 <= trigger < N_KEYPRESS_TRIGGERS:
        raise InvalidArgument(
            f"trigger must be a keypress trigger 0..{N_KEYPRESS_TRIGGERS - 1} (keypress 1.."
            f"{N_KEYPRESS_TRIGGERS}), got {trigger}"
        )
    return trigger + 1
