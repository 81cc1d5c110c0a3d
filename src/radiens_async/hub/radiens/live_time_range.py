"""The Radiens time-range selector, resolved onto sample indices of the live cache.

``HDSnapshotRequest2`` names a window in seconds of stream time (sample ``s`` is at ``s / fs``)
with a selection mode, the way radiens-core sends it:

* ``TRS_SUBSET`` ``[t0, t1]``: samples ``[floor(t0 fs), floor(t1 fs))``; ``-inf`` / ``+inf``
  are open edges (radiens-core sends ``[t, inf]`` for "to head" and ``[-inf, inf]`` for all);
* ``TRS_TO_HEAD`` ``[t, ...]``: from ``t`` to the newest sample (a second value is ignored);
* ``TRS_FROM_HEAD`` ``[dur, NaN]``: the last ``dur`` seconds before the head.

Like an Allego, the window served is the part of the request the cache holds (shorter when part
of it has aged out or lies ahead of the stream); a request that overlaps nothing is
:class:`OutOfRange`. Seconds map to samples as in our own protocol (rounded to 6 decimals, then
truncated), so the same seconds give the same samples through both protocols.

Plain domain code: no gRPC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from radiens_async.errors import InvalidArgument, OutOfRange

_DECIMALS = 6  # as hub/datasets/signal_view.py: seconds x fs rounded, then truncated


class LiveSelMode(IntEnum):
    """``allego.TimeRangeSelMode`` values."""

    SUBSET = 0
    TO_HEAD = 1
    FROM_HEAD = 2


@dataclass(frozen=True, slots=True)
class SampleSpan:
    """Samples ``[start, stop)`` of the stream."""

    start: int
    stop: int

    @property
    def n_samples(self) -> int:
        return self.stop - self.start


def sample_at(t_sec: float, fs: float) -> int:
    """The sample index a finite time falls in (our protocol's rounding)."""
    return math.floor(round(t_sec * fs, _DECIMALS))


def _describe(oldest: int, head: int, fs: float) -> str:
    return f"[{oldest / fs:.6g}, {head / fs:.6g}) s (samples {oldest}..{head})"


def resolve_live_span(
    mode: LiveSelMode,
    sec: Sequence[float],
    fs: float,
    oldest: int,
    head: int,
    timestamps: Sequence[int] = (),
) -> SampleSpan:
    """The samples of the cache ``[oldest, head)`` a Radiens time range selects.

    Parameters
    ----------
    mode : LiveSelMode
        How ``sec`` is read (see the module docstring).
    sec : sequence of float
        ``timeRangeSec`` of the request.
    fs : float
        The stream's sampling rate.
    oldest, head : int
        The oldest cached sample and the next sample to be written.
    timestamps : sequence of int
        ``timestamp`` of the request: ``[s0, s1]`` sample indices, used for SUBSET instead of
        ``sec`` when given.

    Returns
    -------
    SampleSpan
        Non-empty, within ``[oldest, head)``.

    Raises
    ------
    InvalidArgument
        NaN where a time is needed, a reversed or empty range, a negative duration, a malformed
        range.
    OutOfRange
        A well-formed range of which the cache holds no sample.

    Examples
    --------
    >>> resolve_live_span(LiveSelMode.SUBSET, [1.0, 1.5], 1000.0, 0, 3000)
    SampleSpan(start=1000, stop=1500)
    >>> resolve_live_span(LiveSelMode.FROM_HEAD, [0.25, float("nan")], 1000.0, 0, 3000)
    SampleSpan(start=2750, stop=3000)
    """
    values = [float(v) for v in sec]
    shown = values or [int(t) for t in timestamps]
    if mode == LiveSelMode.FROM_HEAD:
        if not values:
            raise InvalidArgument("TRS_FROM_HEAD needs a duration: timeRangeSec = [dur_s, NaN]")
        dur = values[0]
        if math.isnan(dur) or dur <= 0:
            raise InvalidArgument(
                f"TRS_FROM_HEAD duration must be a positive number of seconds, got {dur}"
            )
        start = -math.inf if math.isinf(dur) else head - round(dur * fs)
        stop: float = head
    elif mode == LiveSelMode.TO_HEAD:
        if not values:
            raise InvalidArgument("TRS_TO_HEAD needs a start: timeRangeSec = [t0_s, inf]")
        start = _edge(values[0], fs, "start", allow=-math.inf)
        stop = head
    else:
        if len(timestamps) == 2 and not values:
            start, stop = int(timestamps[0]), int(timestamps[1])
        elif len(values) == 2:
            start = _edge(values[0], fs, "start", allow=-math.inf)
            stop = _edge(values[1], fs, "end", allow=math.inf)
        else:
            raise InvalidArgument(
                f"TRS_SUBSET needs timeRangeSec = [t0_s, t1_s] (or timestamp = [s0, s1]), "
                f"got {shown}"
            )
        if stop < start:
            raise InvalidArgument(f"time range {shown} is reversed (end before start)")
        if stop == start:
            raise InvalidArgument(f"time range {shown} holds no samples")
    if head <= oldest:
        raise OutOfRange(f"the live cache holds no samples yet; asked for {shown} s")
    lo, hi = max(start, oldest), min(stop, head)
    if lo >= hi:
        raise OutOfRange(
            f"time range {shown} s is outside what the live cache holds, "
            f"{_describe(oldest, head, fs)}"
        )
    return SampleSpan(int(lo), int(hi))


def _edge(t: float, fs: float, which: str, *, allow: float) -> float:
    """A sample index of a time edge; the open edge ``allow`` (±inf) is kept as is."""
    if math.isnan(t):
        raise InvalidArgument(f"time range {which} is NaN")
    if math.isinf(t):
        if t != allow:
            raise InvalidArgument(f"time range {which} cannot be {t}")
        return t
    return sample_at(t, fs)
