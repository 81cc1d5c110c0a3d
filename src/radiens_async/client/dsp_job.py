"""``DspJob``: the handle a Curate operation returns -- awaitable, watchable, cancellable.

Examples
--------
>>> async with AsyncCurateClient() as curate:  # doctest: +SKIP
...     job = await curate.dsp_band_pass_filter(300, 6000, "rec_0.xdat", "rec_bp")
...     async for p in job.progress():
...         print(f"{p.frac_complete:.0%}")
...     meta = await job          # DatasetMetadata of the target
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Generator
from typing import Any

from radiens_async._generated.radiens.v1 import curate_grpc, curate_pb2
from radiens_async.client.transport import HubTransport
from radiens_async.errors import JobCancelled, JobFailed, RadiensError
from radiens_async.models.converters.jobs import job_progress_to_model, job_status_to_model
from radiens_async.models.dataset_metadata import DatasetMetadata
from radiens_async.models.dsp_job import JobProgress, JobState, JobStatus

__all__ = ["DspJob"]


class DspJob:
    """A Curate job running on the hub.

    ``await job`` waits for the job and returns the target's :class:`DatasetMetadata`; it raises
    :class:`~radiens_async.errors.JobFailed` or :class:`~radiens_async.errors.JobCancelled` when
    the job ends without a result. Cancelling the task that awaits the job cancels the job.
    The job itself runs on the hub and does not depend on this handle or its client: it goes on
    if the client disconnects.

    Examples
    --------
    >>> job = await curate.dsp_car("rec_0.xdat", "rec_car")  # doctest: +SKIP
    >>> job.id  # doctest: +SKIP
    'CAR__3a0c-942e'
    """

    def __init__(self, transport: HubTransport, status: JobStatus) -> None:
        # the job needs only the connection of the client that made it, not the client
        self._transport = transport
        self._submitted = status
        self._final: JobStatus | None = None

    def __repr__(self) -> str:
        return f"DspJob({self.id!r}, {self.source_path!r} -> {self.target_path!r})"

    @property
    def id(self) -> str:
        """The job's id: the documented stream id ``<base name>__xxxx-xxxx``."""
        return self._submitted.id

    @property
    def kind(self) -> str:
        """Protocol base name of the operation (``bp_filter``, ``CAR``, ``file_convert`` ...)."""
        return self._submitted.kind

    @property
    def source_path(self) -> str:
        """The source as the hub resolved it."""
        return self._submitted.source_path

    @property
    def target_path(self) -> str:
        """The target as the hub resolved it (``<dir>/<base>`` for XDAT)."""
        return self._submitted.target_path

    @property
    def total_sec(self) -> float:
        """Seconds of source the job processes."""
        return self._submitted.total_sec

    async def status(self) -> JobStatus:
        """The job's current record (with the target's metadata once done).

        Examples
        --------
        >>> (await job.status()).frac_complete  # doctest: +SKIP
        0.42
        """
        reply = await self._curate_call("GetJob", curate_pb2.JobRequest(job_id=self.id))
        return job_status_to_model(reply)

    async def progress(self) -> AsyncGenerator[JobProgress, None]:
        """Progress messages until the job ends (the last one has the final state).

        Each message has ``frac_complete`` and ``increment_sec`` (seconds of source processed
        since the previous message of this iterator). Leaving the loop early closes the stream;
        the job goes on.

        Examples
        --------
        >>> async for p in job.progress():  # doctest: +SKIP
        ...     print(p.state, round(p.frac_complete, 2), p.increment_sec)
        """
        request = curate_pb2.JobRequest(job_id=self.id)
        async with self._transport.open_stream(
            curate_grpc.CurateStub, "StreamJobProgress", request
        ) as messages:
            async for message in messages:
                yield job_progress_to_model(message)

    async def _curate_call(self, method: str, request: Any) -> Any:
        stub = await self._transport.stub(curate_grpc.CurateStub)
        return await self._transport.call(getattr(stub, method), request)

    async def _request_cancel(self) -> None:
        await self._curate_call("CancelJob", curate_pb2.JobRequest(job_id=self.id))

    async def cancel(self, timeout: float = 5.0) -> JobStatus:
        """Cancel the job and wait (up to ``timeout`` s) until it has stopped and cleaned up.

        A job that already ended is left as it is. Returns the job's record; its state is
        ``cancelled`` unless the job ended first.

        Examples
        --------
        >>> (await job.cancel()).state  # doctest: +SKIP
        <JobState.CANCELLED: 'cancelled'>
        """
        await self._request_cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for _ in self.progress():
                    pass
        return await self.status()

    async def result(self) -> DatasetMetadata:
        """Wait for the job and return the target's metadata (what ``await job`` does).

        Raises
        ------
        JobFailed
            If the job failed or the hub stopped while it ran (``interrupted``).
        JobCancelled
            If the job was cancelled.

        Examples
        --------
        >>> meta = await job.result()  # doctest: +SKIP
        >>> meta.base_name  # doctest: +SKIP
        'rec_bp'
        """
        if self._final is None:
            try:
                async for _ in self.progress():
                    pass
                final = await self.status()
            except asyncio.CancelledError:
                with contextlib.suppress(RadiensError, asyncio.CancelledError):
                    await asyncio.shield(self._request_cancel())
                raise
            if not final.finished:  # the stream ended early (hub going away)
                raise JobFailed(f"job {self.id}: lost track of it while it was {final.state}")
            self._final = final
        final = self._final
        if final.state is JobState.DONE:
            if final.result is None:
                raise JobFailed(
                    f"job {self.id} finished but its target {final.result_path} cannot be read"
                )
            return final.result
        if final.state is JobState.CANCELLED:
            raise JobCancelled(f"job {self.id} was cancelled")
        raise JobFailed(f"job {self.id} {final.state.value}: {final.error}")

    def __await__(self) -> Generator[Any, None, DatasetMetadata]:
        return self.result().__await__()
