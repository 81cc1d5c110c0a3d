"""Describe a recording file as :class:`~radiens_async.models.dataset_metadata.DatasetMetadata`.

The channel table is built from the XDAT ``biointerface_map`` (or what neo reports for other
formats) with the same conventions as the live stream's table: ``ntv`` and ``dset`` indices count
per signal type in column order, ``sys`` counts across types, and a site's limits are its centre
± half the side of a square of the site's area.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from radiens_async.formats.xdat_metadata import XdatChannel
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.datasets.source import (
    DatasetPath,
    DatasetSource,
    open_source,
    resolve_dataset_path,
)
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata, SensorSpec
from radiens_async.models.dataset_metadata import DatasetMetadata, make_time_range
from radiens_async.utils.constants import COLOR_GROUP_IDX_UNSET, PORT_LETTERS, SITE_NUM_UNSET
from radiens_async.utils.enums import SignalType

__all__ = ["channel_metadata_of", "describe_dataset_file", "describe_source"]

_SIGNAL_TYPE = {
    "amp": SignalType.AMP,
    "ain": SignalType.AIN,
    "din": SignalType.DIN,
    "dout": SignalType.DOUT,
}
NEIGHBOR_MAX_RADIUS_UM = 100.0


def _channel_info(ch: XdatChannel, ntv_idx: int, dset_idx: int, sys_idx: int) -> ChannelInfo:
    sensor_uid = f"{ch.port}-{ch.headstage_id}-{ch.probe_id}" if ch.probe_id else ""
    fields: dict[str, object] = {
        "port": ch.port if ch.port in PORT_LETTERS else "",
        "chan_name": ch.name,
        "chan_type": _SIGNAL_TYPE[ch.signal_type],
        "ntv_key_idx": ntv_idx,
        "site_num": SITE_NUM_UNSET if ch.site_num is None else ch.site_num,
        "sys_key_idx": sys_idx,
        "sensor_id": sensor_uid,
        "probe_id": ch.probe_id,
        "headstage_id": ch.headstage_id,
        "ntv_chan_name": ch.ntv_name,
        "sensor_uid": sensor_uid,
        "dataset_key_idx": dset_idx,
        "dataset_key_idx_abs": sys_idx,
    }
    placed = ch.site_x_um is not None or ch.site_y_um is not None
    if placed or ch.site_area_um2 or ch.site_shape or ch.shank is not None:
        x, y, z = ch.site_x_um or 0.0, ch.site_y_um or 0.0, ch.site_z_um or 0.0
        area = ch.site_area_um2 or 0.0
        half = math.sqrt(area) / 2.0
        fields.update(
            site_shape=ch.site_shape or "",
            site_ctr_x=x,
            site_ctr_y=y,
            site_ctr_z=z,
            site_lim_x_min=x - half,
            site_lim_x_max=x + half,
            site_lim_y_min=y - half,
            site_lim_y_max=y + half,
            site_lim_z_min=z,
            site_lim_z_max=z,
            site_ctr_tcs_x=x,
            site_ctr_tcs_y=y,
            site_ctr_tcs_z=z,
            site_area_um2=area,
            color_group_idx=COLOR_GROUP_IDX_UNSET if ch.shank is None else ch.shank,
        )
    return ChannelInfo.model_validate(fields)


def _sensor_spec(port: str, headstage_id: str, probe_id: str) -> SensorSpec:
    try:
        probe = sensors_catalog.get_probe(probe_id)
        xs, ys = list(probe.wireframe_x), list(probe.wireframe_y)
    except Exception:  # a probe this hub's catalog does not know: no outline
        xs, ys = [], []
    return SensorSpec(
        probe_id=probe_id,
        headstage_id=headstage_id,
        sensor_uid=f"{port}-{headstage_id}-{probe_id}",
        x_min=min(xs, default=0.0),
        x_max=max(xs, default=0.0),
        y_min=min(ys, default=0.0),
        y_max=max(ys, default=0.0),
        wireframe_x=xs,
        wireframe_y=ys,
        wireframe_vtx_x_lim=[min(xs, default=0.0), max(xs, default=0.0)],
        wireframe_vtx_y_lim=[min(ys, default=0.0), max(ys, default=0.0)],
    )


def channel_metadata_of(
    channels: list[XdatChannel], fs: float, dataset_uid: str, label: str
) -> ChannelMetadata:
    """The :class:`ChannelMetadata` of a recording's data columns (in column order).

    Parameters
    ----------
    channels : list of XdatChannel
        One per data column.
    fs : float
        Sampling rate in Hz.
    dataset_uid, label : str
        The recording's UID and its label (the base name).

    Returns
    -------
    ChannelMetadata
        Rows in column order; ``dset`` indices count per type, ``sys`` indices across types.
    """
    dset_of: list[int] = []
    per_type: dict[str, list[int]] = {}
    for ch in channels:
        members = per_type.setdefault(ch.signal_type, [])
        dset_of.append(len(members))
        members.append(ch.ntv_idx)
    # a file that stores no native indices (all 0) gets its dataset positions instead
    unique_ntv = {k: len(set(v)) == len(v) for k, v in per_type.items()}
    infos = [
        _channel_info(ch, ch.ntv_idx if unique_ntv[ch.signal_type] else dset, dset, col)
        for col, (ch, dset) in enumerate(zip(channels, dset_of, strict=True))
    ]
    sensors: dict[str, list[SensorSpec]] = {p: [] for p in PORT_LETTERS}
    seen = set()
    for ch in channels:
        key = (ch.port, ch.headstage_id, ch.probe_id)
        if ch.probe_id and ch.port in PORT_LETTERS and key not in seen:
            seen.add(key)
            sensors[ch.port].append(_sensor_spec(*key))
    return ChannelMetadata(
        channels=tuple(infos),
        fs=fs,
        dataset_uid=dataset_uid,
        source_label=label,
        neighbor_max_radius_um=NEIGHBOR_MAX_RADIUS_UM,
        sensors=sensors,
    )


def describe_source(
    source: DatasetSource, dpath: DatasetPath, dataset_id: str, spikes_ids: tuple[str, ...] = ()
) -> DatasetMetadata:
    """The :class:`DatasetMetadata` of an open source.

    ``TR`` spans the stored samples: ``timestamp = [first, first + n_samples]`` and
    ``sec = [t0, t0 + n_samples / fs]``.
    """
    t0 = source.t0_sec
    ts0 = source.first_sample
    tr = make_time_range(timestamp=[ts0, ts0 + source.n_samples], fs=source.fs)
    if not math.isclose(t0, ts0 / source.fs, abs_tol=0.5 / source.fs):
        # a file whose stream time is not first_sample / fs: keep its seconds
        tr = type(tr)(
            sec=np.array([t0, t0 + source.n_samples / source.fs]),
            timestamp=tr.timestamp,
            fs=tr.fs,
            dur_sec=source.n_samples / source.fs,
            walltime=tr.walltime,
            N=tr.N,
        )
    if source.start_time is not None:
        tr = type(tr)(
            sec=tr.sec,
            timestamp=tr.timestamp,
            fs=tr.fs,
            dur_sec=tr.dur_sec,
            walltime=source.start_time,
            N=tr.N,
        )
    return DatasetMetadata(
        dsource_id=dataset_id,
        kpi_dsource_id=dataset_id,
        time_range=tr,
        channel_metadata=channel_metadata_of(
            source.channels, source.fs, source.dataset_uid, dpath.base_name
        ),
        dataset_uid=source.dataset_uid,
        source_type="file",
        file_type=dpath.file_type,
        source_mode="linked",
        label=dpath.base_name,
        path=str(dpath.directory),
        base_name=dpath.base_name,
        spikes_ids=spikes_ids,
    )


def describe_dataset_file(path: str | Path, dataset_id: str) -> DatasetMetadata:
    """Describe a recording file (set) as :class:`DatasetMetadata`, without linking it.

    Parameters
    ----------
    path : str or Path
        ``<dir>/<base>.xdat`` (also ``.xdat.json`` / ``_data.xdat`` / no suffix) for XDAT, or an
        ``.rhd`` / ``.nsX`` / ``.nwb`` / ``structure.oebin`` file read through neo.
    dataset_id : str
        The ID to give the dataset.

    Returns
    -------
    DatasetMetadata

    Raises
    ------
    NotFound
        When the file (set) does not exist.
    InvalidArgument
        For an unsupported extension.
    FormatError
        When the file is corrupt.

    Examples
    --------
    >>> meta = describe_dataset_file("/data/rec_0.xdat", "rec_0")  # doctest: +SKIP
    >>> meta.TR.fs, meta.base_name  # doctest: +SKIP
    (30000.0, 'rec_0')
    """
    dpath = resolve_dataset_path(path)
    source = open_source(dpath)
    try:
        return describe_source(source, dpath, dataset_id)
    finally:
        source.close()
