"""What users see of a Curate job: its :class:`JobStatus` and its :class:`JobProgress` messages.

Examples
--------
>>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
...     job = await curate.dsp_car("rec_0.xdat", "rec_car")
...     async for p in job.progress():
...         print(f"{p.frac_complete:.0%} (+{p.increment_sec:.1f} s)")
...     (await job.status()).state
<JobState.DONE: 'done'>
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from radiens_async.models.dataset_metadata import DatasetMetadata

__all__ = ["JobProgress", "JobState", "JobStatus"]


class JobState(StrEnum):
    """Life of a job: queued -> running -> done | failed | cancelled | interrupted.

    ``interrupted``: the hub stopped while the job was queued or running.
    """

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """Whether the job has ended (any state but queued/running)."""
        return self not in (JobState.QUEUED, JobState.RUNNING)


class JobProgress(BaseModel):
    """One progress message of a running job (the documented ``fracComplete``/``incrementSec``).

    Attributes
    ----------
    job_id : str
        The job (the documented stream id).
    state : JobState
    frac_complete : float
        0..1 (1.0 once done).
    increment_sec : float
        Seconds of source processed since the previous message of this stream.
    processed_sec, total_sec : float
        Seconds of source processed so far, and in all.
    error : str
        Why the job failed, when it did.
    """

    model_config = ConfigDict(frozen=True)

    job_id: str
    state: JobState
    frac_complete: float = Field(ge=0.0, le=1.0)
    increment_sec: float = 0.0
    processed_sec: float = 0.0
    total_sec: float = 0.0
    error: str = ""


class JobStatus(BaseModel):
    """A job's record on the hub.

    Attributes
    ----------
    id : str
        ``<base name>__xxxx-xxxx`` (the documented stream id).
    kind : str
        Protocol base name: ``lp_filter``, ``bp_filter``, ``CAR``, ..., ``file_convert``.
    state : JobState
    source_path, target_path : str
        As the hub resolved them (``target_path`` is ``<dir>/<base>`` for XDAT targets).
    params : dict
        The operation's parameters.
    frac_complete, processed_sec, total_sec : float
        Progress.
    error : str
        Why the job failed (or ``'cancelled'``).
    result_path : str
        The written target (metadata file for XDAT) once done.
    created_at, started_at, finished_at : datetime or None
        UTC times of the transitions (None when not reached).
    result : DatasetMetadata or None
        The target's metadata once done.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id: str
    kind: str
    state: JobState
    source_path: str
    target_path: str
    params: dict[str, Any] = Field(default_factory=dict)
    frac_complete: float = 0.0
    processed_sec: float = 0.0
    total_sec: float = 0.0
    error: str = ""
    result_path: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: DatasetMetadata | None = None

    @property
    def finished(self) -> bool:
        """Whether the job has ended."""
        return self.state.finished
