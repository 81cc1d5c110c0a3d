"""The Curate service: DSP and conversion jobs on recorded files, their progress and results.

The servicer turns a request into a domain operation, lets :class:`CurateJobs` validate it
completely and start the job (off the event loop: validation reads the source's metadata), and
converts job records into messages. Errors travel as status codes: INVALID_ARGUMENT (bad
values, not XDAT, unsupported type), NOT_FOUND (source, directory or job), ALREADY_EXISTS
(target without force).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import grpc

from radiens_async._generated.radiens.v1 import common_pb2, curate_pb2, curate_pb2_grpc
from radiens_async.errors import InvalidArgument
from radiens_async.hub.jobs.curate_jobs import CurateJobs
from radiens_async.hub.jobs.dsp_ops import (
    BandPass,
    BandStop,
    CommonAverage,
    Decimate,
    DspOp,
    HighPass,
    LowPass,
    Notch,
    PairedDiff,
    SliceChannels,
    SliceTime,
    VirtualRef,
)
from radiens_async.hub.jobs.job_runner import JobRecord
from radiens_async.hub.status_codes import server_stream, unary
from radiens_async.models.converters.datasets import dataset_metadata_to_proto
from radiens_async.models.dataset_metadata import DatasetMetadata

__all__ = ["CurateService", "op_from_request"]


def op_from_request(request: curate_pb2.DspRequest) -> DspOp:
    """The domain operation a ``DspRequest`` asks for.

    Raises
    ------
    InvalidArgument
        If no operation is set.
    """
    which = request.WhichOneof("op")
    if which == "low_pass":
        return LowPass(request.low_pass.cutoff_hz)
    if which == "high_pass":
        return HighPass(request.high_pass.cutoff_hz)
    if which == "band_pass":
        return BandPass(request.band_pass.low_hz, request.band_pass.high_hz)
    if which == "band_stop":
        return BandStop(request.band_stop.low_hz, request.band_stop.high_hz)
    if which == "notch":
        return Notch(request.notch.freq_hz, request.notch.bandwidth_hz)
    if which == "paired_diff":
        return PairedDiff(request.paired_diff.source_chan, request.paired_diff.ref_chan)
    if which == "virtual_ref":
        return VirtualRef(request.virtual_ref.ref_chan)
    if which == "car":
        return CommonAverage()
    if which == "decimate":
        return Decimate(request.decimate.factor)
    if which == "slice_time":
        return SliceTime(request.slice_time.time_start_s, request.slice_time.time_end_s)
    if which == "slice_channels":
        return SliceChannels(tuple(request.slice_channels.sys_idxs))
    raise InvalidArgument("the request names no DSP operation")


def _info(record: JobRecord, result: DatasetMetadata | None = None) -> curate_pb2.JobInfo:
    msg = curate_pb2.JobInfo(
        id=record.id,
        kind=record.kind,
        state=record.state,
        source_path=record.source,
        target_path=record.target,
        params_json=json.dumps(record.params),
        frac_complete=record.frac_complete,
        processed_s=record.processed_s,
        total_s=record.total_s,
        error=record.error,
        result_path=record.result_path,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )
    if result is not None:
        msg.result.CopyFrom(dataset_metadata_to_proto(result))
    return msg


def _progress(record: JobRecord, increment_s: float) -> curate_pb2.JobProgress:
    return curate_pb2.JobProgress(
        job_id=record.id,
        state=record.state,
        frac_complete=record.frac_complete,
        increment_s=max(0.0, increment_s),
        processed_s=record.processed_s,
        total_s=record.total_s,
        error=record.error if record.finished else "",
    )


class CurateService(curate_pb2_grpc.CurateServicer):
    """gRPC face of :class:`CurateJobs`.

    Parameters
    ----------
    jobs : CurateJobs
        Validates requests and runs them on the hub's job runner.
    """

    def __init__(self, jobs: CurateJobs) -> None:
        self.jobs = jobs

    @unary
    async def SubmitDsp(
        self, request: curate_pb2.DspRequest, context: grpc.aio.ServicerContext
    ) -> curate_pb2.JobInfo:
        op = op_from_request(request)
        record = await asyncio.to_thread(
            self.jobs.submit_dsp, op, request.source_path, request.target_path, request.force
        )
        return _info(record)

    @unary
    async def FileConvert(
        self, request: curate_pb2.FileConvertRequest, context: grpc.aio.ServicerContext
    ) -> curate_pb2.JobInfo:
        subject = None
        if request.HasField("nwb_subject") and request.nwb_subject.subject_id:
            s = request.nwb_subject
            fields = {
                "subject_id": s.subject_id,
                "species": s.species,
                "sex": s.sex,
                "age": s.age,
                "description": s.description,
            }
            subject = {k: v for k, v in fields.items() if v}
        record = await asyncio.to_thread(
            self.jobs.submit_convert,
            request.source_path,
            request.dest_path,
            request.dest_file_type or None,
            request.force,
            subject,
        )
        return _info(record)

    @unary
    async def GetJob(
        self, request: curate_pb2.JobRequest, context: grpc.aio.ServicerContext
    ) -> curate_pb2.JobInfo:
        record = self.jobs.runner.get(request.job_id)
        return _info(record, await asyncio.to_thread(self.jobs.result_metadata, record))

    @unary
    async def CancelJob(
        self, request: curate_pb2.JobRequest, context: grpc.aio.ServicerContext
    ) -> curate_pb2.JobInfo:
        return _info(self.jobs.runner.cancel(request.job_id))

    @unary
    async def ListJobs(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> curate_pb2.JobList:
        return curate_pb2.JobList(jobs=[_info(r) for r in self.jobs.runner.all_jobs()])

    @server_stream
    async def StreamJobProgress(
        self, request: curate_pb2.JobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[curate_pb2.JobProgress]:
        runner = self.jobs.runner
        record = runner.get(request.job_id)  # NOT_FOUND before the stream starts
        async with contextlib.aclosing(runner.watch(record.id)) as changes:
            async for record, increment_s in changes:
                yield _progress(record, increment_s)
