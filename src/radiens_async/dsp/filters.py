"""IIR filter designs and zero-phase filtering of in-memory blocks (pure numpy/scipy, no I/O).

Designs (second-order sections, float64):

* low-pass / high-pass: Butterworth of order :data:`BUTTER_ORDER` (4),
* band-pass / band-stop: Butterworth designed with ``N = BUTTER_ORDER // 2`` (2) per band edge,
  which scipy turns into a filter of order 4 (two poles per edge),
* notch: scipy's second-order IIR notch (``iirnotch``) with ``Q = freq / bandwidth``,
* anti-alias low-pass for decimation: Chebyshev type I of order 8, 0.05 dB ripple, cutoff
  ``0.8 * (fs / 2) / q`` -- the filter :func:`scipy.signal.decimate` uses.

Applied forward and backward by default (:func:`scipy.signal.sosfiltfilt`): zero phase, squared
magnitude response. Every design is checked against the documented rule (cutoffs below fs/2, a
band's low edge below its high edge, a positive notch bandwidth) and refused with
:class:`~radiens_async.errors.InvalidArgument` otherwise.

Examples
--------
>>> import numpy as np
>>> sos = band_pass_sos(300.0, 6000.0, 30000.0)
>>> x = np.random.default_rng(0).standard_normal((4, 30000)).astype(np.float32)
>>> apply_sos(sos, x).shape
(4, 30000)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

from radiens_async.errors import InvalidArgument

__all__ = [
    "ANTI_ALIAS_ORDER",
    "BUTTER_ORDER",
    "anti_alias_sos",
    "apply_sos",
    "band_pass_sos",
    "band_stop_sos",
    "butterworth_sos",
    "high_pass_sos",
    "low_pass_sos",
    "notch_sos",
    "settle_samples",
]

#: Order of the low-pass and high-pass Butterworth designs (band designs: 2 per edge).
BUTTER_ORDER = 4
#: Order of the Chebyshev type I anti-alias filter used before decimation (as scipy.decimate).
ANTI_ALIAS_ORDER = 8

Sos = npt.NDArray[np.float64]


def _check_fs(fs: float) -> float:
    if (
        isinstance(fs, bool)
        or not isinstance(fs, int | float)
        or not (math.isfinite(fs) and fs > 0)
    ):
        raise InvalidArgument(f"sampling frequency must be a positive number of Hz, not {fs!r}")
    return float(fs)


def _check_freq(name: str, freq: float, fs: float) -> float:
    if isinstance(freq, bool) or not isinstance(freq, int | float) or not math.isfinite(freq):
        raise InvalidArgument(f"{name} must be a finite number of Hz, not {freq!r}")
    if freq <= 0:
        raise InvalidArgument(f"{name} must be > 0 Hz, got {freq:g} Hz")
    if freq >= fs / 2:
        raise InvalidArgument(
            f"{name} must be < fs/2 = {fs / 2:g} Hz (fs = {fs:g} Hz), got {freq:g} Hz"
        )
    return float(freq)


def _check_band(low: float, high: float, fs: float) -> tuple[float, float]:
    fs = _check_fs(fs)
    low = _check_freq("low_cutoff_freq", low, fs)
    high = _check_freq("high_cutoff_freq", high, fs)
    if low >= high:
        raise InvalidArgument(
            f"low_cutoff_freq ({low:g} Hz) must be below high_cutoff_freq ({high:g} Hz)"
        )
    return low, high


#: ``scipy.signal.butter`` band types and how many edges (cut-off frequencies) each takes.
_BUTTER_EDGES = {"lowpass": 1, "highpass": 1, "bandpass": 2, "bandstop": 2}


def butterworth_sos(btype: str, edges: Sequence[float], fs: float) -> Sos:
    """A Butterworth design as second-order sections (float64): the one behind the four below.

    One-edge designs (low-pass, high-pass) have order :data:`BUTTER_ORDER` (4); band designs
    have ``BUTTER_ORDER // 2`` (2) poles per edge, order 4 overall.

    Parameters
    ----------
    btype : {'lowpass', 'highpass', 'bandpass', 'bandstop'}
        The band type.
    edges : sequence of float
        ``[cutoff_freq]`` for low/high-pass, ``[low_cutoff_freq, high_cutoff_freq]`` for bands;
        -3 dB frequencies (of one pass) in Hz, each in ``(0, fs/2)``, a band's low below high.
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    ndarray, shape (2, 6)

    Raises
    ------
    InvalidArgument
        If an edge is not in ``(0, fs/2)``, ``low >= high``, ``fs`` is not positive, or
        ``btype`` / the number of edges is not one of the above.

    Examples
    --------
    >>> butterworth_sos("bandpass", [300.0, 6000.0], 30000.0).shape
    (2, 6)
    """
    n_edges = _BUTTER_EDGES.get(btype)
    if n_edges is None or len(edges) != n_edges:
        raise InvalidArgument(
            f"a Butterworth {btype!r} design takes one of {sorted(_BUTTER_EDGES)} with 1 edge"
            f" (low/high-pass) or 2 (bands), got {len(edges)}"
        )
    fs = _check_fs(fs)
    if n_edges == 1:
        cutoff = _check_freq("cutoff_freq", edges[0], fs)
        return np.asarray(signal.butter(BUTTER_ORDER, cutoff, btype, fs=fs, output="sos"))
    band = list(_check_band(edges[0], edges[1], fs))
    return np.asarray(signal.butter(BUTTER_ORDER // 2, band, btype, fs=fs, output="sos"))


def low_pass_sos(cutoff_freq: float, fs: float) -> Sos:
    """Butterworth low-pass of order 4 below ``cutoff_freq`` Hz (see :func:`butterworth_sos`).

    Examples
    --------
    >>> low_pass_sos(750.0, 30000.0).shape
    (2, 6)
    """
    return butterworth_sos("lowpass", [cutoff_freq], fs)


def high_pass_sos(cutoff_freq: float, fs: float) -> Sos:
    """Butterworth high-pass of order 4 above ``cutoff_freq`` Hz (see :func:`butterworth_sos`).

    Examples
    --------
    >>> high_pass_sos(20.0, 30000.0).shape
    (2, 6)
    """
    return butterworth_sos("highpass", [cutoff_freq], fs)


def band_pass_sos(low_cutoff_freq: float, high_cutoff_freq: float, fs: float) -> Sos:
    """Butterworth band-pass, 2 poles per edge (see :func:`butterworth_sos`).

    Examples
    --------
    >>> band_pass_sos(300.0, 6000.0, 30000.0).shape
    (2, 6)
    """
    return butterworth_sos("bandpass", [low_cutoff_freq, high_cutoff_freq], fs)


def band_stop_sos(low_cutoff_freq: float, high_cutoff_freq: float, fs: float) -> Sos:
    """Butterworth band-stop, 2 poles per edge, rejecting the band (see :func:`butterworth_sos`).

    Examples
    --------
    >>> band_stop_sos(750.0, 2000.0, 30000.0).shape
    (2, 6)
    """
    return butterworth_sos("bandstop", [low_cutoff_freq, high_cutoff_freq], fs)


def notch_sos(freq: float, bandwidth: float, fs: float) -> Sos:
    """Second-order IIR notch at ``freq`` with -3 dB width ``bandwidth`` (``Q = freq/bandwidth``).

    Parameters
    ----------
    freq : float
        Notch frequency in Hz; must be in ``(0, fs/2)``.
    bandwidth : float
        Width of the notch in Hz; must be positive.
    fs : float
        Sampling rate in Hz.

    Returns
    -------
    ndarray, shape (1, 6)

    Raises
    ------
    InvalidArgument
        If ``freq`` is not in ``(0, fs/2)`` or ``bandwidth`` is not positive.

    Examples
    --------
    >>> notch_sos(50.0, 2.0, 30000.0).shape
    (1, 6)
    """
    fs = _check_fs(fs)
    f0 = _check_freq("freq", freq, fs)
    if (
        isinstance(bandwidth, bool)
        or not isinstance(bandwidth, int | float)
        or not math.isfinite(bandwidth)
        or bandwidth <= 0
    ):
        raise InvalidArgument(f"bandwidth must be a positive number of Hz, got {bandwidth!r}")
    b, a = signal.iirnotch(f0, f0 / float(bandwidth), fs=fs)
    return np.asarray(signal.tf2sos(b, a))


def anti_alias_sos(factor: int) -> Sos:
    """The low-pass applied before keeping every ``factor``-th sample (as scipy.decimate's IIR).

    Parameters
    ----------
    factor : int
        Decimation factor, >= 2.

    Returns
    -------
    ndarray, shape (4, 6)
        Chebyshev type I, order 8, 0.05 dB ripple, cutoff at 0.8 of the new Nyquist frequency.

    Raises
    ------
    InvalidArgument
        If ``factor`` is not an int >= 2.

    Examples
    --------
    >>> anti_alias_sos(3).shape
    (4, 6)
    """
    if isinstance(factor, bool) or not isinstance(factor, int | np.integer) or factor < 2:
        raise InvalidArgument(f"decimation factor must be an integer >= 2, got {factor!r}")
    return np.asarray(signal.cheby1(ANTI_ALIAS_ORDER, 0.05, 0.8 / int(factor), output="sos"))


def apply_sos(
    sos: Sos, x: npt.NDArray[Any], *, axis: int = -1, zero_phase: bool = True
) -> npt.NDArray[np.float64]:
    """Filter ``x`` along ``axis``: forward-backward (zero phase) by default, else causal.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections from one of the designs above.
    x : ndarray
        Samples, e.g. ``(n_channels, n_samples)`` with ``axis=-1``.
    axis : int
        The time axis.
    zero_phase : bool
        ``True``: :func:`scipy.signal.sosfiltfilt` (default, odd padding at the edges).
        ``False``: :func:`scipy.signal.sosfilt` from rest.

    Returns
    -------
    ndarray of float64
        Same shape as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> apply_sos(low_pass_sos(100.0, 1000.0), np.ones((2, 500))).shape
    (2, 500)
    """
    if zero_phase:
        return np.asarray(signal.sosfiltfilt(sos, x, axis=axis))
    return np.asarray(signal.sosfilt(sos, x, axis=axis))


def settle_samples(sos: Sos, tol: float = 1e-7, max_samples: int = 1 << 24) -> int:
    """How many samples the filter's transient needs to decay below ``tol`` of its total gain.

    A block filtered with this many extra samples on each side (then trimmed) equals the same
    block filtered as part of the whole signal, to within ``tol`` of the signal amplitude: the
    chunked file pipeline uses it as its margin.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        The filter.
    tol : float
        Tail of the absolute impulse response, relative to its total, that may be ignored.
    max_samples : int
        Upper bound (a filter that never settles within it gets this margin).

    Returns
    -------
    int
        At least ``3 * (2 * n_sections + 1)`` (sosfiltfilt's edge padding).

    Examples
    --------
    >>> settle_samples(band_pass_sos(300.0, 6000.0, 30000.0)) < 3000
    True
    """
    n = 4096
    pad = 3 * (2 * len(sos) + 1)
    while True:
        impulse = np.zeros(n)
        impulse[0] = 1.0
        h = np.abs(signal.sosfilt(sos, impulse))
        tail = np.cumsum(h[::-1])[::-1]  # tail[i] = sum of |h| from i on
        total = tail[0] if tail[0] > 0 else 1.0
        below = np.flatnonzero(tail < tol * total)
        if below.size and h[-n // 4 :].max() < tol * total / n:
            return int(max(below[0], pad))
        if n >= max_samples:
            return max_samples
        n *= 4
