"""Spike waveforms and templates compared at sub-sample shifts.

A detected peak is a sample, but the true extremum lies anywhere within half a sample of it, and
noise moves the sampled peak by a sample or so. For a large, narrow spike half a sample changes
the waveform by many noise SDs, so a sorter that compares waveforms only as sampled sees one unit
as several. Here every spike is compared at shifts ``-shift .. shift`` in steps of
``1 / STEPS_PER_SAMPLE`` sample, resampled by 4-point cubic (Lagrange) interpolation; the best
shift is the alignment.

Spikes carry :func:`context` samples on each side of their window for this.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

STEPS_PER_SAMPLE: Final = 4
_PAD: Final = 2  # the interpolation reads one sample before and two after

F32 = NDArray[np.float32]


def context(shift: int) -> int:
    """Samples a spike needs on each side of its window to be shifted by up to ``shift``."""
    return shift + _PAD


def n_shifts(shift: int) -> int:
    """Number of shifts tried: ``2 * shift * STEPS_PER_SAMPLE + 1``."""
    return 2 * shift * STEPS_PER_SAMPLE + 1


def _weights(f: float) -> tuple[float, float, float, float]:
    """Cubic Lagrange weights of samples -1, 0, 1, 2 for the value at fraction ``f``."""
    return (
        -f * (f - 1.0) * (f - 2.0) / 6.0,
        (f + 1.0) * (f - 1.0) * (f - 2.0) / 2.0,
        -(f + 1.0) * f * (f - 2.0) / 2.0,
        (f + 1.0) * f * (f - 1.0) / 6.0,
    )


def shifted_windows(waves: F32, n_pts: int, shift: int) -> F32:
    """Every spike's window at every sub-sample shift.

    Parameters
    ----------
    waves : ndarray of float32, shape (N, n_pts + 2 * context(shift))
        Spikes with context; column ``context(shift) + j`` is sample ``j`` of the window.
    n_pts : int
        Window length.
    shift : int
        Largest shift (samples).

    Returns
    -------
    ndarray of float32, shape (N, n_shifts(shift), n_pts)
        Entry ``[i, k]`` is spike ``i``'s window read ``-shift + k / STEPS_PER_SAMPLE`` samples
        later (so ``k = shift * STEPS_PER_SAMPLE`` is the window as detected).

    Examples
    --------
    >>> w = np.arange(12, dtype=np.float32)[None, :]      # a ramp, context 4, window 4
    >>> out = shifted_windows(w, n_pts=4, shift=2)
    >>> out.shape, out[0, 8].tolist(), out[0, 9].tolist()
    ((1, 17, 4), [4.0, 5.0, 6.0, 7.0], [4.25, 5.25, 6.25, 7.25])
    """
    ctx = context(shift)
    n = waves.shape[0]
    out = np.empty((n, n_shifts(shift), n_pts), dtype=np.float32)
    w = waves.astype(np.float32, copy=False)
    for phase in range(STEPS_PER_SAMPLE):
        f = phase / STEPS_PER_SAMPLE
        if phase == 0:
            up = w
        else:
            cm, c0, c1, c2 = _weights(f)
            up = np.zeros_like(w)
            up[:, 1:-2] = cm * w[:, :-3] + c0 * w[:, 1:-2] + c1 * w[:, 2:-1] + c2 * w[:, 3:]
        for m in range(-shift, shift + (1 if phase == 0 else 0)):
            k = (m + shift) * STEPS_PER_SAMPLE + phase
            out[:, k] = up[:, ctx + m : ctx + m + n_pts]
    return out


def template_distance2(
    a: NDArray[np.floating[Any]], b: NDArray[np.floating[Any]], shift: int
) -> float:
    """Smallest squared distance between template ``a`` and ``b`` shifted by ``-shift..shift``
    (sub-sample steps; ``b`` is read with its edge values held beyond its ends)."""
    n = a.shape[0]
    x = np.arange(n, dtype=np.float64)
    shifts = -shift + np.arange(n_shifts(shift)) / STEPS_PER_SAMPLE
    moved = np.interp((x[None, :] + shifts[:, None]).ravel(), x, b).reshape(shifts.size, n)
    d = moved - a[None, :]
    return float(np.min(np.einsum("sl,sl->s", d, d)))
