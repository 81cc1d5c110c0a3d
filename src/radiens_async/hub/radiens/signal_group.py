"""The live stream's ``allego.SignalGroup``: the channel table the Radiens protocol carries.

Every ``GetSignalGroup`` reply and every ``HDSnapshot2`` holds one. It is built from the device's
:class:`ChannelLayout` (channels in sys order, sensors per port, probe geometry), its sampling
rate and its :class:`ChannelSelection` (selected flags, colour groups, display order), with every
``required`` field of ``ChannelRecord``, ``SensorPortSpec``, ``Sensor`` and ``WireFrame`` set.

Units on the wire follow radiens-core 0.1.2 (which reads these messages): site centres, limits
and offsets, and (for consistency) sensor outlines, are in **tens of µm** (radiens-core
multiplies them by 10); the site area is in µm² and the neighbour radius in µm.
"""

from __future__ import annotations

from collections.abc import Iterable

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import NotFound
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.channel_layout import (
    ChannelLayout,
    ChannelSpec,
    PortSensor,
    StreamSignalType,
)
from radiens_async.hub.daq.channel_selection import ChannelSelection
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID
from radiens_async.utils.enums import SignalUnits

LIVE_SIGNAL_GROUP_ID = PRIMARY_CACHE_STREAM_GROUP_ID
"""The one stream group of an Allego: its ``datasetUID``, ``sourceLabel`` and ``streamGroupId``."""

WIRE_UM = 10.0
"""µm per unit of the wire's site coordinates (radiens-core: "10s of microns in the proto")."""

NEIGHBOR_MAX_RADIUS_UM = 100.0  # the same value our own protocol reports

# the Radiens SignalType values equal ours (PRI=AMP, AUX=AIN, DIN, DOUT)
SIGNAL_UNITS: dict[StreamSignalType, SignalUnits] = {
    StreamSignalType.AMP: SignalUnits.MICROVOLTS,
    StreamSignalType.AIN: SignalUnits.VOLTS,
    StreamSignalType.DIN: SignalUnits.BINARY,
    StreamSignalType.DOUT: SignalUnits.BINARY,
}

# Allego sends sensorIdx -1 for the only probe on a port as well as for no probe (radiens-core)
ONLY_SENSOR_IDX = -1

_PORT_FIELDS = {letter: f"sensor{letter}" for letter in sensors_catalog.PORTS}


def check_stream_group(group_id: str, what: str = "stream group") -> None:
    """An Allego has one stream group, ``"Live Signals"``; any other ID is NOT_FOUND."""
    if group_id != LIVE_SIGNAL_GROUP_ID:
        raise NotFound(
            f"unknown {what} {group_id!r}: this Allego has only {LIVE_SIGNAL_GROUP_ID!r}"
        )


def signal_type_of(value: int) -> StreamSignalType:
    """Our signal type of a Radiens ``SignalType`` value (the numbers are the same)."""
    return StreamSignalType(value)


def _wire(um: float) -> float:
    return um / WIRE_UM


def channel_record(channel: ChannelSpec, selection: ChannelSelection) -> common_pb2.ChannelRecord:
    """One channel as a complete ``ChannelRecord``.

    Geometry with no site (GPIO channels, amplifier channels beyond the probe's sites) is all
    zeros with an empty shape, as our own protocol's converter reports it.
    """
    site = channel.site
    if site is not None:
        half = site.half_width_um
        x, y, z = site.x_um, site.y_um, site.z_um
        shape, area = site.shape, site.area_um2
        lims = (x - half, x + half, y - half, y + half, z, z)
    else:
        x = y = z = 0.0
        shape, area = "", 0.0
        lims = (0.0,) * 6
    return common_pb2.ChannelRecord(
        chanName=channel.chan_name,
        chanType=common_pb2.SignalType.Name(int(channel.signal_type)),
        ntvChanIdx=channel.ntv_idx,
        siteNum=channel.site_num,
        colorGroupIdx=selection.color_group(channel),
        isSelected=selection.is_selected(channel),
        isAudioLeft=False,
        port=channel.port,  # the enum's name
        siteShape=shape,
        siteCtrX=_wire(x),
        siteCtrY=_wire(y),
        siteCtrZ=_wire(z),
        siteLimXMin=_wire(lims[0]),
        siteLimXMax=_wire(lims[1]),
        siteLimYMin=_wire(lims[2]),
        siteLimYMax=_wire(lims[3]),
        siteLimZMin=_wire(lims[4]),
        siteLimZMax=_wire(lims[5]),
        # the probe sits at the tissue origin: tissue coordinates equal probe coordinates
        siteCtrTcsX=_wire(x),
        siteCtrTcsY=_wire(y),
        siteCtrTcsZ=_wire(z),
        sensorUnits=str(SIGNAL_UNITS[channel.signal_type]),
        absIdx=selection.sort_position(channel),
        isAudioRight=False,
        sysChanIdx=channel.sys_idx,
        siteAreaMicron2=area,
        scsToTcsX=0.0,
        scsToTcsY=0.0,
        scsToTcsZ=0.0,
        sensorID=channel.sensor_uid,
        probeID=channel.probe_id,
        headstageID=channel.headstage_id,
        datasetRidx=channel.dset_idx,
        datasetAidx=channel.sys_idx,
        ntvChanName=channel.ntv_chan_name,
        sensorUID=channel.sensor_uid,
        sensorIdx=ONLY_SENSOR_IDX,
    )


def _xy(x_um: float, y_um: float) -> common_pb2.XYCoord:
    return common_pb2.XYCoord(x=_wire(x_um), y=_wire(y_um))


def sensor(port_sensor: PortSensor) -> common_pb2.Sensor:
    """The sensor (headstage + probe) on one port, with its outline, as a complete ``Sensor``."""
    probe = sensors_catalog.get_probe(port_sensor.probe_id)
    (x_min, x_max), (y_min, y_max) = probe.x_lim, probe.y_lim
    return common_pb2.Sensor(
        probeId=probe.id,
        headstageId=port_sensor.headstage_id,
        wireframe=common_pb2.Sensor.WireFrame(
            vtx=[_xy(x, y) for x, y in zip(probe.wireframe_x, probe.wireframe_y, strict=True)],
            # (min, max) pairs carried as XYCoord{x=min, y=max}
            vtxXlim=common_pb2.XYCoord(x=_wire(x_min), y=_wire(x_max)),
            vtxYlim=common_pb2.XYCoord(x=_wire(y_min), y=_wire(y_max)),
        ),
        xMin=_wire(x_min),
        xMax=_wire(x_max),
        yMin=_wire(y_min),
        yMax=_wire(y_max),
        position=common_pb2.SensorPositionTcs(
            X=0.0, Y=0.0, Z=0.0, RingAngle=0.0, AxialAngle=0.0, ArcAngle=0.0
        ),
        sensorUID=sensors_catalog.sensor_uid(port_sensor.port, port_sensor.headstage_id, probe.id),
        connectionNtvIdx=0,  # one sensor per port, on its first connector
        numSites=probe.n_channels,
        sensorIdx=0,
    )


def sensor_port_spec(sensors: Iterable[PortSensor]) -> common_pb2.SensorPortSpec:
    """Every port's sensors (``sensorA`` .. ``sensorH``; empty for an unconnected port)."""
    spec = common_pb2.SensorPortSpec()
    for s in sensors:
        getattr(spec, _PORT_FIELDS[s.port]).append(sensor(s))
    return spec


def build_signal_group(
    layout: ChannelLayout, fs: float, selection: ChannelSelection
) -> common_pb2.SignalGroup:
    """The complete live ``SignalGroup`` of ``layout`` sampled at ``fs`` (channels in sys order)."""
    types = {c.signal_type for c in layout.channels}
    return common_pb2.SignalGroup(
        channels=[channel_record(c, selection) for c in layout.channels],
        sensorPortSpec=sensor_port_spec(layout.sensors),
        datasetUID=LIVE_SIGNAL_GROUP_ID,
        sampFreq=fs,
        sourceLabel=LIVE_SIGNAL_GROUP_ID,
        neighborMaxRadius=NEIGHBOR_MAX_RADIUS_UM,
        signalUnits=common_pb2.SignalGroupUnits(
            units={int(t): int(u) for t, u in SIGNAL_UNITS.items()}
        ),
        hasDiscrete=bool(types & {StreamSignalType.DIN, StreamSignalType.DOUT}),
        hasContinuousAmp=StreamSignalType.AMP in types,
    )


# One built group per (layout, rate, selection version): every HDSnapshot2 reply carries the
# group, and rebuilding 1024 records per poll would cost more than copying the samples.
_memo: tuple[ChannelLayout, float, ChannelSelection, int, common_pb2.SignalGroup, bytes] | None = (
    None
)


def _built(device: AllegoDevice) -> tuple[common_pb2.SignalGroup, bytes]:
    """The memoised group of the device's current state, and its wire bytes."""
    global _memo
    layout, fs, selection = device.layout, device.fs, device.channel_selection
    memo = _memo
    if (
        memo is None
        or memo[0] is not layout
        or memo[1] != fs
        or memo[2] is not selection
        or memo[3] != selection.version
    ):
        group = build_signal_group(layout, fs, selection)
        memo = (layout, fs, selection, selection.version, group, group.SerializeToString())
        _memo = memo
    return memo[4], memo[5]


def signal_group_bytes(device: AllegoDevice) -> bytes:
    """The wire bytes of :func:`signal_group` (serialized once per state of the device).

    Examples
    --------
    >>> from radiens_async.hub.daq.allego_device import AllegoDevice
    >>> device = AllegoDevice()
    >>> signal_group_bytes(device) == signal_group(device).SerializeToString()
    True
    """
    return _built(device)[1]


def signal_group(device: AllegoDevice) -> common_pb2.SignalGroup:
    """The live stream's complete ``SignalGroup`` as the device holds it now.

    Parameters
    ----------
    device : AllegoDevice
        The hub's instrument (layout, sampling rate, channel selection).

    Returns
    -------
    common_pb2.SignalGroup
        A fresh message (the caller may change it freely), every required field set.

    Examples
    --------
    >>> from radiens_async.hub.daq.allego_device import AllegoDevice
    >>> group = signal_group(AllegoDevice())
    >>> group.datasetUID, group.sampFreq, len(group.channels), group.IsInitialized()
    ('Live Signals', 30000.0, 38, True)
    """
    out = common_pb2.SignalGroup()
    out.CopyFrom(_built(device)[0])
    return out
