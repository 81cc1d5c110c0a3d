"""Radiens protocol spikes (``Neurons1``): spec, rasters, dense spikes and neurons -> our models.

Dense spikes (``SpikesSpikeDataDenseReply``) are one float32 matrix ``(rows, waveformNPoints)``;
each channel descriptor owns rows ``[rowOffset, rowOffset + numRows)``, one block of
``numRows / len(labels)`` site rows per spike (the primary site first), with the spikes'
``labels`` and sample ``timestamps`` (radiens-core 0.1.2's reading).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from radiens_async._generated.allego import biointerface_pb2, spikesorter_pb2
from radiens_async.errors import RadiensError
from radiens_async.models.spikes import (
    NEURON_COLUMNS,
    NeuronDescriptor,
    SpikeSite,
    SpikesMetadata,
    SpikesSet,
)

__all__ = [
    "DenseSpikes",
    "dense_to_arrays",
    "dense_to_spikes_set",
    "neuron_to_model",
    "neurons_frame",
    "rasters_to_dict",
    "spec_to_metadata",
    "unique_neurons",
]


def _label(text: str) -> int:
    """A unit label on the wire is text (``'3'``; ``'bad'``/``'delete'`` for no unit): 0 then."""
    try:
        return int(text)
    except ValueError:
        return 0


def _neuron_id(text: str, label: int) -> int:
    try:
        return int(text)
    except ValueError:
        return label


def _pos3(values: Any) -> tuple[float, float, float]:
    v = [float(x) for x in values][:3]
    v += [0.0] * (3 - len(v))
    return (v[0], v[1], v[2])


def neuron_to_model(msg: biointerface_pb2.NeuronDescriptor) -> NeuronDescriptor:
    """One ``NeuronDescriptor`` as our :class:`NeuronDescriptor`."""
    label = _label(msg.spikeLabel)
    return NeuronDescriptor(
        id=_neuron_id(msg.neuronID, label),
        ntv_idx=msg.siteNtvChanIdx,
        label=label,
        pos=_pos3(msg.posProbe),
        spike_count=msg.spikeCount,
        spike_rate=msg.spikeRate,
        mean_abs_peak_waveform=msg.meanAbsPeakWfm,
        snr=msg.snr,
    )


def unique_neurons(msg: biointerface_pb2.BiointerfaceGetNeuronsReply) -> list[NeuronDescriptor]:
    """The neurons of a ``BiointerfaceGetNeurons`` reply, one per id, sorted by id.

    A neuron listed under several sites is one unit: its primary site's listing wins.
    """
    seen: dict[int, NeuronDescriptor] = {}
    for site_idx, site in sorted(msg.site.items()):
        for n in site.neuron:
            model = neuron_to_model(n)
            if model.id not in seen or site_idx == n.siteNtvChanIdx:
                seen[model.id] = model
    return [seen[k] for k in sorted(seen)]


def neurons_frame(msg: biointerface_pb2.BiointerfaceGetNeuronsReply) -> pd.DataFrame:
    """``BiointerfaceGetNeurons`` as the ``get_neurons()`` table: one row per neuron, by id."""
    rows = [n.model_dump() for n in unique_neurons(msg)]
    return pd.DataFrame(rows, columns=list(NEURON_COLUMNS))


def _first_count(values: Any) -> float:
    return float(values[0]) if len(values) else 0.0


def spec_to_metadata(
    msg: biointerface_pb2.SpikesSpecReply, neurons: biointerface_pb2.BiointerfaceGetNeuronsReply
) -> SpikesMetadata:
    """``SpikesGetSpec`` (+ the neurons of ``BiointerfaceGetNeurons``) as :class:`SpikesMetadata`.

    ``spikeCountSite`` / ``spikeRateSite`` hold ``[all, labeled]`` (the second defaults to 0).
    """
    tr = msg.spikeTR if msg.HasField("spikeTR") else msg.tR
    sec = list(tr.timeRangeSec)
    n_pts = 0
    sites = []
    for s in msg.site:
        if len(s.compLen.waveform) and not n_pts:
            n_pts = int(s.compLen.waveform[-1])
        counts = list(s.spikeCountSite)
        sites.append(
            SpikeSite(
                ntv_idx=s.ntvChanIdx,
                enabled=s.isEnabled,
                pos_probe=_pos3(s.posProbe),
                spike_count=int(_first_count(counts)),
                spike_count_labeled=int(counts[1]) if len(counts) > 1 else 0,
                spike_rate=_first_count(s.spikeRateSite),
                noise=s.noiseLevelSd,
                snr=s.snrSite,
                num_neurons=s.numNeurons if s.HasField("numNeurons") else len(s.neuron),
                neighbor_ntv_idxs=tuple(s.neighbor.ntvChanIdx),
                neighbor_distance_um=tuple(s.neighbor.distance),
            )
        )
    return SpikesMetadata(
        id=msg.biointerfaceID,
        time_range=(sec[0], sec[1]) if len(sec) >= 2 else (0.0, 0.0),
        fs=tr.fs,
        num_pts_waveform=n_pts,
        site_list=tuple(sites),
        neuron_list=tuple(unique_neurons(neurons)),
        neighbor_radius_um=msg.neighborhoodRadiusUm,
    )


def rasters_to_dict(msg: spikesorter_pb2.SpikeSorterRasterDataReply) -> dict[str, Any]:
    """``SpikeSorterGetRasterData`` as the documented ``get_spike_rasters`` dict.

    Each spike's channel is its ``dataIdxs[0]`` (the raster row: the ntv index in CHANNELS
    mode); ``gpio_data`` is float32 ``GPIOShape``.
    """
    ts = msg.spikeTimestamps
    gpio = np.frombuffer(msg.GPIOData, dtype="<f4")
    shape = list(msg.GPIOShape)
    if len(shape) == 2 and shape[0] * shape[1] == gpio.size:
        gpio = gpio.reshape(shape[0], shape[1])
    return {
        "time_range": list(msg.timeRange),
        "timestamp_range": list(msg.timeStampRange),
        "spikes": {
            "ntv_chan_idx": np.asarray(
                [t.dataIdxs[0] if len(t.dataIdxs) else -1 for t in ts], dtype=np.int32
            ),
            "timestamps": np.asarray([t.spikeTimestamp for t in ts], dtype=np.int64),
            "labels": np.asarray([t.label for t in ts], dtype=np.int32),
        },
        "gpio_data": gpio.astype(np.float32),
    }


@dataclass(frozen=True, slots=True)
class DenseSpikes:
    """Flat arrays of a dense reply, in timestamp order: one primary-site waveform per spike."""

    sample_index: npt.NDArray[np.int64]
    channel: npt.NDArray[np.int32]
    label: npt.NDArray[np.int32]
    waveforms: npt.NDArray[np.float32]
    n_pts: int


def dense_to_arrays(msg: biointerface_pb2.SpikesSpikeDataDenseReply) -> DenseSpikes:
    """The spikes of a dense reply as flat arrays (sorted by sample index, then channel).

    Raises
    ------
    RadiensError
        A channel's rows fall outside the matrix or do not split into whole spikes.
    """
    n_pts = int(msg.waveformNPoints)
    data = msg.data
    flat = np.frombuffer(data, dtype="<f4") if data else np.zeros(0, np.float32)
    if n_pts and flat.size % n_pts:
        raise RadiensError(f"dense spikes: {flat.size} samples are not whole {n_pts}-point rows")
    matrix = flat.reshape(-1, n_pts) if n_pts else np.zeros((0, 0), np.float32)
    stamps, chans, labels, waves = [], [], [], []
    for d in msg.channelDescriptors:
        n = len(d.labels)
        if n == 0:
            continue
        offset = d.rowOffset if d.HasField("rowOffset") else 0
        n_rows = d.numRows if d.HasField("numRows") else n
        if n_rows % n or offset + n_rows > matrix.shape[0] or len(d.timestamps) != n:
            raise RadiensError(f"dense spikes: inconsistent block of channel {d.ntvChanIdx}")
        rows = matrix[offset : offset + n_rows].reshape(n, n_rows // n, n_pts)[:, 0, :]
        stamps.append(np.asarray(d.timestamps, dtype=np.int64))
        chans.append(np.full(n, d.ntvChanIdx, dtype=np.int32))
        labels.append(np.asarray(d.labels, dtype=np.int32))
        waves.append(rows)
    if not stamps:
        empty = np.zeros(0, np.int64)
        return DenseSpikes(
            empty, empty.astype(np.int32), empty.astype(np.int32),
            np.zeros((0, n_pts), np.float32), n_pts,
        )  # fmt: skip
    sample_index = np.concatenate(stamps)
    channel = np.concatenate(chans)
    order = np.lexsort((channel, sample_index))
    return DenseSpikes(
        sample_index=sample_index[order],
        channel=channel[order],
        label=np.concatenate(labels)[order],
        waveforms=np.ascontiguousarray(np.concatenate(waves)[order], dtype=np.float32),
        n_pts=n_pts,
    )


def dense_to_spikes_set(
    msg: biointerface_pb2.SpikesSpikeDataDenseReply, ntv_idxs: list[int]
) -> SpikesSet:
    """A dense reply as the ``get_recent_spikes`` :class:`SpikesSet`."""
    spikes = dense_to_arrays(msg)
    return SpikesSet(
        envelope_time_range=np.asarray(list(msg.timeRange)[:2], dtype=np.float64),
        num_pts_waveform=spikes.n_pts,
        num_spikes_total=int(spikes.sample_index.size),
        num_channels=len(ntv_idxs),
        sample_index=spikes.sample_index,
        channel=spikes.channel,
        label=spikes.label,
        waveforms=spikes.waveforms,
        ntv_idxs=tuple(ntv_idxs),
    )
