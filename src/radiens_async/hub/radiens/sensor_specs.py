"""Sensors on the Radiens protocol: ``ListSensorSpecs`` and what a ``SetSensor`` asks for.

Sensor names travel with their wire prefixes (``hstg__<id>``, ``probe__<id>``), as an Allego sends
them; the device takes IDs with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import InvalidArgument, NotFound
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.radiens.backbone_status import port_channel_counts, port_letter
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID

# Allego's sensor index of the only sensor on a port (radiens-core: -1); the hub has one a port
_ONE_SENSOR_PER_PORT = (-1, 0)


def check_stream_group(stream_group_id: str) -> None:
    """An Allego has one stream group, ``"Live Signals"``.

    Raises
    ------
    NotFound
        Any other ID.
    """
    if stream_group_id != PRIMARY_CACHE_STREAM_GROUP_ID:
        raise NotFound(
            f"unknown stream group {stream_group_id!r}: Allego's only stream group is "
            f"{PRIMARY_CACHE_STREAM_GROUP_ID!r}"
        )


def _specs(
    prefix: str, counts: dict[str, int]
) -> list[common_pb2.ListSensorSpecsReply.SpecWithChannelCount]:
    return [
        common_pb2.ListSensorSpecsReply.SpecWithChannelCount(name=prefix + key, channelCount=n)
        for key, n in counts.items()
    ]


def list_sensor_specs(device: AllegoDevice) -> common_pb2.ListSensorSpecsReply:
    """Every probe and headstage model the hub knows, and the connected ports' channel counts."""
    return common_pb2.ListSensorSpecsReply(
        probes=_specs(sensors_catalog.PROBE_PREFIX, sensors_catalog.probes()),
        headstages=_specs(sensors_catalog.HEADSTAGE_PREFIX, sensors_catalog.headstages()),
        ports=port_channel_counts(device.status()),
    )


@dataclass(frozen=True, slots=True)
class SensorChange:
    """What a ``SetSensor`` asks the device for."""

    port: str
    headstage_id: str
    probe_id: str


def sensor_change(device: AllegoDevice, request: common_pb2.SetSensorRequest) -> SensorChange:
    """Validate a ``SetSensor`` request; an unset headstage or probe keeps the port's current one.

    Unknown IDs and unconnected ports are left to :meth:`AllegoDevice.set_sensor`, which refuses
    them.

    Raises
    ------
    NotFound
        Another stream group than ``"Live Signals"``.
    InvalidArgument
        A sensor index other than the port's only sensor, or a channel count that is not the
        headstage's.
    """
    check_stream_group(request.streamGroupId)
    letter = port_letter(request.port)
    current = next((s for s in device.sensors if s.port == letter), None)
    headstage = request.headstageId if request.HasField("headstageId") else ""
    probe = request.probeId if request.HasField("probeId") else ""
    if current is not None:
        headstage = headstage or current.headstage_id
        probe = probe or current.probe_id
    if (
        request.HasField("connectionNtvIdx")
        and request.connectionNtvIdx not in _ONE_SENSOR_PER_PORT
    ):
        raise InvalidArgument(
            f"connectionNtvIdx {request.connectionNtvIdx} is not valid: the hub connects one "
            "sensor per port (use -1 or 0)"
        )
    if request.HasField("numChannels"):
        try:
            n_headstage = sensors_catalog.get_headstage(headstage).n_channels
        except KeyError:
            n_headstage = None  # the device refuses the unknown headstage
        if n_headstage is not None and request.numChannels != n_headstage:
            raise InvalidArgument(
                f"numChannels {request.numChannels} does not match headstage "
                f"{sensors_catalog.strip_prefix(headstage)} ({n_headstage} channels)"
            )
    return SensorChange(letter, headstage, probe)
