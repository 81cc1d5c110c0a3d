"""The Summa service: multi-dataset signal-metric statistics as background sessions."""

from __future__ import annotations

import asyncio
import time

import grpc

from radiens_async._generated.radiens.v1 import common_pb2, videre_pb2, videre_pb2_grpc
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.datasets.summa import SummaSessions, SummaState
from radiens_async.hub.status_codes import unary
from radiens_async.models.converters.datasets import dataset_metadata_to_proto
from radiens_async.models.dataset_metadata import DatasetMetadata


def status_to_proto(s: SummaState) -> videre_pb2.SummaStatusReply:
    end = s.finished or time.time()
    return videre_pb2.SummaStatusReply(
        summa_id=s.summa_id,
        is_complete=s.is_complete,
        frac_complete=s.frac_complete,
        packet_dur_sec=s.bin_dur_sec,
        dsource_wall_start=s.wall_start,
        dsource_wall_end=s.wall_end,
        analysis_start=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(s.started)),
        elapsed_sec=end - s.started,
        message=s.error or ("complete" if s.is_complete else "working"),
        dataset_ids=s.dataset_ids,
        error=s.error,
    )


class SummaService(videre_pb2_grpc.SummaServicer):
    """gRPC face of :class:`SummaSessions`."""

    def __init__(self, sessions: SummaSessions, catalog: DatasetCatalog) -> None:
        self.sessions = sessions
        self.catalog = catalog

    @unary
    async def Launch(
        self, request: videre_pb2.SummaLaunchRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.SummaStatusReply:
        s = await asyncio.to_thread(
            self.sessions.launch, request.summa_id, list(request.dataset_ids), request.bin_dur_sec
        )
        return status_to_proto(s)

    @unary
    async def Status(
        self, request: videre_pb2.SummaRef, context: grpc.aio.ServicerContext
    ) -> videre_pb2.SummaStatusReply:
        return status_to_proto(self.sessions.get(request.summa_id))

    @unary
    async def Analysis(
        self, request: videre_pb2.SummaAnalysisRequest, context: grpc.aio.ServicerContext
    ) -> videre_pb2.SummaAnalysisReply:
        s, stats = self.sessions.analysis(request.summa_id, request.part)

        def linked() -> list[DatasetMetadata]:
            out = []
            for d in s.dataset_ids:
                try:
                    out.append(self.catalog.metadata(d))
                except Exception:  # unlinked since the session ran: statistics stay valid
                    continue
            return out

        datasets = [dataset_metadata_to_proto(m) for m in await asyncio.to_thread(linked)]
        return videre_pb2.SummaAnalysisReply(
            status=status_to_proto(s),
            stats=[
                videre_pb2.SummaStats(
                    dataset_id=x.dataset_id,
                    metric=videre_pb2.MetricId(mode=x.mode, name=x.name),
                    stats=x.stats,
                    counts=x.counts,
                    dividers=x.dividers,
                )
                for x in stats
            ],
            datasets=datasets,
        )

    @unary
    async def List(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> videre_pb2.SummaListReply:
        return videre_pb2.SummaListReply(
            sessions=[
                videre_pb2.SummaSession(summa_id=k, dataset_ids=v)
                for k, v in self.sessions.list().items()
            ]
        )

    @unary
    async def Clear(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.sessions.clear()
        return common_pb2.Empty()
