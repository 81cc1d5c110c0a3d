"""The sample-indexed ring buffer that holds the most recent live samples.

One writer (the acquisition loop) appends blocks; any number of readers copy windows by absolute
sample index. Readers never block the writer: there is no lock. A reader copies first and checks
afterwards which part of its copy the writer may have overwritten meanwhile (a seqlock-style
validation); that part is reported as missed, never returned torn.

Layout is channel-major ``(n_channels, capacity)`` float32, so a window is already in the
``channels x samples`` order the API documents.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class CacheWindow:
    """Samples copied out of the cache.

    ``first_sample`` is the index of column 0 of ``data``; ``missed`` counts the samples that were
    asked for but had already left the cache (they lie right before ``first_sample``).
    """

    data: npt.NDArray[np.float32]
    first_sample: int
    missed: int

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])

    @property
    def stop_sample(self) -> int:
        return self.first_sample + self.n_samples


class SignalCache:
    """A ring buffer of the last ``capacity`` samples of every channel, indexed by sample number.

    Parameters
    ----------
    n_channels : int
        Rows of every block.
    capacity : int
        Samples kept per channel. The newest ``capacity - max_block`` samples are always readable.
    max_block : int
        The largest block the writer appends at once; that many slots are kept as a guard band
        between the oldest readable sample and the slots being overwritten.
    epoch : int
        A label for this stream (it increments each time streaming restarts).

    Examples
    --------
    >>> cache = SignalCache(n_channels=2, capacity=100, max_block=10)
    >>> cache.append(np.ones((2, 10), np.float32))
    >>> w = cache.read(0, 10)
    >>> w.first_sample, w.n_samples, w.missed
    (0, 10, 0)
    """

    def __init__(self, n_channels: int, capacity: int, max_block: int, epoch: int = 0) -> None:
        if n_channels < 1 or max_block < 1 or capacity <= 2 * max_block:
            raise ValueError("cache needs n_channels >= 1 and capacity > 2 * max_block >= 2")
        self.n_channels = n_channels
        self.capacity = capacity
        self.max_block = max_block
        self.epoch = epoch
        # Written now rather than left to lazy zero pages: the first pass of the writer over a
        # large untouched ring would otherwise take page faults (seconds at 1024 channels) on
        # the acquisition thread.
        self._ring = np.empty((n_channels, capacity), dtype=np.float32)
        self._ring.fill(0.0)
        self._head = 0  # index of the next sample to be written; published after each write
        self._acquired_ns = 0
        self._cond = threading.Condition()
        self.closed = False  # set when the stream this cache belongs to has ended

    @property
    def head(self) -> int:
        """Index of the next sample to be written (the number of samples ever written)."""
        return self._head

    @property
    def acquired_ns(self) -> int:
        """Monotonic time (ns) at which the newest sample was acquired."""
        return self._acquired_ns

    @property
    def oldest(self) -> int:
        """Index of the oldest sample guaranteed readable."""
        return max(0, self._head - (self.capacity - self.max_block))

    def append(self, block: npt.NDArray[np.float32], acquired_ns: int = 0) -> None:
        """Write one block ``(n_channels, n)`` at the head, then publish the new head."""
        n = block.shape[1]
        if block.shape[0] != self.n_channels or n > self.max_block:
            raise ValueError(
                f"block shape {block.shape} does not fit cache "
                f"({self.n_channels}, <= {self.max_block})"
            )
        pos = self._head % self.capacity
        first = min(n, self.capacity - pos)
        self._ring[:, pos : pos + first] = block[:, :first]
        if first < n:
            self._ring[:, : n - first] = block[:, first:]
        self._acquired_ns = acquired_ns
        self._head += n  # publishing the head is the commit point for readers
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Mark the stream ended: no more samples will come; readers drain what is left."""
        self.closed = True
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, sample: int, timeout: float) -> bool:
        """Block the calling thread until ``head > sample`` or the timeout passes."""
        with self._cond:
            return self._cond.wait_for(lambda: self._head > sample or self.closed, timeout)

    def read(self, start: int, stop: int, rows: npt.NDArray[np.intp] | None = None) -> CacheWindow:
        """Copy samples ``[start, stop)`` (clipped to what is cached) of all or some rows.

        Samples before the oldest readable one are skipped and counted in ``missed``; samples
        beyond the head are not returned (``stop`` is clipped to the head).
        """
        stop = min(stop, self._head)
        lo = max(start, self.oldest)
        n_rows = self.n_channels if rows is None else len(rows)
        if lo >= stop:
            return CacheWindow(np.empty((n_rows, 0), np.float32), lo, lo - start)
        data = self._copy(lo, stop, rows)
        # validate: anything the writer may have overwritten while we copied is dropped
        safe_lo = self._head + self.max_block - self.capacity
        if safe_lo > lo:
            cut = min(safe_lo, stop) - lo
            data = data[:, cut:]
            lo += cut
        return CacheWindow(data, lo, lo - start)

    def _copy(
        self, lo: int, stop: int, rows: npt.NDArray[np.intp] | None
    ) -> npt.NDArray[np.float32]:
        a = lo % self.capacity
        b = a + (stop - lo)
        sel: slice | npt.NDArray[np.intp] = slice(None) if rows is None else rows
        if b <= self.capacity:
            out = self._ring[sel, a:b]
            return out.copy() if rows is None else out
        return np.concatenate((self._ring[sel, a:], self._ring[sel, : b - self.capacity]), axis=1)
