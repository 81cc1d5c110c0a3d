"""Recording triggers on the Radiens wire (``SetTriggerRequest``, ``TriggerState``) <-> the hub's
:mod:`radiens_async.hub.daq.recording_triggers`.

``TriggerChannel`` numbers digital inputs 0..15 as ``T_DIN_0..15`` (0..15), digital outputs as
``T_DOUT_0..15`` (16..31), and ``T_NONE`` (32) stands for "every trigger" when disabling.
"""

from __future__ import annotations

from typing import Final

from radiens_async._generated.allego import allegoserver_pb2, common_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.recording_triggers import MAX_TRIGGER_NTV, PORTS, RecordingTrigger

_PER_TYPE: Final = MAX_TRIGGER_NTV + 1
T_NONE: Final = int(allegoserver_pb2.T_NONE)


def trigger_channel_from_radiens(channel: int) -> tuple[StreamSignalType, int] | None:
    """``(DIN or DOUT, ntv index)`` of a ``TriggerChannel`` value; None for ``T_NONE``.

    Raises
    ------
    InvalidArgument
        Not a ``TriggerChannel`` value.
    """
    if channel == T_NONE:
        return None
    if 0 <= channel < _PER_TYPE:
        return StreamSignalType.DIN, channel
    if _PER_TYPE <= channel < 2 * _PER_TYPE:
        return StreamSignalType.DOUT, channel - _PER_TYPE
    raise InvalidArgument(f"unknown trigger channel {channel}; expected 0..{T_NONE}")


def trigger_channel_to_radiens(trigger: RecordingTrigger) -> str:
    """The ``TriggerChannel`` name of an enabled trigger."""
    base = 0 if trigger.signal_type == StreamSignalType.DIN else _PER_TYPE
    return allegoserver_pb2.TriggerChannel.Name(base + trigger.ntv_idx)


def port_from_radiens(request: allegoserver_pb2.SetTriggerRequest) -> str:
    """The port letter a request names (A when it names none, as an Allego assigns it)."""
    return PORTS[request.port] if request.HasField("port") else PORTS[0]


def trigger_state_to_radiens(
    triggers: tuple[RecordingTrigger, ...],
) -> allegoserver_pb2.TriggerState:
    """``TriggerState``: the enabled channels and, parallel to them, their ports."""
    return allegoserver_pb2.TriggerState(
        enabledChannels=[trigger_channel_to_radiens(t) for t in triggers],
        ports=[common_pb2.Port.Name(PORTS.index(t.port)) for t in triggers],
    )
