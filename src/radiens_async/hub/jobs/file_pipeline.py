"""The chunked file pipeline: XDAT source -> transforms -> new XDAT target, never all in memory.

The source is read chunk by chunk with margins (the idea of SpikeInterface's
``get_chunk_with_margin``): each chunk's core is read together with ``margin`` samples on each
side (clipped at the file's ends), transformed, and trimmed back to its core. With the margin
the filters' transients need (:func:`~radiens_async.dsp.filters.settle_samples`), the chunked
result equals the whole-signal result; at the file's ends the chunk starts or stops where the
file does, so the edge handling is the whole-signal one too.

Chunks are independent, so a small thread pool transforms several at once (scipy's filters
release the GIL) while the calling thread writes finished chunks in order through
:class:`~radiens_async.formats.xdat_writer.XdatWriter`, whose own I/O thread does the disk
writes. The target is written under a hidden staging directory beside it and moved into place
only when complete (:mod:`radiens_async.hub.jobs.xdat_staging`): a cancelled or failed run
leaves no target, and the source is only ever read.

Examples
--------
>>> plan = plan_for(BandPass(300.0, 6000.0), XdatReader(src).metadata)  # doctest: +SKIP
>>> run_xdat_pipeline(src, "/data/rec_bp", plan, stop=threading.Event())  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.errors import JobCancelled
from radiens_async.formats.xdat_metadata import XdatChannel
from radiens_async.formats.xdat_reader import XdatReader
from radiens_async.formats.xdat_writer import XdatWriter
from radiens_async.hub.jobs.chunk_transforms import ChunkTransform
from radiens_async.hub.jobs.xdat_staging import StagedXdat

__all__ = ["DEFAULT_WORKERS", "DspPlan", "chunk_samples_for", "run_xdat_pipeline"]

#: Threads transforming chunks (the machine this was tuned on has 2 cores).
DEFAULT_WORKERS = 2
# About this many values (samples x channels) per chunk core: ~0.1-0.3 s of work per chunk on
# one core, so cancellation is seen well within a second, and a few MB per buffer.
_VALUES_PER_CHUNK = 1 << 22
_MIN_CHUNK = 4096
# How often a wait for a chunk checks the stop flag.
_STOP_POLL_S = 0.02

ProgressCallback = Callable[[float], None]


@dataclass
class DspPlan:
    """What the pipeline does to one file.

    Attributes
    ----------
    columns : list of int
        Source data columns to read, in target order.
    start, stop : int
        Source sample positions ``[start, stop)`` to process.
    transforms : list of ChunkTransform
        Applied in order to each chunk (rows index ``columns``).
    factor : int
        Keep every ``factor``-th sample (from ``start``) after the transforms (1: all).
    out_fs : float
        Target sampling rate.
    out_channels : list of XdatChannel
        Target channel map (one per column).
    out_first_sample : int
        Sample index of the target's first sample.
    out_start_time : datetime
        Wall-clock time of the target's first sample.
    extras : dict
        Unmodelled metadata keys carried over from the source (probe, notes ...).
    """

    columns: list[int]
    start: int
    stop: int
    transforms: list[ChunkTransform]
    factor: int
    out_fs: float
    out_channels: list[XdatChannel]
    out_first_sample: int
    out_start_time: datetime
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def margin(self) -> int:
        """Samples of context each chunk needs on either side."""
        return sum(t.margin for t in self.transforms)


def chunk_samples_for(n_channels: int, margin: int, factor: int = 1) -> int:
    """Core length of a chunk: ~4 M values, never shorter than the margin, a multiple of ``factor``.

    Examples
    --------
    >>> chunk_samples_for(64, 300)
    65536
    """
    n = max(_MIN_CHUNK, _VALUES_PER_CHUNK // max(1, n_channels), margin)
    return -(-n // factor) * factor


def _read_chunk(
    reader: XdatReader, plan: DspPlan, core0: int, core1: int, n_total: int
) -> npt.NDArray[np.float32]:
    margin = plan.margin
    lo = max(0, core0 - margin) if margin else core0
    hi = min(n_total, core1 + margin) if margin else core1
    block = reader.read(lo, hi, _selection(plan.columns, reader.n_channels))
    for transform in plan.transforms:
        block = transform.apply(block)
    core = block[:, core0 - lo : core0 - lo + (core1 - core0)]
    if plan.factor > 1:
        core = core[:, :: plan.factor]  # core0 is a multiple of factor past plan.start
    return np.ascontiguousarray(core, dtype=np.float32)


def _result_unless_stopped(
    future: Future[npt.NDArray[np.float32]], stop: threading.Event
) -> npt.NDArray[np.float32]:
    """The chunk's result; raises :class:`JobCancelled` as soon as ``stop`` is set."""
    while True:
        if stop.is_set():
            raise JobCancelled("cancelled")
        try:
            return future.result(timeout=_STOP_POLL_S)
        except FuturesTimeout:
            continue


def _selection(columns: Sequence[int], n_channels: int) -> slice | list[int]:
    if list(columns) == list(range(n_channels)):
        return slice(None)
    return list(columns)


def run_xdat_pipeline(
    source: str | Path,
    target: str | Path,
    plan: DspPlan,
    *,
    stop: threading.Event,
    on_progress: ProgressCallback | None = None,
    force: bool = False,
    workers: int = DEFAULT_WORKERS,
    staging_tag: str = "",
    chunk_samples: int | None = None,
) -> Path:
    """Run ``plan`` on the XDAT set ``source`` and write the XDAT set ``target``.

    Parameters
    ----------
    source : str or Path
        The source set (any name :func:`~radiens_async.formats.xdat_metadata.xdat_paths` takes).
    target : str or Path
        ``<dir>/<base>`` of the target set.
    plan : DspPlan
        From :func:`~radiens_async.hub.jobs.dsp_ops.plan_for`.
    stop : threading.Event
        Set it to cancel: the run stops after the chunks in flight and raises
        :class:`~radiens_async.errors.JobCancelled`.
    on_progress : callable, optional
        Called after every written chunk with the seconds of source processed so far.
    force : bool
        Replace an existing target when the new one is complete.
    workers : int
        Threads transforming chunks.
    staging_tag : str
        Makes the staging directory's name unique (the job id).
    chunk_samples : int, optional
        Core length of a chunk (default :func:`chunk_samples_for`); rounded up to a multiple of
        ``plan.factor``.

    Returns
    -------
    Path
        The target's ``.xdat.json``.

    Raises
    ------
    JobCancelled
        If ``stop`` was set; no target is left.
    FileExistsError
        If the target exists and ``force`` is false.
    OSError, FormatError
        If reading or writing fails; no target is left.
    """
    staged = StagedXdat(target, tag=staging_tag, force=force)
    with XdatReader(source) as reader, staged:
        n_total = reader.n_samples
        fs = reader.fs
        if chunk_samples is None:
            chunk = chunk_samples_for(len(plan.columns), plan.margin, plan.factor)
        else:
            chunk = -(-max(1, chunk_samples) // plan.factor) * plan.factor
        starts = list(range(plan.start, plan.stop, chunk))
        writer = XdatWriter(
            staged.path_base,
            plan.out_fs,
            plan.out_channels,
            start_time=plan.out_start_time,
            first_sample=plan.out_first_sample,
            extras=plan.extras,
            flush_interval_s=5.0,
        )
        done_s = 0.0
        pool = ThreadPoolExecutor(max(1, workers), "dsp-chunk")
        finished = False
        try:
            with writer:
                pending: deque[tuple[int, Future[npt.NDArray[np.float32]]]] = deque()
                next_i = 0
                while next_i < len(starts) or pending:
                    while next_i < len(starts) and len(pending) < workers + 1:
                        c0 = starts[next_i]
                        c1 = min(c0 + chunk, plan.stop)
                        pending.append(
                            (c1 - c0, pool.submit(_read_chunk, reader, plan, c0, c1, n_total))
                        )
                        next_i += 1
                    n_core, future = pending.popleft()
                    block = _result_unless_stopped(future, stop)
                    writer.append(block)
                    done_s += n_core / fs
                    if on_progress is not None:
                        on_progress(done_s)
            finished = True
        finally:
            # on a cancel or failure, do not wait for the chunks in flight: they only read the
            # source, and their results are dropped
            pool.shutdown(wait=finished, cancel_futures=True)
        staged.commit()
    return staged.final_paths.json
