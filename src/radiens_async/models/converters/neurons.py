"""Neurons-service messages -> spike sorter and spikes models (protobuf stays on this side)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async._generated.radiens.v1 import neurons_pb2
from radiens_async.models.spike_sorter import Dashboard, PortSummary, SorterState
from radiens_async.models.spikes import (
    NeuronDescriptor,
    SpikeBatch,
    SpikeSite,
    SpikesMetadata,
    SpikesSet,
)


def state_to_model(msg: neurons_pb2.SorterStateReply) -> SorterState:
    return SorterState(
        mode=msg.mode,
        frac_complete=msg.frac_complete,
        message=msg.message,
        init_time=msg.init_time,
        launch_time=msg.launch_time,
        session_start_time=msg.session_start_time,
        session_stop_time=msg.session_stop_time,
        is_on=msg.is_on,
        kernel_err_message=msg.kernel_err_message,
        kernel_warn_message=msg.kernel_warn_message,
    )


def dashboard_to_model(msg: neurons_pb2.DashboardReply) -> Dashboard:
    tr = tuple(msg.time_range) if len(msg.time_range) == 2 else (0.0, 0.0)
    return Dashboard(
        ports=tuple(msg.ports),
        time_range=(float(tr[0]), float(tr[1])),
        num_sites_total=msg.num_sites_total,
        num_sites_enabled=msg.num_sites_enabled,
        num_sites_active=msg.num_sites_active,
        num_units=msg.num_units,
        num_spikes_processed=msg.num_spikes_processed,
        num_spikes_labeled=msg.num_spikes_labeled,
        spikes_file_path=msg.spikes_file_path,
        spikes_file_base_name=msg.spikes_file_base_name,
        probe_snr=tuple(msg.probe_snr.values),
        probe_noise=tuple(msg.probe_noise.values),
        probe_units=tuple(msg.probe_units.values),
        port_stats=tuple(
            PortSummary(
                port=p.port,
                snr=tuple(p.snr.values),
                noise=tuple(p.noise.values),
                units=tuple(p.units.values),
            )
            for p in msg.port_stats
        ),
        sorter_state=state_to_model(msg.state),
    )


def spike_arrays(
    msg: neurons_pb2.SpikeArrays,
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]
]:
    """The flat arrays of a SpikeArrays message (waveforms as (n, n_pts) float32, a copy)."""
    n = len(msg.sample_index)
    sample_index = np.fromiter(msg.sample_index, dtype=np.int64, count=n)
    channel = np.fromiter(msg.channel, dtype=np.int32, count=n)
    label = np.fromiter(msg.label, dtype=np.int32, count=n)
    waves = np.frombuffer(msg.waveforms, dtype="<f4").astype(np.float32)
    n_pts = max(msg.n_pts, 0)
    waveforms = waves.reshape(n, n_pts) if n and n_pts else np.zeros((n, n_pts), np.float32)
    return sample_index, channel, label, waveforms


def batch_to_model(msg: neurons_pb2.SpikeBatchMsg) -> SpikeBatch:
    sample_index, channel, label, waveforms = spike_arrays(msg.spikes)
    return SpikeBatch(
        sample_index=sample_index,
        channel=channel,
        label=label,
        waveforms=waveforms,
        pre_pts=msg.spikes.pre_pts,
        fs=msg.spikes.fs,
        first_seq=msg.first_seq,
        next_seq=msg.next_seq,
        missed_spikes=msg.missed_spikes,
        detected_ns=np.asarray(msg.detected_ns, dtype=np.int64),
        acquired_ns=np.asarray(msg.acquired_ns, dtype=np.int64),
        sent_ns=msg.sent_ns,
    )


def recent_to_model(msg: neurons_pb2.RecentSpikesReply, ntv_idxs: list[int]) -> SpikesSet:
    sample_index, channel, label, waveforms = spike_arrays(msg.spikes)
    return SpikesSet(
        envelope_time_range=np.asarray(msg.envelope_time_range, dtype=np.float64),
        num_pts_waveform=msg.spikes.n_pts,
        num_spikes_total=int(sample_index.size),
        num_channels=msg.num_channels,
        sample_index=sample_index,
        channel=channel,
        label=label,
        waveforms=waveforms,
        ntv_idxs=tuple(ntv_idxs),
    )


def neuron_to_model(n: neurons_pb2.NeuronInfo) -> NeuronDescriptor:
    return NeuronDescriptor(
        id=n.id,
        ntv_idx=n.ntv_idx,
        label=n.label,
        pos=(n.probe_x, n.probe_y, n.probe_z),
        spike_count=n.spike_count,
        spike_rate=n.spike_rate,
        mean_abs_peak_waveform=n.mean_abs_peak_waveform,
        snr=n.snr,
    )


def metadata_to_model(msg: neurons_pb2.SpikesMetadataReply) -> SpikesMetadata:
    tr = tuple(msg.time_range) if len(msg.time_range) == 2 else (0.0, 0.0)
    return SpikesMetadata(
        id=msg.id,
        time_range=(float(tr[0]), float(tr[1])),
        fs=msg.fs,
        num_pts_waveform=msg.n_pts_waveform,
        site_list=tuple(
            SpikeSite(
                ntv_idx=s.ntv_idx,
                enabled=s.enabled,
                pos_probe=(s.probe_x, s.probe_y, s.probe_z),
                spike_count=s.spike_count,
                spike_count_labeled=s.spike_count_labeled,
                spike_rate=s.spike_rate,
                noise=s.noise,
                snr=s.snr,
                num_neurons=s.num_neurons,
                neighbor_ntv_idxs=tuple(s.neighbor_ntv_idxs),
                neighbor_distance_um=tuple(s.neighbor_distance_um),
            )
            for s in msg.sites
        ),
        neuron_list=tuple(neuron_to_model(n) for n in msg.neurons),
        neighbor_radius_um=msg.neighbor_radius_um,
    )


def rasters_to_dict(msg: neurons_pb2.RasterReply) -> dict[str, Any]:
    """The documented ``get_spike_rasters`` dict."""
    gpio = np.frombuffer(msg.gpio_data, dtype="<f4").astype(np.float32)
    rows, cols = max(msg.gpio_rows, 0), max(msg.gpio_cols, 0)
    return {
        "time_range": list(msg.time_range),
        "timestamp_range": list(msg.timestamp_range),
        "spikes": {
            "ntv_chan_idx": np.asarray(msg.ntv_chan_idx, dtype=np.int32),
            "timestamps": np.asarray(msg.timestamps, dtype=np.int64),
            "labels": np.asarray(msg.labels, dtype=np.int32),
        },
        "gpio_data": gpio.reshape(rows, cols) if rows * cols == gpio.size else gpio,
    }
