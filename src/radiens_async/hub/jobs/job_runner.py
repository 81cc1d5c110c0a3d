"""The hub's background job runner: threads that run jobs, and a job table in the hub's store.

A job is a function of a :class:`JobContext` (its stop flag and progress reporter) that returns
the path of what it made. The runner gives it an id, runs it on an executor (local threads
now; the :class:`JobExecutor` seam is where a Dask cluster would plug in), tracks its state and
progress in memory for watchers, and records every state change in the hub's SQLite store
(table ``jobs``), so that jobs outlive the client that submitted them and a restarted hub
still reports what finished and what failed. A job that was queued or running when the hub
stopped is reported as ``interrupted``, and its staging files are removed.

States: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled`` | ``interrupted``.

Examples
--------
>>> runner = JobRunner(HubStore(data_dir))  # doctest: +SKIP
>>> record = runner.submit("lp_filter", src, dst, {"cutoff_hz": 750}, total_s=60.0,
...                        work=lambda ctx: run(ctx))  # doctest: +SKIP
>>> runner.get(record.id).state  # doctest: +SKIP
'running'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from radiens_async.errors import JobCancelled, NotFound
from radiens_async.formats.staged_output import discard_staging
from radiens_async.hub.store import HubStore
from radiens_async.models.dsp_job import JobState

__all__ = [
    "TERMINAL_STATES",
    "JobContext",
    "JobExecutor",
    "JobRecord",
    "JobRunner",
    "ThreadJobExecutor",
    "new_job_id",
]

log = logging.getLogger(__name__)

# The states as plain strings (what the store and the messages hold), named once in JobState.
QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED = (
    JobState.QUEUED.value,
    JobState.RUNNING.value,
    JobState.DONE.value,
    JobState.FAILED.value,
    JobState.CANCELLED.value,
    JobState.INTERRUPTED.value,
)
TERMINAL_STATES = frozenset(s.value for s in JobState if s.finished)
_PERSIST_PROGRESS_EVERY_S = 1.0
# A watcher re-reads the job at least this often even without a wake-up.
_WATCH_POLL_S = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL,
    processed_s REAL NOT NULL DEFAULT 0,
    total_s REAL NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    result_path TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    started_at REAL NOT NULL DEFAULT 0,
    finished_at REAL NOT NULL DEFAULT 0
)
"""
_COLUMNS = (
    "id, kind, source, target, params, state, processed_s, total_s, error, result_path,"
    " created_at, started_at, finished_at"
)


def new_job_id(base_name: str) -> str:
    """``<base name>__xxxx-xxxx``: the documented protocol id (characters 4..12 of a uuid4).

    Examples
    --------
    >>> len(new_job_id("lp_filter")) == len("lp_filter__") + 9
    True
    """
    return f"{base_name}__{str(uuid.uuid4())[4:13]}"


@dataclass(frozen=True)
class JobRecord:
    """A job's state at one moment (what the store holds and watchers see)."""

    id: str
    kind: str
    source: str
    target: str
    params: dict[str, Any]
    state: str
    processed_s: float = 0.0
    total_s: float = 0.0
    error: str = ""
    result_path: str = ""
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    version: int = 0

    @property
    def frac_complete(self) -> float:
        """Fraction complete, 0..1 (1 once done)."""
        if self.state == DONE:
            return 1.0
        if self.total_s <= 0:
            return 0.0
        return min(1.0, self.processed_s / self.total_s)

    @property
    def finished(self) -> bool:
        """Whether the job reached a terminal state."""
        return self.state in TERMINAL_STATES


class JobContext:
    """Handed to a running job: its stop flag and its progress reporter."""

    def __init__(self, job: _LiveJob) -> None:
        self._job = job

    @property
    def job_id(self) -> str:
        """The job's id (names its staging files)."""
        return self._job.record.id

    @property
    def stop(self) -> threading.Event:
        """Set when the job is cancelled; a job checks it often (at least every ~0.5 s)."""
        return self._job.stop

    def report(self, processed_s: float) -> None:
        """Record that ``processed_s`` seconds of source have been processed so far."""
        self._job.progress(processed_s)


JobWork = Callable[[JobContext], Path]


class JobExecutor(Protocol):
    """Where jobs run: local threads now, a cluster later."""

    def submit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the background."""
        ...

    def shutdown(self) -> None:
        """Stop accepting work; return when running work has ended."""
        ...


class ThreadJobExecutor:
    """Jobs on a local thread pool (each job also uses a few threads of its own)."""

    def __init__(self, max_jobs: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_jobs, thread_name_prefix="curate-job")

    def submit(self, fn: Callable[[], None]) -> None:
        self._pool.submit(fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


class _LiveJob:
    """A job the runner holds in memory while it is queued or running (and after, briefly)."""

    def __init__(self, record: JobRecord, runner: JobRunner) -> None:
        self.record = record
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._runner = runner
        self._wakers: list[Callable[[], None]] = []
        self._persisted_at = 0.0

    def snapshot(self) -> JobRecord:
        with self._lock:
            return self.record

    def update(self, persist: bool = True, **changes: Any) -> JobRecord:
        with self._lock:
            self.record = replace(self.record, version=self.record.version + 1, **changes)
            record = self.record
            wakers = list(self._wakers)
        if persist:
            self._runner._persist(record)
            self._persisted_at = time.monotonic()
        for wake in wakers:
            try:
                wake()
            except Exception:  # a watcher's loop may be closed; never fail the job for it
                log.debug("job watcher wake failed", exc_info=True)
        return record

    def progress(self, processed_s: float) -> None:
        due = time.monotonic() - self._persisted_at >= _PERSIST_PROGRESS_EVERY_S
        self.update(persist=due, processed_s=float(processed_s))

    def add_waker(self, wake: Callable[[], None]) -> None:
        with self._lock:
            self._wakers.append(wake)

    def remove_waker(self, wake: Callable[[], None]) -> None:
        with self._lock:
            if wake in self._wakers:
                self._wakers.remove(wake)


class JobRunner:
    """Runs jobs in the background and keeps the job table.

    Parameters
    ----------
    store : HubStore
        The hub's persistent store (this class owns its ``jobs`` table).
    executor : JobExecutor, optional
        Where jobs run (default :class:`ThreadJobExecutor` with 2 jobs at a time).
    """

    def __init__(self, store: HubStore, executor: JobExecutor | None = None) -> None:
        self._store = store
        self._executor: JobExecutor = executor or ThreadJobExecutor()
        self._jobs: dict[str, _LiveJob] = {}
        self._lock = threading.Lock()
        self._closing = False
        store.ensure_schema(_SCHEMA)
        self._recover_interrupted()

    # ---------------------------------------------------------------- store
    def _persist(self, record: JobRecord) -> None:
        with self._store.transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO jobs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id,
                    record.kind,
                    record.source,
                    record.target,
                    json.dumps(record.params),
                    record.state,
                    record.processed_s,
                    record.total_s,
                    record.error,
                    record.result_path,
                    record.created_at,
                    record.started_at,
                    record.finished_at,
                ),
            )

    @staticmethod
    def _from_row(row: tuple[Any, ...]) -> JobRecord:
        (jid, kind, source, target, params, state, done_s, total_s, error, result) = row[:10]
        created, started, finished = row[10:13]
        return JobRecord(
            id=jid,
            kind=kind,
            source=source,
            target=target,
            params=json.loads(params),
            state=state,
            processed_s=done_s,
            total_s=total_s,
            error=error,
            result_path=result,
            created_at=created,
            started_at=started,
            finished_at=finished,
        )

    def _recover_interrupted(self) -> None:
        rows = self._store.query(
            f"SELECT {_COLUMNS} FROM jobs WHERE state IN (?, ?)", (QUEUED, RUNNING)
        )
        for row in rows:
            record = self._from_row(row)
            discard_staging(Path(record.target).parent, record.id)  # the hub died under it
            self._persist(
                replace(
                    record,
                    state=INTERRUPTED,
                    error="the hub stopped while the job was "
                    + ("running" if record.state == RUNNING else "queued"),
                    finished_at=time.time(),
                )
            )

    # ---------------------------------------------------------------- API
    def submit(
        self,
        kind: str,
        source: str,
        target: str,
        params: dict[str, Any],
        *,
        total_s: float,
        work: JobWork,
        job_id: str | None = None,
    ) -> JobRecord:
        """Queue ``work`` and return its record (state ``queued``).

        Parameters
        ----------
        kind : str
            The operation's base name (``lp_filter`` ...); the id is ``<kind>__xxxx-xxxx``.
        source, target : str
            Paths, for the record.
        params : dict
            The operation's parameters (JSON-serialisable), for the record.
        total_s : float
            Seconds of source the job will process (for the fraction complete).
        work : callable
            ``work(context) -> Path`` of the result; raises to fail,
            :class:`~radiens_async.errors.JobCancelled` when it honoured a cancel.
        job_id : str, optional
            Use this id instead of a new one.

        Returns
        -------
        JobRecord
        """
        with self._lock:
            if self._closing:
                raise RuntimeError("the job runner is shutting down")
            jid = job_id or new_job_id(kind)
            while jid in self._jobs or self._store.query("SELECT 1 FROM jobs WHERE id=?", (jid,)):
                jid = new_job_id(kind)
            record = JobRecord(
                id=jid,
                kind=kind,
                source=source,
                target=target,
                params=params,
                state=QUEUED,
                total_s=float(total_s),
                created_at=time.time(),
            )
            job = _LiveJob(record, self)
            self._jobs[jid] = job
        self._persist(record)
        self._executor.submit(lambda: self._run(job, work))
        return record

    def _run(self, job: _LiveJob, work: JobWork) -> None:
        if job.stop.is_set():
            self._finish_cancelled(job)
            return
        job.update(state=RUNNING, started_at=time.time())
        try:
            result = work(JobContext(job))
        except JobCancelled:
            self._finish_cancelled(job)
        except BaseException as exc:
            if job.stop.is_set():
                self._finish_cancelled(job)
            else:
                log.info("job %s failed: %s", job.record.id, exc)
                job.update(state=FAILED, error=_describe(exc), finished_at=time.time())
        else:
            job.update(
                state=DONE,
                processed_s=job.snapshot().total_s,
                result_path=str(result),
                finished_at=time.time(),
            )

    def _finish_cancelled(self, job: _LiveJob) -> None:
        if self._closing:
            job.update(
                state=INTERRUPTED,
                error="the hub stopped while the job was running",
                finished_at=time.time(),
            )
        else:
            job.update(state=CANCELLED, error="cancelled", finished_at=time.time())

    def cancel(self, job_id: str) -> JobRecord:
        """Ask a job to stop (no effect on a finished one); returns its current record.

        The job ends ``cancelled`` once it has stopped and removed its partial output (within
        about a second); watch it to see that.

        Raises
        ------
        NotFound
            If there is no such job.
        """
        job = self._jobs.get(job_id)
        if job is None:
            return self.get(job_id)
        job.stop.set()
        record = job.snapshot()
        if record.state == QUEUED:
            return job.update(state=CANCELLED, error="cancelled", finished_at=time.time())
        return record

    def get(self, job_id: str) -> JobRecord:
        """The job's current record.

        Raises
        ------
        NotFound
            If there is no such job (in memory or in the store).
        """
        job = self._jobs.get(job_id)
        if job is not None:
            return job.snapshot()
        rows = self._store.query(f"SELECT {_COLUMNS} FROM jobs WHERE id=?", (job_id,))
        if not rows:
            raise NotFound(f"no job {job_id!r} on this hub")
        return self._from_row(rows[0])

    def all_jobs(self) -> list[JobRecord]:
        """Every job this hub knows (also those of earlier runs), oldest first."""
        rows = self._store.query(f"SELECT {_COLUMNS} FROM jobs ORDER BY created_at, id")
        records = {r.id: r for r in (self._from_row(row) for row in rows)}
        for jid, job in list(self._jobs.items()):
            records[jid] = job.snapshot()
        return sorted(records.values(), key=lambda r: (r.created_at, r.id))

    def live(self, job_id: str) -> _LiveJob | None:
        """The in-memory job (for watchers), or None if it only exists in the store."""
        return self._jobs.get(job_id)

    async def watch(
        self, job_id: str, poll_s: float = _WATCH_POLL_S
    ) -> AsyncGenerator[tuple[JobRecord, float], None]:
        """The job's record at each change until it has finished, with the seconds of source
        processed since the previous one (the last record is the finished one).

        A running job wakes the watcher at every change; the record is also re-read at least
        every ``poll_s`` (a job of an earlier hub run, or a wake-up lost to a closed loop).
        Close the iterator (``contextlib.aclosing``) to stop watching early.

        Raises
        ------
        NotFound
            If there is no such job.

        Examples
        --------
        >>> async for record, increment_s in runner.watch(job_id):  # doctest: +SKIP
        ...     print(record.state, increment_s)
        """
        record = self.get(job_id)
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(changed.set)

        live = self.live(record.id)
        if live is not None:
            live.add_waker(wake)
        try:
            seen_s = 0.0
            seen_version = -1
            while True:
                changed.clear()
                record = self.get(record.id)
                if record.version != seen_version or record.finished:
                    yield record, record.processed_s - seen_s
                    seen_s, seen_version = record.processed_s, record.version
                if record.finished:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), poll_s)
        finally:
            if live is not None:
                live.remove_waker(wake)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every job (they end ``interrupted``) and wait for them up to ``timeout``."""
        with self._lock:
            self._closing = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.stop.set()
            if job.snapshot().state == QUEUED:
                self._finish_cancelled(job)
        deadline = time.monotonic() + timeout
        for job in jobs:
            while not job.snapshot().finished and time.monotonic() < deadline:
                time.sleep(0.02)
        threading.Thread(target=self._executor.shutdown, daemon=True).start()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, OSError | ValueError) else f"{type(exc).__name__}: {text}"
