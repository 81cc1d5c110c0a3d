"""The SignalMetrics service: KPI parameters, scans and results of datasets and the live stream."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np

from radiens_async._generated.radiens.v1 import common_pb2, videre_pb2, videre_pb2_grpc
from radiens_async.dsp.signal_metrics import MetricsParams
from radiens_async.hub.datasets.metrics_engine import MetricsEngine, walltime_iso
from radiens_async.hub.servicers.videre_service import window_time_range
from radiens_async.hub.status_codes import unary


def params_to_proto(
    p: MetricsParams, ntv_idxs: list[int], fs: float
) -> videre_pb2.MetricsParamsReply:
    """The parameters of every amplifier channel."""
    return videre_pb2.MetricsParamsReply(
        channels=[
            videre_pb2.MetricsChannelParams(
                ntv_idx=ntv,
                thr_activated=p.thr_active[row].tolist(),
                thr=p.thr[row].tolist(),
                thr_ref=[str(r) for r in p.thr_ref[row]],
                weak_thr_activated=p.weak_active[row].tolist(),
                weak_thr=p.weak_thr[row].tolist(),
                weak_ref=[str(r) for r in p.weak_ref[row]],
            )
            for row, ntv in enumerate(ntv_idxs)
        ],
        pre_s=p.pre_s,
        post_s=p.post_s,
        shadow_s=p.shadow_s,
        packet_dur_s=p.packet_dur_s,
        fs=fs,
    )


class SignalMetricsService(videre_pb2_grpc.SignalMetricsServicer):
    """gRPC face of the :class:`MetricsEngine`."""

    def __init__(self, engine: MetricsEngine) -> None:
        self.engine = engine

    @unary
    async def Calculate(
        self, request: videre_pb2.CalculateRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        await asyncio.to_thread(
            self.engine.calculate, request.target.dataset_id, request.cmd or "standard"
        )
        return common_pb2.Empty()

    @unary
    async def Clear(
        self, request: videre_pb2.MetricsTarget, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        await asyncio.to_thread(self.engine.clear, request.dataset_id)
        return common_pb2.Empty()

    @unary
    async def SetParam(
        self, request: videre_pb2.MetricsParamRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.MetricsParamsReply:
        target = request.target.dataset_id

        def apply() -> videre_pb2.MetricsParamsReply:
            p = self.engine.set_param(
                target,
                request.command,
                list(request.reg_float64),
                list(request.reg_bool),
                list(request.ntv_idxs),
            )
            _p, pick, view = self.engine.params(target)
            return params_to_proto(p, pick.ntv_idxs["amp"], view.fs)

        return await asyncio.to_thread(apply)

    @unary
    async def GetParams(
        self, request: videre_pb2.MetricsTarget, context: grpc.aio.ServicerContext
    ) -> videre_pb2.MetricsParamsReply:
        p, pick, view = await asyncio.to_thread(self.engine.params, request.dataset_id)
        return params_to_proto(p, pick.ntv_idxs["amp"], view.fs)

    @unary
    async def GetStatus(
        self, request: videre_pb2.MetricsTarget, context: grpc.aio.ServicerContext
    ) -> videre_pb2.MetricsStatusReply:
        st = await asyncio.to_thread(self.engine.status, request.dataset_id)
        view = st["view"]
        return videre_pb2.MetricsStatusReply(
            dataset_id=st["dataset_id"],
            time_range=window_time_range(view, 0, view.n_samples),
            packet_dur_sec=st["packet_dur_sec"],
            num_packets=st["num_packets"],
            num_sigs=st["num_sigs"],
            is_complete=st["is_complete"],
            frac_complete=st["frac_complete"],
            is_tracking_cache=st["is_tracking_cache"],
            beta=st["beta"],
            persistence_sec=st["persistence_sec"],
            update_period_sec=st["update_period_sec"],
            wall_time_start=walltime_iso(st["wall_time_start"]),
            source_type=st["source_type"],
            scanner_mode=st["scanner_mode"],
        )

    @unary
    async def GetMetrics(
        self, request: videre_pb2.GetMetricsRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.MetricsReply:
        target = request.target.dataset_id
        sec = list(request.sec)
        ids = [(m.mode, m.name) for m in request.metrics]

        def compute() -> videre_pb2.MetricsReply:
            r = self.engine.get_metrics_sec(target, sec, ids, request.tail)
            return videre_pb2.MetricsReply(
                dataset_id=r.dataset_id,
                time_range=window_time_range(r.view, r.t0_pos, r.t1_pos),
                packet_dur_sec=r.packet_dur_s,
                ntv_idxs=r.ntv_idxs,
                metrics=[videre_pb2.MetricId(mode=int(m), name=int(n)) for m, n in r.metric_ids],
                packet_idxs=r.packet_idxs.tolist(),
                val=np.ascontiguousarray(r.val, "<f8").tobytes(),
                packet_first_sample=r.packet_first_sample.tolist(),
            )

        return await asyncio.to_thread(compute)
