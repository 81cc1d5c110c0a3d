"""Radiens protocol signal metrics (``Kpi1``) <-> :class:`SignalMetrics` / status.

An Allego answers live metrics in ``KPI_SVC_STREAM`` mode: one exponential moving average per
channel and metric over the last ``streamLookbackSec`` seconds, not packet by packet. So a live
:class:`SignalMetrics` over this protocol has one packet (index 0) spanning the reply's range.
``KpiMetricsEnum`` names are ``KPI_<our MetricName>`` but for two event metrics (see
:data:`KPI_TO_METRIC`, the one table the hub and the client share); ``metricVals`` is a float32
``DenseMatrix`` of channels x metrics (radiens-core 0.1.2 reads it so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, cast

import numpy as np

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import NotSupported
from radiens_async.models.dataset_metadata import TimeRange, make_time_range
from radiens_async.models.signal_metrics import MetricID, SignalMetrics, SignalMetricsStatus
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID
from radiens_async.utils.enums import MetricMode, MetricName

__all__ = [
    "DEFAULT_LIVE_METRICS",
    "KPI_TO_METRIC",
    "METRIC_TO_KPI",
    "kpi_metric_of",
    "kpi_status_to_model",
    "metrics_request",
    "metrics_to_model",
]

DEFAULT_LIVE_METRICS: Final = tuple(
    MetricID(MetricMode.BASE, n)
    for n in (
        MetricName.RMS,
        MetricName.NOISE_UV,
        MetricName.MAX_MIN_DIFF_ABS,
        MetricName.SNR,
        MetricName.EVENT_RATE,
        MetricName.EVENT_MEAN_MAX_MIN_DIFF_ABS,
    )
)
"""The documented default metric list."""

KPI_TO_METRIC: Final[dict[int, MetricName]] = {
    common_pb2.KPI_NUM_PTS: MetricName.NUM_PTS,
    common_pb2.KPI_NUM_PTS_ISI: MetricName.NUM_PTS_ISI,
    common_pb2.KPI_DUR_SEC: MetricName.DUR_SEC,
    common_pb2.KPI_MEAN: MetricName.MEAN,
    common_pb2.KPI_MIN: MetricName.MIN,
    common_pb2.KPI_MAX: MetricName.MAX,
    common_pb2.KPI_MAX_ABS: MetricName.MAX_ABS,
    common_pb2.KPI_MAX_MIN_DIFF_ABS: MetricName.MAX_MIN_DIFF_ABS,
    common_pb2.KPI_SD: MetricName.SD,
    common_pb2.KPI_RMS: MetricName.RMS,
    common_pb2.KPI_NOISE_UV: MetricName.NOISE_UV,
    common_pb2.KPI_SNR: MetricName.SNR,
    common_pb2.KPI_EVENT_RATE: MetricName.EVENT_RATE,
    common_pb2.KPI_EVENT_MAX: MetricName.EVENT_MAX,
    common_pb2.KPI_EVENT_MIN: MetricName.EVENT_MIN,
    common_pb2.KPI_EVENT_MAX_ABS: MetricName.EVENT_MAX_ABS,
    common_pb2.KPI_EVENT_MAX_MIN_DIFF_ABS: MetricName.EVENT_MAX_MIN_DIFF_ABS,
    # the two names that are not KPI_<our name>
    common_pb2.KPI_EVENT_MEAN_MAX_ABS: MetricName.MEAN_MAX_ABS,
    common_pb2.KPI_EVENT_MEAN_MAX_MIN_DIFF_ABS: MetricName.EVENT_MEAN_MAX_MIN_DIFF_ABS,
}
"""``KpiMetricsEnum`` value -> our metric name (every KPI metric an Allego computes)."""
METRIC_TO_KPI: Final[dict[MetricName, int]] = {m: k for k, m in KPI_TO_METRIC.items()}


def kpi_metric_of(metric: MetricID) -> int:
    """The ``KpiMetricsEnum`` value of one of our metric ids.

    Raises
    ------
    NotSupported
        A metric the Allego KPI service does not compute (``MIN_ISI``, ``VAR`` ...).
    """
    name = MetricName(metric[1])
    if name not in METRIC_TO_KPI:
        raise NotSupported(f"signal metric {name.name}", "Radiens", "an Allego does not compute it")
    return METRIC_TO_KPI[name]


def _time_range(tr: common_pb2.TimeRange, fallback_fs: float) -> TimeRange:
    fs = tr.fs if tr.fs > 0 else fallback_fs
    if len(tr.timestamp) >= 2:
        return make_time_range(timestamp=list(tr.timestamp)[:2], fs=fs)
    sec = [s for s in tr.timeRangeSec][:2]
    return make_time_range(sec if len(sec) == 2 else [0.0, 0.0], fs=fs)


def metrics_request(
    metrics: Sequence[MetricID], ntv_idxs: Sequence[int], lag_s: float, fs: float
) -> common_pb2.KpiMetricsReq:
    """A live ``KpiGetMetrics`` request: the moving average over the last ``lag_s`` seconds."""
    return common_pb2.KpiMetricsReq(
        streamGroupId=PRIMARY_CACHE_STREAM_GROUP_ID,
        stype=common_pb2.PRI,
        arg=common_pb2.BundleReq(
            ntvIdxs=list(ntv_idxs),
            # the request needs a range; STREAM mode reads the look-back instead
            tR=common_pb2.TimeRange(timeRangeSec=[lag_s, float("nan")], fs=fs),
            metrics=[
                common_pb2.KpiMetricID(name=cast("common_pb2.KpiMetricsEnum", kpi_metric_of(m)))
                for m in metrics
            ],
        ),
        mode=common_pb2.KPI_SVC_STREAM,
        streamLookbackSec=lag_s,
    )


def metrics_to_model(
    msg: common_pb2.SignalMetricsPacketReply, requested: Sequence[MetricID], fs: float
) -> SignalMetrics:
    """A ``KpiGetMetrics`` reply as :class:`SignalMetrics` with one packet.

    The metric ids are the requested ones where the reply's names match them (so the mode the
    caller asked for is kept), else ``BASE`` ids of the reply's names.
    """
    by_kpi = {kpi_metric_of(m): m for m in requested}
    ids = [
        by_kpi.get(int(m.name)) or MetricID(MetricMode.BASE, KPI_TO_METRIC[int(m.name)])
        for m in msg.metrics
    ]
    dense = msg.metricVals
    values = np.frombuffer(dense.data, dtype="<f4") if dense.data else np.zeros(0, np.float32)
    n_c, n_m = len(msg.ntvIdxs), len(ids)
    val = values.astype(np.float64).reshape(1, n_c, n_m)
    tr = _time_range(msg.tR, fs)
    return SignalMetrics(
        dsource_id=PRIMARY_CACHE_STREAM_GROUP_ID,
        time_range=tr,
        packet_dur_sec=float(tr.dur_sec),
        ntv_idxs=list(msg.ntvIdxs),
        metric_ids=ids,
        packet_idxs=np.zeros(1, np.int64),
        packet_first_sample=np.asarray([tr.timestamp[0]], np.int64),
        val=val,
    )


def kpi_status_to_model(msg: common_pb2.KpiStatusReply, fs: float) -> SignalMetricsStatus:
    """``GetKpiStatus`` as the live :class:`SignalMetricsStatus` (``type='cache'``)."""
    tr = msg.tR if msg.HasField("tR") else common_pb2.TimeRange(fs=msg.fs or fs)
    return SignalMetricsStatus(
        datasource_id=msg.streamGroupId,
        time_range=_time_range(tr, msg.fs or fs),
        packet_dur_sec=msg.packetDur,
        num_packets=msg.numPackets,
        num_sigs=msg.numSigs,
        is_complete=False,
        frac_complete=0.0,
        is_tracking_cache=True,
        beta=msg.beta,
        persistence_sec=msg.persistence,
        update_period_sec=msg.updatePeriod,
        wall_time_start=msg.wallTimeStart,
        type="cache",
        scanner_mode="off",
    )
