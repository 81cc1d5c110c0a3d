"""The ring buffer of recent spikes, numbered 0, 1, 2 ... per stream.

One writer (the detection thread) appends; readers on other threads copy out by sequence number
(a streaming cursor), by sample range (rasters) or "latest per channel" (recent spikes). A short
lock guards every operation; nothing is held while the caller works on the copy.

Spikes are appended in peak order, so ``sample_index`` is non-decreasing with ``seq`` and sample
ranges are found by binary search. A reader whose cursor points at spikes that have been
overwritten (or cleared) gets the oldest spikes still held and the number it missed, like the
signal stream's gap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

MAX_WAVEFORM_BYTES: Final = 256 * 1024 * 1024
"""The store holds at most this much waveform data, whatever ``capacity`` asks for."""

F32 = NDArray[np.float32]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
IP = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class StoredSpikes:
    """A copy of stored spikes (see :class:`~.spike_engine.SpikeBatch` for the fields)."""

    seq: I64
    sample_index: I64
    channel: I32
    label: I32
    waveform: F32
    detected_ns: I64
    missed: int
    next_seq: int


class SpikeStore:
    """Fixed-capacity spike ring buffer.

    Parameters
    ----------
    capacity : int
        Spikes kept (lowered so that waveforms fit in :data:`MAX_WAVEFORM_BYTES`).
    n_pts : int
        Waveform length.

    Examples
    --------
    >>> store = SpikeStore(capacity=4, n_pts=3)
    >>> store.append(np.arange(6), np.zeros(6, np.int32), np.zeros(6, np.int32),
    ...              np.zeros((6, 3), np.float32), 0)
    0
    >>> got = store.read(0, 10)
    >>> got.missed, got.seq.tolist(), got.next_seq
    (2, [2, 3, 4, 5], 6)
    """

    def __init__(self, capacity: int, n_pts: int) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._first = 0
        self._requested = int(capacity)
        self._alloc(capacity, n_pts)

    def _alloc(self, capacity: int, n_pts: int) -> None:
        cap = max(1, min(int(capacity), MAX_WAVEFORM_BYTES // max(1, 4 * n_pts)))
        self._cap = cap
        self._n_pts = n_pts
        # np.zeros memory is committed by the OS page by page as spikes arrive
        self._sample = np.zeros(cap, dtype=np.int64)
        self._channel = np.zeros(cap, dtype=np.int32)
        self._label = np.zeros(cap, dtype=np.int32)
        self._wave = np.zeros((cap, n_pts), dtype=np.float32)
        self._ns = np.zeros(cap, dtype=np.int64)

    @property
    def capacity(self) -> int:
        """Spikes held at most."""
        return self._cap

    @property
    def n_pts(self) -> int:
        """Waveform length."""
        return self._n_pts

    @property
    def next_seq(self) -> int:
        """Sequence number the next spike will get."""
        return self._next

    @property
    def first_seq(self) -> int:
        """Oldest sequence number still held."""
        return self._first

    def __len__(self) -> int:
        return self._next - self._first

    # --- writer -------------------------------------------------------------------------------

    def append(
        self,
        sample_index: I64,
        channel: I32,
        label: I32,
        waveform: F32,
        detected_ns: int,
    ) -> int:
        """Append spikes (in peak order); return the sequence number of the first."""
        n = int(sample_index.shape[0])
        with self._lock:
            seq0 = self._next
            if n == 0:
                return seq0
            take = min(n, self._cap)  # a batch larger than the store keeps its tail
            src = slice(n - take, n)
            slots = (np.arange(seq0 + n - take, seq0 + n)) % self._cap
            self._sample[slots] = sample_index[src]
            self._channel[slots] = channel[src]
            self._label[slots] = label[src]
            self._wave[slots] = waveform[src]
            self._ns[slots] = detected_ns
            self._next = seq0 + n
            self._first = max(self._first, self._next - self._cap)
            return seq0

    def relabel(self, seq: I64, label: I32) -> NDArray[np.bool_]:
        """Set the labels of the spikes ``seq`` that are still held; return which were."""
        with self._lock:
            held = (seq >= self._first) & (seq < self._next)
            self._label[seq[held] % self._cap] = label[held]
            return held

    def clear(self) -> None:
        """Drop every spike; numbering continues."""
        with self._lock:
            self._first = self._next

    def restart(self) -> None:
        """Drop every spike and number from 0 again (a new stream)."""
        with self._lock:
            self._next = 0
            self._first = 0

    def resize(self, n_pts: int) -> None:
        """Change the waveform length: held spikes are dropped, numbering continues."""
        with self._lock:
            self._alloc(self._requested, n_pts)
            self._first = self._next

    # --- readers ------------------------------------------------------------------------------

    def read(self, cursor: int, max_spikes: int, channels: IP | None = None) -> StoredSpikes:
        """Up to ``max_spikes`` spikes from ``cursor`` on; ``channels`` filters after counting.

        A cursor beyond :attr:`next_seq` can only come from before a :meth:`restart` (a new
        stream): reading then starts over at the oldest spike held.
        """
        with self._lock:
            if cursor > self._next:
                cursor = self._first
            missed = max(0, self._first - cursor)
            start = max(cursor, self._first)
            stop = min(self._next, start + max(0, max_spikes)) if start < self._next else start
            out = self._copy(start, stop, channels, missed)
        return out

    def seq_at(self, sample: int) -> int:
        """Sequence number of the first held spike peaking at or after ``sample``
        (:attr:`next_seq` if none)."""
        with self._lock:
            return self._seq_at(sample)

    def between(self, start_sample: int, stop_sample: int, waveforms: bool = True) -> StoredSpikes:
        """Spikes with ``start_sample <= sample_index < stop_sample``."""
        with self._lock:
            a = self._seq_at(start_sample)
            b = self._seq_at(stop_sample)
            return self._copy(a, b, None, 0, waveforms)

    def recent(self, since_sample: int, channels: IP | None, max_per_channel: int) -> StoredSpikes:
        """The latest ``max_per_channel`` spikes of each channel from ``since_sample`` on."""
        with self._lock:
            a = self._seq_at(since_sample)
            got = self._copy(a, self._next, channels, 0)
        if got.seq.size == 0:
            return got
        # rank of each spike among the later spikes of its channel, counted from the newest
        rev = got.channel[::-1]
        order = np.argsort(rev, kind="stable")
        sorted_ch = rev[order]
        group_start = np.r_[0, np.flatnonzero(np.diff(sorted_ch)) + 1]
        counts = np.diff(np.r_[group_start, sorted_ch.size])
        rank_sorted = np.arange(sorted_ch.size) - np.repeat(group_start, counts)
        rank = np.empty_like(rank_sorted)
        rank[order] = rank_sorted
        keep = (rank < max(0, max_per_channel))[::-1]
        return _subset(got, keep)

    # --- internals (lock held) ----------------------------------------------------------------

    def _seq_at(self, sample: int) -> int:
        """First held seq whose sample_index >= ``sample`` (``next_seq`` if none)."""
        lo, hi = self._first, self._next
        if lo == hi:
            return hi
        s0, s1 = lo % self._cap, hi % self._cap
        if s0 < s1:
            return lo + int(np.searchsorted(self._sample[s0:s1], sample, side="left"))
        head = self._sample[s0:]
        k = int(np.searchsorted(head, sample, side="left"))
        if k < head.size:
            return lo + k
        return lo + head.size + int(np.searchsorted(self._sample[:s1], sample, side="left"))

    def _copy(
        self,
        start: int,
        stop: int,
        channels: IP | None,
        missed: int,
        waveforms: bool = True,
    ) -> StoredSpikes:
        seq = np.arange(start, stop, dtype=np.int64)
        slots = seq % self._cap
        ch = self._channel[slots]
        if channels is not None:
            keep = np.isin(ch, channels)
            seq, slots, ch = seq[keep], slots[keep], ch[keep]
        wave = self._wave[slots] if waveforms else np.zeros((slots.size, 0), dtype=np.float32)
        return StoredSpikes(
            seq=seq,
            sample_index=self._sample[slots],
            channel=ch,
            label=self._label[slots],
            waveform=wave,
            detected_ns=self._ns[slots],
            missed=missed,
            next_seq=stop,
        )


def _subset(s: StoredSpikes, keep: NDArray[np.bool_]) -> StoredSpikes:
    return StoredSpikes(
        seq=s.seq[keep],
        sample_index=s.sample_index[keep],
        channel=s.channel[keep],
        label=s.label[keep],
        waveform=s.waveform[keep],
        detected_ns=s.detected_ns[keep],
        missed=s.missed,
        next_seq=s.next_seq,
    )
