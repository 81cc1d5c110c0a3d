"""Videre, SignalMetrics and Summa messages -> user models (signals, PSD, metrics, Summa)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from radiens_async._generated.radiens.v1 import allego_pb2, videre_pb2
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.models.converters.allego import channel_metadata_to_model
from radiens_async.models.converters.datasets import (
    dataset_metadata_to_model,
    time_range_to_model,
)
from radiens_async.models.dataset_signals import DatasetSignals, SignalArrays
from radiens_async.models.psd import PSD
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.models.summa import Histogram, SummaAnalysis, SummaStatus
from radiens_async.utils.enums import FftWindow, MetricMode, MetricName, PsdScaling

__all__ = [
    "cached_channel_metadata",
    "dataset_ids_frame",
    "metrics_params_frame",
    "metrics_status_to_model",
    "metrics_to_model",
    "psd_to_model",
    "signals_to_model",
    "summa_analysis_to_model",
    "summa_status_to_model",
]


def dataset_ids_frame(msg: videre_pb2.DatasetList) -> pd.DataFrame:
    """``get_dataset_ids()``: columns ``dataset ID`` and ``base name``, index named ``index``."""
    frame = pd.DataFrame(
        {
            "dataset ID": [d.dataset_id for d in msg.datasets],
            "base name": [d.base_name for d in msg.datasets],
        }
    )
    frame.index.name = "index"
    return frame


CHANNEL_TABLE_CACHE_SIZE = 32


def cached_channel_metadata(msg: allego_pb2.ChannelMetadataReply) -> ChannelMetadata:
    """:func:`channel_metadata_to_model` of a channel table, converted once per distinct table.

    Windows of a dataset repeat the same table; its serialized bytes are the cache key (a
    few microseconds, against ~0.4 ms to build 64 channel models). The model is frozen, so
    results share it safely.

    Examples
    --------
    >>> cached_channel_metadata(header.channel_metadata).fs  # doctest: +SKIP
    30000.0
    """
    return _channel_metadata_of_bytes(msg.SerializeToString(deterministic=True))


@functools.lru_cache(maxsize=CHANNEL_TABLE_CACHE_SIZE)
def _channel_metadata_of_bytes(data: bytes) -> ChannelMetadata:
    return channel_metadata_to_model(allego_pb2.ChannelMetadataReply.FromString(data))


def signals_to_model(
    header: videre_pb2.SignalsHeader, samples: npt.NDArray[np.floating]
) -> DatasetSignals:
    """Signals from the stream's header and the assembled ``(rows, samples)`` array."""
    counts = list(header.n_per_type)
    bounds = np.cumsum([0, *counts])
    # the documented arrays are float64 (rows of a float64 block are used as they are)
    parts = [samples[bounds[i] : bounds[i + 1]].astype(np.float64, copy=False) for i in range(4)]
    return DatasetSignals(
        dsource_id=header.dataset_id,
        channel_metadata=cached_channel_metadata(header.channel_metadata),
        time_range=time_range_to_model(header.time_range),
        signals=SignalArrays(*parts),
    )


def psd_to_model(msg: videre_pb2.PsdReply) -> PSD:
    """The PSD reply as :class:`PSD`."""
    freqs = np.asarray(msg.frequencies, np.float64)
    psd = np.frombuffer(msg.psd, "<f8").reshape(msg.n_channels, freqs.size)
    return PSD(
        dsource_id=msg.dataset_id,
        window_type=FftWindow(msg.window_type),
        scaling=PsdScaling(msg.scaling),
        freq_bin_width=msg.freq_bin_width,
        channel_metadata=cached_channel_metadata(msg.channel_metadata),
        time_range=time_range_to_model(msg.time_range),
        psd=psd,
        frequencies=freqs,
        samp_freq=msg.samp_freq,
    )


def metrics_to_model(msg: videre_pb2.MetricsReply, walltime: str = "") -> SignalMetrics:
    """The metrics reply as :class:`SignalMetrics` (``val`` is packets x channels x metrics)."""
    ids = [MetricID(MetricMode(m.mode), MetricName(m.name)) for m in msg.metrics]
    n_p, n_c = len(msg.packet_idxs), len(msg.ntv_idxs)
    val = np.frombuffer(msg.val, "<f8").reshape(n_p, n_c, len(ids))
    return SignalMetrics(
        dsource_id=msg.dataset_id,
        time_range=time_range_to_model(msg.time_range),
        packet_dur_sec=msg.packet_dur_sec,
        ntv_idxs=list(msg.ntv_idxs),
        metric_ids=ids,
        packet_idxs=np.asarray(msg.packet_idxs, np.int64),
        packet_first_sample=np.asarray(msg.packet_first_sample, np.int64),
        val=val,
        walltime=walltime,
    )


def metrics_status_to_model(msg: videre_pb2.MetricsStatusReply) -> SignalMetricsStatus:
    return SignalMetricsStatus(
        datasource_id=msg.dataset_id,
        time_range=time_range_to_model(msg.time_range),
        packet_dur_sec=msg.packet_dur_sec,
        num_packets=msg.num_packets,
        num_sigs=msg.num_sigs,
        is_complete=msg.is_complete,
        frac_complete=msg.frac_complete,
        is_tracking_cache=msg.is_tracking_cache,
        beta=msg.beta,
        persistence_sec=msg.persistence_sec,
        update_period_sec=msg.update_period_sec,
        wall_time_start=msg.wall_time_start,
        type=msg.source_type,
        scanner_mode=msg.scanner_mode,
    )


def _levels(values: Any, refs: Any, ref: str) -> list[float]:
    return [float(v) if r == ref else float("nan") for v, r in zip(values, refs, strict=True)]


def metrics_params_frame(msg: videre_pb2.MetricsParamsReply) -> pd.DataFrame:
    """``get_params()``: one row per amplifier channel, the documented columns.

    ``thr`` / ``weak_thr`` are levels in µV and ``thr_sd`` / ``weak_thr_sd`` in noise SDs (NaN
    when the slot is set in the other unit); ``thr_ref`` says which (``'rms'``: x V_rms, the
    ``standard`` calculation). Windows are in ms.
    """
    fs = msg.fs
    pre, post = msg.pre_s * 1e3, msg.post_s * 1e3
    wdw = [round(pre, 5), round(post, 5), round(pre + post, 5)]
    wdw_pts = [round(msg.pre_s * fs), round(msg.post_s * fs)]
    rows = []
    for ch in msg.channels:
        rows.append(
            {
                "ntv_idx": ch.ntv_idx,
                "chan_enabled": True,
                "thr_activated": list(ch.thr_activated),
                "thr": _levels(ch.thr, ch.thr_ref, "uV"),
                "thr_sd": _levels(ch.thr, ch.thr_ref, "sd"),
                "thr_ref": list(ch.thr_ref),
                "thr_wdw": wdw,
                "shadow": round(msg.shadow_s * 1e3, 5),
                "weak_thr": _levels(ch.weak_thr, ch.weak_ref, "uV"),
                "thr_wdw_pts": [*wdw_pts, sum(wdw_pts) + 1],
                "shadow_pts": max(1, round(msg.shadow_s * fs)),
                "weak_thr_activated": list(ch.weak_thr_activated),
                "weak_thr_sd": _levels(ch.weak_thr, ch.weak_ref, "sd"),
                "packet_dur_sec": msg.packet_dur_s,
            }
        )
    return pd.DataFrame(rows)


def summa_status_to_model(msg: videre_pb2.SummaStatusReply) -> SummaStatus:
    return SummaStatus(
        id=msg.summa_id,
        is_complete=msg.is_complete,
        frac_complete=msg.frac_complete,
        packet_dur_sec=msg.packet_dur_sec,
        dataset_ids=list(msg.dataset_ids),
        dsource_wall_start=msg.dsource_wall_start,
        dsource_wall_end=msg.dsource_wall_end,
        analysis_start=msg.analysis_start,
        elapsed_sec=msg.elapsed_sec,
        message=msg.message,
        error=msg.error,
    )


def summa_analysis_to_model(msg: videre_pb2.SummaAnalysisReply) -> SummaAnalysis:
    aggregate: dict[MetricID, Histogram] = {}
    per: dict[str, dict[MetricID, Histogram]] = {}
    for s in msg.stats:
        mid = MetricID(MetricMode(s.metric.mode), MetricName(s.metric.name))
        hist = Histogram(
            stats=np.asarray(s.stats, np.float64),
            counts=np.asarray(s.counts, np.float64),
            dividers=np.asarray(s.dividers, np.float64),
        )
        if s.dataset_id:
            per.setdefault(s.dataset_id, {})[mid] = hist
        else:
            aggregate[mid] = hist
    status = summa_status_to_model(msg.status)
    return SummaAnalysis(
        id=status.id,
        status=status,
        aggregate=aggregate,
        datasource=per,
        all_dsource_info={d.dataset_id: dataset_metadata_to_model(d) for d in msg.datasets},
    )
