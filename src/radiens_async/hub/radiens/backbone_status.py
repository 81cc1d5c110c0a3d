"""The Allego status and configuration messages of the Radiens protocol, built from the device.

``BackboneStatus``, ``ConfigCore``, ``ConfigAndStatus`` and ``ConfigRecording`` carry the same
values our own ``radiens.v1`` status reports (one :class:`DeviceStatus` snapshot feeds each reply),
with every ``required`` field set.
"""

from __future__ import annotations

from radiens_async._generated.allego import allegoserver_pb2, common_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.allego_device import DeviceStatus
from radiens_async.hub.daq.recording_config import RecordingConfig
from radiens_async.hub.daq.sensors_catalog import PORTS


def port_letter(value: int) -> str:
    """The port letter of an ``allego.Port`` value (0 -> ``'A'``).

    Raises
    ------
    InvalidArgument
        For a value outside A..H.
    """
    if not 0 <= value < len(PORTS):
        raise InvalidArgument(f"Invalid Port value: {value}")
    return PORTS[value]


def streaming_status(st: DeviceStatus) -> allegoserver_pb2.StreamingStatus:
    """Stream mode, the stream-time range the live cache holds (s) and the hardware memory level."""
    return allegoserver_pb2.StreamingStatus(
        streamMode=allegoserver_pb2.S_ON if st.streaming else allegoserver_pb2.S_OFF,
        primaryCacheTRange=[st.oldest_sample / st.sample_freq, st.head_sample / st.sample_freq],
        hardwareMemoryLevel=st.hw_mem_level,
    )


def recording_status(st: DeviceStatus) -> allegoserver_pb2.RecordingStatus:
    """Record mode, file name, duration and error of the current (or last) recording.

    Every connected port reports the system's record mode: the hub records all ports into one
    file set.
    """
    mode = allegoserver_pb2.R_ON if st.recording else allegoserver_pb2.R_OFF
    msg = allegoserver_pb2.RecordingStatus(
        recordMode=mode,
        activeFileName=st.active_file_name,
        duration=st.recording_dur_s,
        error=st.recording_error,
    )
    for letter in st.port_num_channels:
        setattr(msg, f"recordModePort{letter}", mode)
    return msg


def port_channel_counts(st: DeviceStatus) -> list[common_pb2.PortChannelCount]:
    """One ``PortChannelCount`` per connected port, in port order."""
    return [
        common_pb2.PortChannelCount(port=letter, channelCount=n)  # the enum names are A..H
        for letter, n in st.port_num_channels.items()
    ]


def gpio_channel_count(st: DeviceStatus) -> common_pb2.GPIOChannelCount:
    """Analog-in (``nAux``), digital-in and digital-out channel counts."""
    return common_pb2.GPIOChannelCount(nAux=st.n_ain, nDin=st.n_din, nDout=st.n_dout)


def backbone_status(st: DeviceStatus) -> allegoserver_pb2.BackboneStatus:
    """``GetStatus``: streaming, recording, ports, connection and GPIO counts."""
    return allegoserver_pb2.BackboneStatus(
        streaming=streaming_status(st),
        recording=recording_status(st),
        ports=port_channel_counts(st),
        isConnected=bool(st.port_num_channels),
        gpioChannelCount=gpio_channel_count(st),
    )


def stream_loop_dur_ms(st: DeviceStatus) -> int:
    """The stream loop duration in whole milliseconds (the wire field is an int32)."""
    return max(1, round(st.stream_loop_dur_ms))


def config_core(
    st: DeviceStatus, backbone_mode: int, core_port: int
) -> allegoserver_pb2.ConfigCore:
    """``GetConfig``: core port, sampling rate, loop duration, cable delays, backbone mode.

    The simulator has no headstage cables, so the cable-delay map is empty (our own protocol
    reports no cable delays either).
    """
    return allegoserver_pb2.ConfigCore(
        allegoCoreServerPort=str(core_port),
        baseSampFreq=st.sample_freq,
        streamLoopDurMs=stream_loop_dur_ms(st),
        cableDelays=allegoserver_pb2.CableDelays(),
        backboneMode=allegoserver_pb2.BackboneMode.Name(backbone_mode),
        hasXDAQGPIOExpander=False,
    )


def config_and_status(st: DeviceStatus, backbone_mode: int) -> allegoserver_pb2.ConfigAndStatus:
    """``GetConfigAndStatus``: the status of :func:`backbone_status` plus the core settings."""
    return allegoserver_pb2.ConfigAndStatus(
        streaming=streaming_status(st),
        recording=recording_status(st),
        ports=port_channel_counts(st),
        isConnected=bool(st.port_num_channels),
        gpioChannelCount=gpio_channel_count(st),
        baseSampFreq=st.sample_freq,
        cableDelays=allegoserver_pb2.CableDelays(),
        backboneMode=allegoserver_pb2.BackboneMode.Name(backbone_mode),
        hasXDAQGPIOExpander=False,
    )


def config_recording(cfg: RecordingConfig) -> allegoserver_pb2.ConfigRecording:
    """``GetConfigRecording``: path, base name, index and timestamp flag of the next recording.

    The hub writes one continuous file set for all ports, its timestamps counting stream samples
    (a ``.spikes`` set goes beside it while the sorter runs).
    """
    return allegoserver_pb2.ConfigRecording(
        baseFileName=cfg.base_name,
        baseFilePath=str(cfg.path),
        dataSourceIdx=cfg.index,
        timeStamp=cfg.time_stamp,
        splitFilesByPort=False,
        forceStartAtTStamp0=False,
        recordingType=allegoserver_pb2.continuous,
    )


def recording_config_args(
    request: allegoserver_pb2.ConfigRecording, current: RecordingConfig
) -> tuple[str, str, int, bool]:
    """``(path, base name, index, time stamp)`` for the device from a ``SetConfigRecording``.

    An unset index or timestamp flag keeps the current one.

    Raises
    ------
    InvalidArgument
        Split files by port, timestamps forced to start at 0, or a recording type other than
        continuous: the hub's recorder writes neither.
    """
    if request.splitFilesByPort:
        raise InvalidArgument(
            "splitFilesByPort is not supported: the hub records all ports into one file set"
        )
    if request.forceStartAtTStamp0:
        raise InvalidArgument(
            "forceStartAtTStamp0 is not supported: recorded timestamps count stream samples"
        )
    if request.recordingType != allegoserver_pb2.continuous:
        kind = allegoserver_pb2.DataRecordingType.Name(request.recordingType)
        raise InvalidArgument(
            f"recordingType {kind} is not supported: the hub records continuous signals "
            "(and a .spikes file beside them while the spike sorter runs)"
        )
    index = request.dataSourceIdx if request.HasField("dataSourceIdx") else current.index
    time_stamp = request.timeStamp if request.HasField("timeStamp") else current.time_stamp
    return request.baseFilePath, request.baseFileName, index, time_stamp
