"""Dataset messages <-> user models: :class:`TimeRange`, :class:`DatasetMetadata`.

Channel metadata travels as the Allego ``ChannelMetadataReply`` (one channel table message for
live and recorded data); :func:`channel_metadata_to_proto` is the inverse of
:func:`radiens_async.models.converters.allego.channel_metadata_to_model`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from radiens_async._generated.radiens.v1 import allego_pb2, datasets_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata
from radiens_async.models.converters.allego import channel_metadata_to_model
from radiens_async.models.dataset_metadata import (
    NO_WALLTIME,
    DatasetMetadata,
    TimeRange,
    make_time_range,
)
from radiens_async.utils.constants import COLOR_GROUP_IDX_UNSET
from radiens_async.utils.enums import RadiensFileType

__all__ = [
    "channel_metadata_to_proto",
    "dataset_metadata_to_model",
    "dataset_metadata_to_proto",
    "time_range_to_model",
    "time_range_to_proto",
]


def time_range_to_proto(tr: TimeRange) -> datasets_pb2.TimeRange:
    """A :class:`TimeRange` as its wire message (timestamps, seconds, fs, wall time)."""
    return datasets_pb2.TimeRange(
        timestamp=tr.timestamp.tolist(),
        sec=tr.sec.tolist(),
        fs=tr.fs,
        walltime="" if tr.walltime == NO_WALLTIME else tr.walltime.isoformat(),
    )


def time_range_to_model(msg: datasets_pb2.TimeRange) -> TimeRange:
    """The wire time range as a :class:`TimeRange`; the timestamps win over the seconds.

    Raises
    ------
    InvalidArgument
        When neither 2 timestamps nor 2 seconds are present (``'unexpected pbTR = ...'``).
    """
    walltime = datetime.fromisoformat(msg.walltime) if msg.walltime else NO_WALLTIME
    if len(msg.timestamp) == 2 and msg.fs > 0:
        ts = np.array(msg.timestamp, np.int64)
        # keep the exact seconds the sender had (a file's t0 need not be ts0 / fs)
        sec = np.array(msg.sec, np.float64) if len(msg.sec) == 2 else ts / msg.fs
        return TimeRange(
            sec=sec,
            timestamp=ts,
            fs=msg.fs,
            dur_sec=float(sec[1] - sec[0]),
            walltime=walltime,
            N=int(ts[1] - ts[0]),
        )
    if len(msg.sec) == 2 and msg.fs > 0:
        return make_time_range(list(msg.sec), fs=msg.fs, walltime=walltime)
    raise InvalidArgument(f"unexpected pbTR = {msg}")


def _channel_to_proto(ch: ChannelInfo) -> allego_pb2.ChannelInfo:
    msg = allego_pb2.ChannelInfo(
        signal_type=int(ch.chan_type),
        ntv_idx=ch.ntv_key_idx,
        dset_idx=ch.dataset_key_idx,
        sys_idx=ch.sys_key_idx,
        port=ch.port,
        chan_name=ch.chan_name,
        ntv_chan_name=ch.ntv_chan_name,
        site_num=ch.site_num,
        headstage_id=ch.headstage_id,
        probe_id=ch.probe_id,
        sensor_uid=ch.sensor_uid,
    )
    has_site = (
        ch.site_shape
        or ch.site_area_um2
        or ch.site_ctr_x
        or ch.site_ctr_y
        or ch.site_ctr_z
        or ch.color_group_idx != COLOR_GROUP_IDX_UNSET
    )
    if has_site:
        msg.site.CopyFrom(
            allego_pb2.SiteInfo(
                x_um=ch.site_ctr_x,
                y_um=ch.site_ctr_y,
                z_um=ch.site_ctr_z,
                shape=ch.site_shape,
                area_um2=ch.site_area_um2,
                shank=ch.color_group_idx,
            )
        )
    return msg


def channel_metadata_to_proto(meta: ChannelMetadata) -> allego_pb2.ChannelMetadataReply:
    """A :class:`ChannelMetadata` as the channel-table message."""
    sensors = []
    for port, specs in meta.sensors.items():
        for s in specs:
            sensors.append(
                allego_pb2.SensorInfo(
                    port=port,
                    headstage_id=s.headstage_id,
                    probe_id=s.probe_id,
                    sensor_uid=s.sensor_uid,
                    n_channels=sum(1 for c in meta.channels if c.sensor_uid == s.sensor_uid),
                    wireframe_x=s.wireframe_x,
                    wireframe_y=s.wireframe_y,
                )
            )
    return allego_pb2.ChannelMetadataReply(
        channels=[_channel_to_proto(c) for c in meta.channels],
        fs=meta.fs,
        dataset_uid=meta.dataset_uid,
        source_label=meta.source_label,
        sensors=sensors,
        neighbor_max_radius_um=meta.neighbor_max_radius_um,
    )


def dataset_metadata_to_proto(meta: DatasetMetadata) -> datasets_pb2.DatasetMetadata:
    """A :class:`DatasetMetadata` as its wire message."""
    return datasets_pb2.DatasetMetadata(
        dataset_id=meta.dsource_id,
        kpi_dataset_id=meta.kpi_dsource_id,
        time_range=time_range_to_proto(meta.time_range),
        channel_metadata=channel_metadata_to_proto(meta.channel_metadata),
        dataset_uid=meta.dataset_uid,
        source_type=meta.source_type,
        file_type=int(meta.file_type),
        source_mode=meta.source_mode,
        label=meta.label,
        path=meta.path,
        base_name=meta.base_name,
        spikes_ids=list(meta.spikes_ids),
    )


def dataset_metadata_to_model(msg: datasets_pb2.DatasetMetadata) -> DatasetMetadata:
    """The wire dataset description as :class:`DatasetMetadata`."""
    return DatasetMetadata(
        dsource_id=msg.dataset_id,
        kpi_dsource_id=msg.kpi_dataset_id,
        time_range=time_range_to_model(msg.time_range),
        channel_metadata=channel_metadata_to_model(msg.channel_metadata),
        dataset_uid=msg.dataset_uid,
        source_type=msg.source_type,
        file_type=RadiensFileType(msg.file_type),
        source_mode=msg.source_mode,
        label=msg.label,
        path=msg.path,
        base_name=msg.base_name,
        spikes_ids=tuple(msg.spikes_ids),
    )
