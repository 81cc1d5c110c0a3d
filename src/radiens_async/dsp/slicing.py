"""Slicing helpers (pure): which samples a time slice keeps, which columns a channel slice keeps.

Examples
--------
>>> time_slice_samples(0.5, 1.0, (0.0, 2.0), 1000.0, 2000)
(500, 1000)
>>> kept_columns([0, 1, 2, 3], [1, 3])
[0, 2]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from radiens_async.errors import InvalidArgument

__all__ = ["kept_columns", "time_slice_samples"]


def time_slice_samples(
    time_start: float, time_end: float, t_range: tuple[float, float], fs: float, n_samples: int
) -> tuple[int, int]:
    """File positions ``[i0, i1)`` of the absolute stream-time slice ``[time_start, time_end)``.

    Parameters
    ----------
    time_start, time_end : float
        Absolute seconds of stream time (as ``status.t_range`` counts them).
    t_range : tuple of float
        The file's ``[t_start, t_stop]``.
    fs : float
        Sampling rate in Hz.
    n_samples : int
        Samples in the file.

    Returns
    -------
    tuple of int
        ``i0 = round((time_start - t_start) * fs)``, likewise ``i1``; ``i1 > i0``.

    Raises
    ------
    InvalidArgument
        If a time is not finite, ``time_end <= time_start``, or the slice reaches outside the
        file (a tolerance of half a sample is allowed at the ends).

    Examples
    --------
    >>> time_slice_samples(10.0, 10.5, (10.0, 12.0), 100.0, 200)
    (0, 50)
    """
    for name, value in (("time_start", time_start), ("time_end", time_end)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidArgument(f"{name} must be a finite number of seconds, not {value!r}")
    if time_end <= time_start:
        raise InvalidArgument(
            f"time_end ({time_end:g} s) must be after time_start ({time_start:g} s)"
        )
    t0 = t_range[0]
    t1 = t0 + n_samples / fs
    i0 = round((time_start - t0) * fs)
    i1 = round((time_end - t0) * fs)
    if i0 < 0 or i1 > n_samples:
        raise InvalidArgument(
            f"slice [{time_start:g}, {time_end:g}] s is outside the file's time range"
            f" [{t0:g}, {t1:g}] s"
        )
    if i1 <= i0:
        raise InvalidArgument(
            f"slice [{time_start:g}, {time_end:g}] s holds no sample at fs = {fs:g} Hz"
        )
    return i0, i1


def kept_columns(sys_indices: Sequence[int], remove: Sequence[int]) -> list[int]:
    """Data columns left after removing the channels whose system index is in ``remove``.

    Parameters
    ----------
    sys_indices : sequence of int
        System index of each column (GPIO channels included).
    remove : sequence of int
        System indices to slice out.

    Returns
    -------
    list of int
        Column positions kept, in order.

    Raises
    ------
    InvalidArgument
        If ``remove`` is empty, names an index the file does not have, repeats one, or would
        remove every channel.

    Examples
    --------
    >>> kept_columns([10, 11, 12], [11])
    [0, 2]
    """
    if len(remove) == 0:
        raise InvalidArgument("target_channels is empty: name at least one channel to remove")
    bad = [c for c in remove if isinstance(c, bool) or not isinstance(c, int)]
    if bad:
        raise InvalidArgument(f"channel indices must be integers, got {bad[:5]}")
    known = set(sys_indices)
    unknown = sorted(set(remove) - known)
    if unknown:
        raise InvalidArgument(
            f"unknown channel index(es) {unknown[:10]}: the file's system indices are"
            f" {min(known)}..{max(known)}"
        )
    if len(set(remove)) != len(remove):
        raise InvalidArgument(f"target_channels repeats an index: {list(remove)}")
    drop = set(remove)
    kept = [col for col, sys in enumerate(sys_indices) if sys not in drop]
    if not kept:
        raise InvalidArgument("slicing out every channel would leave an empty file")
    return kept
