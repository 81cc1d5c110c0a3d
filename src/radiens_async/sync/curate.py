"""``CurateClient``: the documented blocking Curate API over :class:`AsyncCurateClient`.

Where the documented API differs from the async one on purpose, it is written out here, thin:
a DSP operation returns its stream id string (the job keeps running in the hub) and the client
keeps the job handles in :attr:`CurateClient.dsp_stream`; ``dsp_progress``, ``progress_bar`` and
``dsp_clean_up`` work on those ids.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec

from tqdm.auto import tqdm

from radiens_async.client.curate import AsyncCurateClient
from radiens_async.client.dsp_job import DspJob
from radiens_async.client.transport import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_TIMEOUT_S
from radiens_async.errors import NotFound
from radiens_async.models.dsp_job import JobState
from radiens_async.sync.blocking import (
    BlockingIterator,
    SyncClientBase,
    blocking,
    construct,
    get_portal,
    sync_property,
)
from radiens_async.sync.spikes import SpikesClient
from radiens_async.sync.videre import SignalMetricsClient

__all__ = ["CurateClient"]

P = ParamSpec("P")


def _stream_id(
    fn: Callable[Concatenate[Any, P], Coroutine[Any, Any, DspJob]],
) -> Callable[Concatenate[CurateClient, P], str]:
    """The documented blocking form of a job-starting method: returns the stream id string."""

    @functools.wraps(fn)
    def method(self: CurateClient, *args: P.args, **kwargs: P.kwargs) -> str:
        job = self._run(fn, self._async, *args, **kwargs)
        self._streams[job.id] = job
        return job.id

    note = (
        "Blocking form: starts the job and returns its stream id (a str); the job runs in the"
        " background on the hub. See dsp_progress(), progress_bar(), dsp_stream."
    )
    method.__doc__ = f"{fn.__doc__}\n\n    {note}" if fn.__doc__ else note
    return method


class CurateClient(SyncClientBase):
    """CurateClient implements the radiens API for data curation.

    It matches and extends the functionality of the Radiens Curate UI app. DSP operations are
    non-blocking: each returns a stream id and runs in the background on the hub.

    Examples
    --------
    >>> client = CurateClient()  # doctest: +SKIP
    >>> stream_id = client.dsp_low_pass_filter(750, './my_source_file', './my_output_file')
    >>> client.progress_bar(stream_id)
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        hub_name: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        self._portal = get_portal()
        self._async: AsyncCurateClient = construct(
            self._portal,
            AsyncCurateClient,
            address,
            hub_name=hub_name,
            token=token,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._streams: dict[str, DspJob] = {}

    type = sync_property("type", "Returns ``ClientType.CURATE``.")
    id = sync_property("id", "UID of this client session.")
    hubs = sync_property("hubs", "dict of active radiens hubs, with hub ID as key.")

    def close(self) -> None:
        """Close the connection (running jobs go on in the hub)."""
        self._run(self._async.aclose)

    def __enter__(self) -> CurateClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the documented operations (each returns a stream id) ----------------------------
    dsp_low_pass_filter = _stream_id(AsyncCurateClient.dsp_low_pass_filter)
    dsp_high_pass_filter = _stream_id(AsyncCurateClient.dsp_high_pass_filter)
    dsp_band_pass_filter = _stream_id(AsyncCurateClient.dsp_band_pass_filter)
    dsp_band_stop_filter = _stream_id(AsyncCurateClient.dsp_band_stop_filter)
    dsp_notch_filter = _stream_id(AsyncCurateClient.dsp_notch_filter)
    dsp_paired_diff = _stream_id(AsyncCurateClient.dsp_paired_diff)
    dsp_virtual_ref = _stream_id(AsyncCurateClient.dsp_virtual_ref)
    dsp_car = _stream_id(AsyncCurateClient.dsp_car)
    dsp_time_decimate = _stream_id(AsyncCurateClient.dsp_time_decimate)
    dsp_slice_time = _stream_id(AsyncCurateClient.dsp_slice_time)
    dsp_slice_channels = _stream_id(AsyncCurateClient.dsp_slice_channels)
    file_convert = _stream_id(AsyncCurateClient.file_convert)

    list_jobs = blocking(AsyncCurateClient.list_jobs)

    def spikes(self) -> SpikesClient:
        """Spikes API (spikes of datasets linked to this client's hub)."""
        return SpikesClient(self._portal, self._async.spikes())

    def signal_metrics(self) -> SignalMetricsClient:
        """Signal metrics API (datasets linked to this client's hub)."""
        return SignalMetricsClient(self._portal, self._async.signal_metrics())

    # -- streams ------------------------------------------------------------------------
    @property
    def dsp_stream(self) -> dict[str, dict[str, Any]]:
        """dict of DSP streams running in the background: ``{stream_id: {'data_source',
        'protocol', 'stream'}}`` (``stream`` is the :class:`DspJob`)."""
        return {
            sid: {"data_source": job.source_path, "protocol": job.kind, "stream": job}
            for sid, job in self._streams.items()
        }

    def _job(self, stream_id: str) -> DspJob:
        job = self._streams.get(stream_id)
        if job is None:
            job = self._run(self._async.get_job, stream_id)  # NotFound if unknown
            self._streams[stream_id] = job
        return job

    def dsp_job(self, stream_id: str) -> DspJob:
        """The async :class:`DspJob` behind a stream id (for ``status()``, ``cancel()`` ...).

        Examples
        --------
        >>> client.dsp_job(stream_id)  # doctest: +SKIP
        DspJob('lp_filter__3a0c-942e', ...)
        """
        return self._job(stream_id)

    def dsp_progress(self, stream_id: str) -> float:
        """Returns the fraction complete of the ``stream_id`` DSP stream; 1.0 once done.

        It is non-blocking.

        Parameters
        ----------
        stream_id : str
            stream ID of the requested DSP stream.

        Returns
        -------
        frac_complete : float

        Raises
        ------
        NotFound
            If the hub has no such stream.

        Examples
        --------
        >>> stream_id = client.dsp_low_pass_filter(750, './my_source_file', './my_output_file')
        >>> client.dsp_progress(stream_id)  # doctest: +SKIP
        0.5
        """
        status = self._run(self._job(stream_id).status)
        return 1.0 if status.state is JobState.DONE else status.frac_complete

    def dsp_cancel(self, stream_id: str) -> JobState:
        """Cancel a DSP stream and wait until it has stopped; returns its final state.

        Examples
        --------
        >>> client.dsp_cancel(stream_id)  # doctest: +SKIP
        <JobState.CANCELLED: 'cancelled'>
        """
        return self._run(self._job(stream_id).cancel).state

    def progress_bar(self, stream_id: str) -> None:
        """Displays a progress bar of the DSP stream; blocks until the stream is complete.

        The bar counts seconds of source processed (total: the source's duration). This is an
        optional function that does not affect the DSP operation; a stream that ends without a
        result gives a warning.

        Parameters
        ----------
        stream_id : str
            stream ID of the requested DSP stream.

        Examples
        --------
        >>> stream_id = client.dsp_low_pass_filter(750, './my_source_file', './my_output_file')
        >>> client.progress_bar(stream_id)  # doctest: +SKIP
        """
        job = self._job(stream_id)
        last = None
        with (
            tqdm(total=round(job.total_sec, 3), unit="s", desc=stream_id) as bar,
            BlockingIterator(self._portal, job.progress()) as messages,
        ):
            for last in messages:
                bar.update(round(last.increment_sec, 3))
        if last is not None and last.state is not JobState.DONE:
            warnings.warn(
                f"DSP stream {stream_id} ended {last.state.value}: {last.error}",
                UserWarning,
                stacklevel=2,
            )

    def dsp_clean_up(self) -> None:
        """Cleans up after any DSP operation that has finished (drops it from dsp_stream).

        Examples
        --------
        >>> client.dsp_clean_up()  # doctest: +SKIP
        """
        for sid, job in list(self._streams.items()):
            try:
                finished = self._run(job.status).finished
            except NotFound:
                finished = True
            if finished:
                del self._streams[sid]
