"""Radiens protocol signal groups and sensor specs -> :class:`ChannelMetadata` and sensor dicts.

Units on the wire follow radiens-core 0.1.2: site centres, limits, offsets and sensor outlines are
in **tens of µm** (radiens-core multiplies them by 10); the site area is in µm² and the
neighbour radius in µm. ``sensorUnits`` is the unit label (``'μV'``, ``'V'``, ``'Bin'``).
"""

from __future__ import annotations

from typing import Final

from radiens_async._generated.allego import common_pb2
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata, SensorSpec
from radiens_async.utils.constants import HEADSTAGE_ID_PREFIX, PORT_LETTERS, PROBE_ID_PREFIX
from radiens_async.utils.enums import Port, SignalType, SignalUnits

__all__ = [
    "WIRE_UM",
    "available_sensors_to_dict",
    "channel_record_to_model",
    "headstage_wire_id",
    "probe_wire_id",
    "sensor_to_model",
    "signal_group_to_model",
]

WIRE_UM: Final = 10.0
"""µm per unit of the wire's site coordinates."""

_UNITS_BY_LABEL: Final = {str(u): int(u) for u in SignalUnits}


def _um(wire: float) -> float:
    return wire * WIRE_UM


def _sensor_units(text: str) -> int:
    """The ``SignalUnits`` value of the wire's unit label (a number is taken as is)."""
    if text.lstrip("-").isdigit():
        return int(text)
    return _UNITS_BY_LABEL.get(text, int(SignalUnits.UNKNOWN))


def channel_record_to_model(msg: common_pb2.ChannelRecord) -> ChannelInfo:
    """One ``ChannelRecord`` as a :class:`ChannelInfo` (positions in µm)."""
    return ChannelInfo(
        port=Port(msg.port).name,
        chan_name=msg.chanName,
        chan_type=SignalType(msg.chanType),  # PRI, AUX, DIN, DOUT = AMP, AIN, DIN, DOUT
        ntv_key_idx=msg.ntvChanIdx,
        site_num=msg.siteNum,
        color_group_idx=msg.colorGroupIdx,
        selected=msg.isSelected,
        audio=[msg.isAudioLeft, msg.isAudioRight],
        site_shape=msg.siteShape,
        site_ctr_x=_um(msg.siteCtrX),
        site_ctr_y=_um(msg.siteCtrY),
        site_ctr_z=_um(msg.siteCtrZ),
        site_lim_x_min=_um(msg.siteLimXMin),
        site_lim_y_min=_um(msg.siteLimYMin),
        site_lim_z_min=_um(msg.siteLimZMin),
        site_lim_x_max=_um(msg.siteLimXMax),
        site_lim_y_max=_um(msg.siteLimYMax),
        site_lim_z_max=_um(msg.siteLimZMax),
        site_ctr_tcs_x=_um(msg.siteCtrTcsX),
        site_ctr_tcs_y=_um(msg.siteCtrTcsY),
        site_ctr_tcs_z=_um(msg.siteCtrTcsZ),
        sensor_units=_sensor_units(msg.sensorUnits),
        sys_key_idx=msg.sysChanIdx,
        site_area_um2=msg.siteAreaMicron2,
        scs_to_tcs=[_um(msg.scsToTcsX), _um(msg.scsToTcsY), _um(msg.scsToTcsZ)],
        sensor_id=msg.sensorID,
        probe_id=msg.probeID,
        headstage_id=msg.headstageID,
        ntv_chan_name=msg.ntvChanName,
        sensor_uid=msg.sensorUID,
        # dset comes from datasetRidx (absIdx is a display sort position, radiens-core notes)
        dataset_key_idx=msg.datasetRidx if msg.HasField("datasetRidx") else msg.ntvChanIdx,
        dataset_key_idx_abs=msg.datasetAidx if msg.HasField("datasetAidx") else msg.sysChanIdx,
    )


def sensor_to_model(msg: common_pb2.Sensor) -> SensorSpec:
    """One port's ``Sensor`` as a :class:`SensorSpec` (outline in µm, angles in degrees)."""
    wf = msg.wireframe
    pos = msg.position
    return SensorSpec(
        probe_id=msg.probeId,
        headstage_id=msg.headstageId,
        sensor_uid=msg.sensorUID,
        x_min=_um(msg.xMin),
        x_max=_um(msg.xMax),
        y_min=_um(msg.yMin),
        y_max=_um(msg.yMax),
        wireframe_x=[_um(v.x) for v in wf.vtx],
        wireframe_y=[_um(v.y) for v in wf.vtx],
        # limits travel as XYCoord{x=min, y=max}
        wireframe_vtx_x_lim=[_um(wf.vtxXlim.x), _um(wf.vtxXlim.y)],
        wireframe_vtx_y_lim=[_um(wf.vtxYlim.x), _um(wf.vtxYlim.y)],
        sensor_pos={
            "x": _um(pos.X),
            "y": _um(pos.Y),
            "z": _um(pos.Z),
            "ring_angle": pos.RingAngle,
            "axial_angle": pos.AxialAngle,
            "arc_angle": pos.ArcAngle,
        },
    )


def signal_group_to_model(msg: common_pb2.SignalGroup) -> ChannelMetadata:
    """A ``SignalGroup`` (``GetSignalGroup("Live Signals")``) as :class:`ChannelMetadata`."""
    spec = msg.sensorPortSpec
    sensors = {
        letter: [sensor_to_model(s) for s in getattr(spec, f"sensor{letter}")]
        for letter in PORT_LETTERS
    }
    channels = tuple(channel_record_to_model(c) for c in msg.channels)
    fields: dict[str, object] = {
        "channels": channels,
        "fs": msg.sampFreq,
        "dataset_uid": msg.datasetUID,
        "source_label": msg.sourceLabel,
        "neighbor_max_radius_um": msg.neighborMaxRadius,
        "sensors": sensors,
    }
    # absent flags are derived from the channel types by the model
    if msg.HasField("hasDiscrete"):
        fields["has_discrete"] = msg.hasDiscrete
    if msg.HasField("hasContinuousAmp"):
        fields["has_continuous_amp"] = msg.hasContinuousAmp
    return ChannelMetadata.model_validate(fields)


def _strip(name: str, prefix: str) -> str:
    # a prefix removal, not the documented client's character-set strip (a known defect)
    return name.removeprefix(prefix)


def available_sensors_to_dict(msg: common_pb2.ListSensorSpecsReply) -> dict[str, dict[str, int]]:
    """``ListSensorSpecs`` as the documented ``{'headstages': {id: n}, 'probes': {id: n}}``."""
    return {
        "headstages": dict(
            sorted((_strip(h.name, HEADSTAGE_ID_PREFIX), h.channelCount) for h in msg.headstages)
        ),
        "probes": dict(
            sorted((_strip(p.name, PROBE_ID_PREFIX), p.channelCount) for p in msg.probes)
        ),
    }


def headstage_wire_id(headstage_id: str) -> str:
    """A headstage ID as ``SetSensor`` carries it (``hstg__<id>``)."""
    return (
        headstage_id
        if headstage_id.startswith(HEADSTAGE_ID_PREFIX)
        else (HEADSTAGE_ID_PREFIX + headstage_id)
    )


def probe_wire_id(probe_id: str) -> str:
    """A probe ID as ``SetSensor`` carries it (``probe__<id>``)."""
    return probe_id if probe_id.startswith(PROBE_ID_PREFIX) else PROBE_ID_PREFIX + probe_id
