"""``allego.Kpi1`` over the hub's domain: live signal metrics from our :class:`MetricsEngine`.

The same engine answers our own ``SignalMetrics`` service, so both protocols see the same
parameters (thresholds, packet duration) and the same values, computed on the stage-2 signal
when the stream has a stage-2 DSP group.

``KpiGetMetrics`` in ``KPI_SVC_STREAM`` (the live mode; also what an unset mode gets) answers
for the last ``streamLookbackSec`` seconds of the cache (the look-back is shared by every
client and stays set; 1 s until set): each value is our ``STREAM``-mode metric of the packets
of that window, i.e. the last packet of ``signal_metrics().get_metrics(time_range=lookback,
metrics=[MetricID(STREAM, name)])`` -- an exact fold over the window rather than an Allego's
exponential moving average. The reply's ``tR`` is that window. ``KPI_SVC_RANGE`` (an exact
fold over a time range) is not available on a live stream, as on an Allego.

``metricVals`` is a float32 ``DenseMatrix`` of rows = channels (``ntvIdxs`` order) and
columns = metrics (radiens-core 0.1.2 reads KPI matrices as float32).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import numpy as np

from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async.dsp.signal_metrics import DEFAULT_PACKET_DUR_S
from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.datasets.metrics_engine import (
    DEFAULT_METRICS,
    PACKET_DUR,
    MetricsEngine,
    MetricsResult,
    walltime_iso,
)
from radiens_async.hub.datasets.signal_view import LIVE_DATASET_ID
from radiens_async.hub.radiens.healthcheck import HealthcheckCalls
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.signal_group import LIVE_SIGNAL_GROUP_ID, check_stream_group
from radiens_async.hub.status_codes import unary
from radiens_async.models.converters.radiens_kpi import KPI_TO_METRIC, METRIC_TO_KPI
from radiens_async.utils.enums import MetricMode

#: ``KpiMetricsEnum`` -> our metric (by name, except the two event means, which we call
#: ``MEAN_MAX_ABS`` and ``EVENT_MEAN_MAX_MIN_DIFF_ABS``).

#: The look-back of ``KPI_SVC_STREAM`` until a client sets one (radiens-core: 1 s).
DEFAULT_LOOKBACK_S = 1.0
#: Longest look-back accepted (the cache never holds more than minutes).
MAX_LOOKBACK_S = 3600.0
#: Bytes of one KPI value in memory (float32), for ``memoryBytes``.
KPI_VALUE_BYTES = 4


def kpi_metrics_from_proto(ids: Sequence[common_pb2.KpiMetricID]) -> list[int]:
    """The requested ``KpiMetricsEnum`` values (empty: the documented default list).

    Raises
    ------
    InvalidArgument
        An unknown metric number.
    """
    if not ids:
        return [METRIC_TO_KPI[name] for _mode, name in DEFAULT_METRICS]
    out = []
    for m in ids:
        if m.name not in KPI_TO_METRIC:
            raise InvalidArgument(
                f"unknown KpiMetricsEnum {m.name} (KPI_NUM_PTS=0 .. KPI_EVENT_MEAN_MAX_MIN_DIFF_ABS"
                f"={common_pb2.KPI_EVENT_MEAN_MAX_MIN_DIFF_ABS})"
            )
        out.append(int(m.name))
    return out


def time_range_proto(first: int, stop: int, fs: float) -> common_pb2.TimeRange:
    """A complete ``TimeRange`` of samples ``[first, stop)``."""
    return common_pb2.TimeRange(
        timeRangeSec=[first / fs, stop / fs], timestamp=[first, stop], fs=fs
    )


def metrics_reply(
    result: MetricsResult, rows: Sequence[int], kpis: Sequence[int]
) -> common_pb2.SignalMetricsPacketReply:
    """The last packet's STREAM values of ``rows`` (positions in ``result.ntv_idxs``)."""
    values = result.val[-1][np.asarray(rows, np.intp)]  # (channels, metrics)
    view = result.view
    return common_pb2.SignalMetricsPacketReply(
        ntvIdxs=[result.ntv_idxs[r] for r in rows],
        sigType=common_pb2.PRI,
        metrics=[common_pb2.KpiMetricID(name=k) for k in kpis],  # type: ignore[arg-type]
        metricVals=common_pb2.DenseMatrix(
            rows=values.shape[0],
            cols=values.shape[1],
            data=np.ascontiguousarray(values, "<f4").tobytes(),
        ),
        tR=time_range_proto(
            view.first_sample + result.t0_pos, view.first_sample + result.t1_pos, view.fs
        ),
        answeredMode=common_pb2.KPI_SVC_STREAM,
    )


def status_reply(
    packet_dur_s: float,
    persistence_s: float,
    beta: float,
    num_packets: int,
    num_sigs: int,
    fs: float,
    first: int,
    stop: int,
    wall_time_start: str,
) -> common_pb2.KpiStatusReply:
    """A complete ``KpiStatusReply`` of the live stream (samples ``[first, stop)``).

    The in-memory capacity is what the cache holds (``persistence``) in packets; its bytes
    count every KPI metric of every channel as float32.
    """
    capacity = int(persistence_s // packet_dur_s) if packet_dur_s > 0 else 0
    return common_pb2.KpiStatusReply(
        streamGroupId=LIVE_SIGNAL_GROUP_ID,
        timeRange=(stop - first) / fs,
        timestampRange=stop - first,
        numPacketsMemory=capacity,
        packetDur=packet_dur_s,
        updatePeriod=packet_dur_s,
        persistence=persistence_s,
        beta=beta,
        numPackets=num_packets,
        memoryBytes=float(capacity * num_sigs * len(KPI_TO_METRIC) * KPI_VALUE_BYTES),
        fs=fs,
        wallTimeStart=wall_time_start,
        tR=time_range_proto(first, stop, fs),
        numSigs=num_sigs,
    )


@dataclass
class LiveKpi:
    """The Radiens-protocol side of live KPI: the shared look-back of ``KPI_SVC_STREAM``."""

    lookback_s: float = DEFAULT_LOOKBACK_S


class Kpi1Service(HealthcheckCalls, allegoserver_pb2_grpc.Kpi1Servicer):
    """``allego.Kpi1`` of an Allego app, translated onto the hub's domain objects."""

    def __init__(self, domain: RadiensDomain) -> None:
        self.domain = domain
        self.live = LiveKpi()

    @property
    def engine(self) -> MetricsEngine:
        if self.domain.metrics is None:
            raise FailedPrecondition("this hub computes no signal metrics")
        return self.domain.metrics

    @unary
    async def KpiGetMetrics(
        self, request: common_pb2.KpiMetricsReq, context: grpc.aio.ServicerContext
    ) -> common_pb2.SignalMetricsPacketReply:
        check_stream_group(request.streamGroupId)
        if request.HasField("stype") and request.stype != common_pb2.PRI:
            raise InvalidArgument(f"KPI covers amplifier channels (PRI) only, not {request.stype}")
        if request.HasField("mode") and request.mode == common_pb2.KPI_SVC_RANGE:
            raise FailedPrecondition(
                "KPI_SVC_RANGE (an exact fold over a time range) is not available on a live"
                " stream; use KPI_SVC_STREAM with streamLookbackSec"
            )
        if request.mode not in (common_pb2.KPI_SVC_RANGE, common_pb2.KPI_SVC_STREAM):
            raise InvalidArgument(f"unknown KpiServiceMode {request.mode}")
        lookback = self.live.lookback_s
        if request.HasField("streamLookbackSec"):
            lookback = request.streamLookbackSec
            if not (math.isfinite(lookback) and 0 < lookback <= MAX_LOOKBACK_S):
                raise InvalidArgument(
                    f"streamLookbackSec must be in (0, {MAX_LOOKBACK_S:g}] s, got {lookback!r}"
                )
        kpis = kpi_metrics_from_proto(request.arg.metrics)
        ids = [(int(MetricMode.STREAM), int(KPI_TO_METRIC[k])) for k in kpis]
        wanted = list(request.arg.ntvIdxs)
        engine = self.engine

        def compute() -> common_pb2.SignalMetricsPacketReply:
            view = engine.view(LIVE_DATASET_ID)
            if view.n_samples == 0:
                raise FailedPrecondition("the live cache holds no samples yet")
            # a moving average has what the stream gave it so far: clip to the cache
            held = min(lookback, view.n_samples / view.fs)
            result = engine.get_metrics_sec(LIVE_DATASET_ID, [held], ids, True)
            return metrics_reply(result, self._rows(result.ntv_idxs, wanted), kpis)

        reply = await asyncio.to_thread(compute)
        if request.HasField("streamLookbackSec"):
            self.live.lookback_s = lookback  # shared by every client, as on an Allego
        return reply

    def _rows(self, ntv: list[int], wanted: list[int]) -> list[int]:
        """Positions in the amplifier list of the requested channels (none: the selected ones).

        Raises
        ------
        InvalidArgument
            A native index that is not an amplifier channel.
        """
        if not wanted:
            device = self.domain.device
            amp = device.layout.of_type(StreamSignalType.AMP)
            selected = {c.ntv_idx for c in amp if device.channel_selection.is_selected(c)}
            return [r for r, i in enumerate(ntv) if i in selected]
        where = {i: r for r, i in enumerate(ntv)}
        unknown = [i for i in wanted if i not in where]
        if unknown:
            raise InvalidArgument(
                f"amplifier native index {unknown[:5]} is not a channel of the live stream"
                f" (0..{len(ntv) - 1})"
            )
        return [where[i] for i in wanted]

    @unary
    async def GetKpiStatus(
        self, request: common_pb2.GetKpiStatusRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.KpiStatusReply:
        check_stream_group(request.streamGroupId)
        engine = self.engine
        device = self.domain.device
        if device.cache is None:
            # never streamed: nothing computed yet (parameters are the standard ones)
            n_amp = device.layout.count(StreamSignalType.AMP)
            return status_reply(DEFAULT_PACKET_DUR_S, 0.0, math.nan, 0, n_amp, device.fs, 0, 0, "")
        st = await asyncio.to_thread(engine.status, LIVE_DATASET_ID)
        view = st["view"]
        return status_reply(
            st["packet_dur_sec"],
            st["persistence_sec"],
            st["beta"],
            st["num_packets"],
            st["num_sigs"],
            view.fs,
            view.first_sample,
            view.first_sample + view.n_samples,
            walltime_iso(st["wall_time_start"]),
        )

    @unary
    async def SetKpiPacketDur(
        self, request: common_pb2.SetKpiParamRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        if request.HasField("streamGroupId"):
            check_stream_group(request.streamGroupId)
        if not request.HasField("param"):
            raise InvalidArgument("SetKpiPacketDur needs param (the packet duration in s)")
        engine = self.engine
        dur = request.param
        await asyncio.to_thread(
            engine.set_param, LIVE_DATASET_ID, PACKET_DUR, [dur, 0.0], [True, False], []
        )
        return common_pb2.StandardReply()
