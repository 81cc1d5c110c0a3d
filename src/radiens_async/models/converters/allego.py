"""Allego messages -> user models (status, channel metadata, sensors, ground truth)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from radiens_async._generated.radiens.v1 import allego_pb2
from radiens_async.models.allego_state import AllegoState
from radiens_async.models.channel_metadata import ChannelInfo, ChannelMetadata, SensorSpec
from radiens_async.models.ground_truth import SimGroundTruth, SimUnit
from radiens_async.utils.constants import PORT_LETTERS
from radiens_async.utils.enums import SignalType


def status_to_model(msg: allego_pb2.AllegoStatus) -> AllegoState:
    """The hub's status message as the documented :class:`AllegoState`."""
    return AllegoState.build(
        stream_mode=msg.streaming,
        time_range=[msg.stream_t_start, msg.stream_t_end],
        hw_mem_level=msg.hw_mem_level,
        recording_on=msg.recording,
        active_file_name=msg.active_file_name,
        dur_sec=msg.recording_dur_s,
        error=msg.recording_error,
        sample_freq=msg.sample_freq,
        system_mode=msg.system_mode,
        port_num_channels={p.port: p.n_channels for p in msg.ports},
        gpio=(msg.n_ain, msg.n_din, msg.n_dout),
        stream_loop_dur_ms=msg.stream_loop_dur_ms,
        connected=msg.connected,
    )


def _channel(msg: allego_pb2.ChannelInfo) -> ChannelInfo:
    fields: dict[str, object] = {
        "port": msg.port,
        "chan_name": msg.chan_name,
        "chan_type": SignalType(msg.signal_type),
        "ntv_key_idx": msg.ntv_idx,
        "site_num": msg.site_num,
        "sys_key_idx": msg.sys_idx,
        "sensor_id": msg.sensor_uid,
        "probe_id": msg.probe_id,
        "headstage_id": msg.headstage_id,
        "ntv_chan_name": msg.ntv_chan_name,
        "sensor_uid": msg.sensor_uid,
        "dataset_key_idx": msg.dset_idx,
        "dataset_key_idx_abs": msg.sys_idx,
    }
    if msg.HasField("site"):
        s = msg.site
        half = float(np.sqrt(s.area_um2)) / 2.0
        fields.update(
            site_shape=s.shape,
            site_ctr_x=s.x_um,
            site_ctr_y=s.y_um,
            site_ctr_z=s.z_um,
            site_lim_x_min=s.x_um - half,
            site_lim_x_max=s.x_um + half,
            site_lim_y_min=s.y_um - half,
            site_lim_y_max=s.y_um + half,
            site_lim_z_min=s.z_um,
            site_lim_z_max=s.z_um,
            site_ctr_tcs_x=s.x_um,
            site_ctr_tcs_y=s.y_um,
            site_ctr_tcs_z=s.z_um,
            site_area_um2=s.area_um2,
            color_group_idx=s.shank,
        )
    if msg.HasField("selected"):
        fields["selected"] = msg.selected
    if msg.HasField("color_group_idx"):
        fields["color_group_idx"] = msg.color_group_idx
    return ChannelInfo.model_validate(fields)


def _sensor(msg: allego_pb2.SensorInfo) -> SensorSpec:
    xs, ys = list(msg.wireframe_x), list(msg.wireframe_y)
    return SensorSpec(
        probe_id=msg.probe_id,
        headstage_id=msg.headstage_id,
        sensor_uid=msg.sensor_uid,
        x_min=min(xs, default=0.0),
        x_max=max(xs, default=0.0),
        y_min=min(ys, default=0.0),
        y_max=max(ys, default=0.0),
        wireframe_x=xs,
        wireframe_y=ys,
        wireframe_vtx_x_lim=[min(xs, default=0.0), max(xs, default=0.0)],
        wireframe_vtx_y_lim=[min(ys, default=0.0), max(ys, default=0.0)],
    )


def channel_metadata_to_model(msg: allego_pb2.ChannelMetadataReply) -> ChannelMetadata:
    """The live signal group's channel table as :class:`ChannelMetadata`."""
    channels = tuple(_channel(c) for c in msg.channels)
    sensors: dict[str, list[SensorSpec]] = {p: [] for p in PORT_LETTERS}
    for s in msg.sensors:
        sensors.setdefault(s.port, []).append(_sensor(s))
    return ChannelMetadata(
        channels=channels,
        fs=msg.fs,
        dataset_uid=msg.dataset_uid,
        source_label=msg.source_label,
        neighbor_max_radius_um=msg.neighbor_max_radius_um,
        sensors=sensors,
        has_discrete=any(c.chan_type in (SignalType.DIN, SignalType.DOUT) for c in channels),
        has_continuous_amp=any(c.chan_type == SignalType.AMP for c in channels),
    )


def ground_truth_to_model(msg: allego_pb2.GroundTruthReply) -> SimGroundTruth:
    """The simulator's ground truth."""
    return SimGroundTruth(
        sample_index=np.asarray(msg.sample_index, dtype=np.int64),
        unit_id=np.asarray(msg.unit_id, dtype=np.int32),
        channel=np.asarray(msg.channel, dtype=np.int32),
        units=tuple(
            SimUnit(
                unit_id=u.unit_id,
                peak_channel=u.peak_channel,
                trough_uv=u.trough_uv,
                snr=u.snr,
                rate_hz=u.rate_hz,
            )
            for u in msg.units
        ),
        sine_frequencies_hz=tuple(msg.sine_frequencies_hz),
        band_names=tuple(msg.band_names),
        band_frequencies_hz=_band_matrix(msg.band_frequencies_hz, len(msg.band_names)),
        noise_uv=msg.noise_uv,
        mode=msg.mode,
        seed=msg.seed,
    )


def _band_matrix(flat: Sequence[float], n_bands: int) -> npt.NDArray[np.float64]:
    """Reshape the row-major (channel, band) frequency list of the multi-band mode."""
    values = np.asarray(flat, dtype=np.float64)
    return values.reshape(-1, n_bands) if n_bands else np.zeros((0, 0))
