"""Curate job messages <-> user models: :class:`JobStatus`, :class:`JobProgress`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from radiens_async._generated.radiens.v1 import curate_pb2
from radiens_async.models.converters.datasets import dataset_metadata_to_model
from radiens_async.models.dsp_job import JobProgress, JobState, JobStatus

__all__ = ["job_progress_to_model", "job_status_to_model"]


def _time(unix_s: float) -> datetime | None:
    return datetime.fromtimestamp(unix_s, UTC) if unix_s > 0 else None


def job_status_to_model(msg: curate_pb2.JobInfo) -> JobStatus:
    """A ``JobInfo`` message as :class:`JobStatus`."""
    return JobStatus(
        id=msg.id,
        kind=msg.kind,
        state=JobState(msg.state),
        source_path=msg.source_path,
        target_path=msg.target_path,
        params=json.loads(msg.params_json) if msg.params_json else {},
        frac_complete=msg.frac_complete,
        processed_sec=msg.processed_s,
        total_sec=msg.total_s,
        error=msg.error,
        result_path=msg.result_path,
        created_at=_time(msg.created_at),
        started_at=_time(msg.started_at),
        finished_at=_time(msg.finished_at),
        result=dataset_metadata_to_model(msg.result) if msg.HasField("result") else None,
    )


def job_progress_to_model(msg: curate_pb2.JobProgress) -> JobProgress:
    """A ``JobProgress`` message as :class:`JobProgress`."""
    return JobProgress(
        job_id=msg.job_id,
        state=JobState(msg.state),
        frac_complete=min(1.0, max(0.0, msg.frac_complete)),
        increment_sec=msg.increment_s,
        processed_sec=msg.processed_s,
        total_sec=msg.total_s,
        error=msg.error,
    )
