"""Radiens protocol (``allego``) status and configuration messages <-> our Allego models.

``get_status`` over the Radiens protocol reads ``GetConfigAndStatus`` (streaming, recording,
ports, GPIO counts, sample rate, cable delays, backbone mode) and ``GetConfig`` (the stream loop
duration, which only the core configuration carries).
"""

from __future__ import annotations

from typing import Final

from radiens_async._generated.allego import allegoserver_pb2
from radiens_async.errors import InvalidArgument, NotSupported
from radiens_async.models.allego_state import AllegoState, CableDelaySpec, RecordingConfig
from radiens_async.utils.enums import Port, SystemMode

__all__ = [
    "backbone_mode_of",
    "config_recording_to_proto",
    "recording_config_to_model",
    "status_to_model",
    "system_mode_of",
]

# Our SystemMode numbers are the published BackboneMode numbers wherever both have the mode;
# the name is the key, and a test checks that every shared name carries the same number.
_BACKBONE_BY_NAME: Final = dict(allegoserver_pb2.BackboneMode.items())


def backbone_mode_of(mode: SystemMode) -> int:
    """The ``allego.BackboneMode`` value of a system mode.

    Raises
    ------
    NotSupported
        For our simulator modes that an Allego does not have (``SMARTBOX_SIM_GEN_SINE_MAPPED``,
        ``..._HIGH_FREQ``, ``..._MULTI_BAND``: only our hub's ``radiens.v1`` offers them).

    Examples
    --------
    >>> backbone_mode_of(SystemMode.SMARTBOX_SIM_GEN_SPIKES)
    2
    """
    value = _BACKBONE_BY_NAME.get(mode.name)
    if value is None:
        raise NotSupported(
            f"restart({mode.name.lower()!r})",
            "Radiens",
            "an Allego has no such mode; it is a mode of our hub's simulator (radiens.v1)",
        )
    return int(value)


def system_mode_of(backbone_mode: int) -> SystemMode:
    """Our :class:`SystemMode` of a reported ``allego.BackboneMode`` value.

    Raises
    ------
    InvalidArgument
        ``"Invalid SystemMode value: <x>"`` for a backbone mode the documented API has no
        member for (``SMARTBOX_SIM_DATASOURCE``, ``XDAQ_GEN2_*``, ``SMARTBOX_SIM_GEN_LFP`` ...),
        as the documented client raises.

    Examples
    --------
    >>> system_mode_of(1)
    <SystemMode.SMARTBOX_SIM_GEN_SINE: 1>
    """
    try:
        name = allegoserver_pb2.BackboneMode.Name(backbone_mode)
    except ValueError:
        name = ""
    if name not in SystemMode.__members__:
        raise InvalidArgument(f"Invalid SystemMode value: {backbone_mode}")
    return SystemMode[name]


def _cable_delays(
    msg: allegoserver_pb2.CableDelays,
) -> dict[Port | str | int, CableDelaySpec | None]:
    out: dict[Port | str | int, CableDelaySpec | None] = {}
    for delay in msg.cableDelays.values():
        out[Port(delay.port)] = CableDelaySpec(delay=int(delay.cableDelay), is_auto=delay.isAuto)
    return out


def status_to_model(
    status: allegoserver_pb2.ConfigAndStatus, config: allegoserver_pb2.ConfigCore
) -> AllegoState:
    """``GetConfigAndStatus`` + ``GetConfig`` as the documented :class:`AllegoState`.

    Parameters
    ----------
    status : allegoserver_pb2.ConfigAndStatus
        Streaming, recording, ports, GPIO counts, sample rate, cable delays and mode.
    config : allegoserver_pb2.ConfigCore
        The core configuration (its stream loop duration).

    Returns
    -------
    AllegoState
        ``cable_length_ft`` is None for every port (Allego no longer reports it).
    """
    cache = list(status.streaming.primaryCacheTRange)
    gpio = status.gpioChannelCount
    return AllegoState.build(
        stream_mode=int(status.streaming.streamMode),
        time_range=([*cache, 0.0, 0.0])[:2],
        hw_mem_level=status.streaming.hardwareMemoryLevel,
        recording_on=int(status.recording.recordMode),
        active_file_name=status.recording.activeFileName,
        dur_sec=status.recording.duration,
        error=status.recording.error,
        sample_freq=status.baseSampFreq,
        system_mode=system_mode_of(status.backboneMode),
        port_num_channels={Port(p.port): p.channelCount for p in status.ports},
        gpio=(gpio.nAux, gpio.nDin, gpio.nDout),
        stream_loop_dur_ms=float(config.streamLoopDurMs),
        cable_delay_spec=_cable_delays(status.cableDelays),
        connected=status.isConnected,
    )


def recording_config_to_model(msg: allegoserver_pb2.ConfigRecording) -> RecordingConfig:
    """``GetConfigRecording`` as :class:`RecordingConfig`."""
    return RecordingConfig(
        path=msg.baseFilePath,
        base_name=msg.baseFileName,
        index=msg.dataSourceIdx,
        time_stamp=msg.timeStamp,
    )


def config_recording_to_proto(
    config: RecordingConfig, current: allegoserver_pb2.ConfigRecording | None = None
) -> allegoserver_pb2.ConfigRecording:
    """A ``SetConfigRecording`` request for ``config``.

    The settings the documented API has no words for (recording type, split by port, force
    start at timestamp 0) keep their ``current`` values, so setting the file name never turns a
    spikes recording into a continuous one.
    """
    msg = allegoserver_pb2.ConfigRecording(
        baseFileName=config.base_name,
        baseFilePath=config.path,
        dataSourceIdx=config.index,
        timeStamp=config.time_stamp,
        recordingType=allegoserver_pb2.continuous,
    )
    if current is not None:
        msg.recordingType = current.recordingType
        if current.HasField("splitFilesByPort"):
            msg.splitFilesByPort = current.splitFilesByPort
        if current.HasField("forceStartAtTStamp0"):
            msg.forceStartAtTStamp0 = current.forceStartAtTStamp0
    return msg
