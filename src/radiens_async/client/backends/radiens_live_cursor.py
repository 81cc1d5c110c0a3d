"""Exact sample accounting for reading a live cache by polling (the Radiens protocol has no
server stream of signals).

A :class:`LiveCursor` remembers the next sample it owes its reader and asks a
:class:`SnapshotSource` for ``[next, ...)``. Whatever the server answers, the cursor hands on
each sample once and counts every sample it could not get:

* a reply that starts *before* the cursor (the server rounded the range down) is trimmed, so no
  sample is delivered twice;
* a reply that starts *after* it (the server clipped the range to what it still holds), or a
  range the cache no longer holds at all (``OUT_OF_RANGE``, then read from the oldest sample),
  is reported as ``missed`` samples with the next block — never a silent loss;
* a reader further behind than ``max_lag`` samples skips ahead to ``head - max_lag``, and the
  skipped samples are counted too.

The source is a protocol so the accounting is tested without a network
(``tests/unit/client/test_radiens_live_cursor.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from radiens_async.models.converters.radiens_signals import LiveBlock

__all__ = ["CursorRead", "LiveCursor", "SnapshotSource", "StreamRestarted"]

_MAX_RETRIES = 4  # out-of-range answers in a row before giving up (the cache moves on meanwhile)


class StreamRestarted(Exception):
    """The cache head went back behind the cursor: streaming stopped and a new stream began."""


class SnapshotSource(Protocol):
    """Where a cursor reads: a live cache addressed by sample index."""

    async def read(self, start: int, stop: int | None, early: bool = True) -> LiveBlock | None:
        """Samples ``[start, stop)`` (``stop`` None: to the head), or None when the cache does
        not hold the range asked for (the server answered OUT_OF_RANGE). The block may start
        a little before ``start`` or later than it, and may be shorter than asked.

        ``early``: the range may be asked from a little before ``start`` (so that any rounding
        at the server lands on ``start`` or the sample before it); False when that was refused
        because ``start`` is the oldest sample held."""
        ...

    async def cache_range(self) -> tuple[int, int]:
        """``(oldest, head)``: the cache holds samples ``[oldest, head)``."""
        ...


@dataclass(frozen=True, slots=True)
class CursorRead:
    """One read: ``block`` starts exactly at the cursor's sample after ``missed`` were lost."""

    block: LiveBlock
    missed: int
    reached_stop: bool  # the read was cut at its upper bound: more is probably waiting


class LiveCursor:
    """The next sample owed to one reader of a live cache.

    Parameters
    ----------
    source : SnapshotSource
        Where samples come from.
    next_sample : int
        The first sample to deliver.
    max_lag : int, optional
        At most this many samples may wait between the head and the cursor (None: no bound).

    Examples
    --------
    >>> cursor = LiveCursor(source, next_sample=0)  # doctest: +SKIP
    >>> r = await cursor.read(max_samples=3000)  # doctest: +SKIP
    >>> r.block.first_sample == 0 + r.missed  # doctest: +SKIP
    True
    """

    def __init__(self, source: SnapshotSource, next_sample: int, max_lag: int | None = None):
        self.source = source
        self.next_sample = int(next_sample)
        self.max_lag = max_lag
        self._missed = 0

    def skip_to(self, sample: int) -> None:
        """Move the cursor forward to ``sample``, counting the samples skipped as missed."""
        if sample > self.next_sample:
            self._missed += sample - self.next_sample
            self.next_sample = sample

    async def catch_up(self) -> None:
        """Skip ahead if the reader is more than ``max_lag`` samples behind the head."""
        if self.max_lag is None:
            return
        _, head = await self.source.cache_range()
        if head < self.next_sample:
            raise StreamRestarted
        self.skip_to(head - self.max_lag)

    async def read(self, max_samples: int = 0) -> CursorRead:
        """Read the samples from the cursor on (at most ``max_samples``; 0: up to the head).

        Returns
        -------
        CursorRead
            The block (possibly empty: nothing new), starting at the cursor after ``missed``
            samples; the cursor moves past it.

        Raises
        ------
        StreamRestarted
            The cache's head is behind the cursor (a new stream started).
        """
        for _ in range(_MAX_RETRIES):
            start = self.next_sample
            stop = start + max_samples if max_samples > 0 else None
            block = await self.source.read(start, stop)
            if block is None:
                oldest, head = await self.source.cache_range()
                if head < start:
                    raise StreamRestarted
                if start >= head:  # the range is ahead of the head: nothing new yet
                    return self._deliver(_empty(start, 0.0, 0), stop, max_samples)
                if start >= oldest:
                    # held, but not the half sample before it: ask for the range exactly
                    block = await self.source.read(start, stop, early=False)
                    if block is not None:
                        return self._deliver(block, stop, max_samples)
                self.skip_to(max(oldest, start + 1))
                continue
            return self._deliver(block, stop, max_samples)
        # the cache kept moving past every oldest sample we were told: say what was lost
        _, head = await self.source.cache_range()
        self.skip_to(head)
        return self._deliver(_empty(self.next_sample, 0.0, 0), None, 0)

    def _deliver(self, block: LiveBlock, stop: int | None, max_samples: int) -> CursorRead:
        start = self.next_sample
        data, first = block.data, block.first_sample
        if first < start:  # rounded down: drop what was already delivered
            data = data[:, min(start - first, data.shape[1]) :]
            first = start
        elif first > start:  # clipped to what the cache holds: those are lost
            self._missed += first - start
        if max_samples > 0 and data.shape[1] > max_samples:
            data = data[:, :max_samples]
        if data.shape[1] == 0:
            first = max(first, start)
        out = LiveBlock(data=data, first_sample=first, fs=block.fs)
        missed, self._missed = self._missed, 0
        self.next_sample = out.stop_sample if out.n_samples else max(start, first)
        reached = stop is not None and out.stop_sample >= stop
        if out.n_samples == 0 and missed:
            # nothing to attach the loss to yet: keep it for the next block
            self._missed, missed = missed, 0
        return CursorRead(block=out, missed=missed, reached_stop=reached)


def _empty(first: int, fs: float, n_rows: int) -> LiveBlock:
    return LiveBlock(data=np.zeros((n_rows, 0), dtype=np.float32), first_sample=first, fs=fs)
