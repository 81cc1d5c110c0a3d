"""Power spectral density: Welch's method on a block of channels, and the documented options.

:func:`welch_psd` is Welch's averaged periodogram (constant detrend per segment, one-sided
density, mean over segments), the same estimate as ``scipy.signal.welch`` with the same window,
segment length and overlap. :func:`psd_of_block` adds what ``get_psd`` documents: resampling to
the PSD sample rate, the :class:`FftWindow` (Hamming with 1 % or 5 % overlap, or pass-through),
the frequency resolution, the frequency range and collapsing the range into one bin.

Channels are processed in blocks so that the segment frames of a block stay small, and the FFTs
run on all cores (``scipy.fft`` workers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import scipy.fft
import scipy.signal

from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import FftWindow

__all__ = [
    "DEFAULT_FREQ_RESOLUTION_HZ",
    "PsdResult",
    "psd_of_block",
    "segment_plan",
    "welch_psd",
    "window_spec",
]

DEFAULT_FREQ_RESOLUTION_HZ = 1.0
"""Frequency resolution when none is requested (segments of ``fs`` samples, clipped to the data)."""

_FRAME_BUDGET = 1 << 24  # samples of segment frames per channel block (~128 MiB of float64)


def window_spec(window: FftWindow) -> tuple[str, float]:
    """The scipy window name and overlap fraction of an :class:`FftWindow`.

    Examples
    --------
    >>> window_spec(FftWindow.HAMMING_p05)
    ('hamming', 0.05)
    """
    return {
        FftWindow.HAMMING_p01: ("hamming", 0.01),
        FftWindow.HAMMING_p05: ("hamming", 0.05),
        FftWindow.PASS_THROUGH: ("boxcar", 0.0),
    }[FftWindow.parse(window)]


def segment_plan(
    n_samples: int, fs: float, freq_resolution: float | None, overlap: float
) -> tuple[int, int]:
    """Segment length and overlap (samples) for a resolution of ``freq_resolution`` Hz.

    The segment is ``round(fs / freq_resolution)`` samples (default resolution 1 Hz), clipped to
    the data; the overlap is ``floor(overlap * nperseg)``.

    Raises
    ------
    InvalidArgument
        For a resolution that is not a positive number.

    Examples
    --------
    >>> segment_plan(60_000, 2000.0, 0.5, 0.01)
    (4000, 40)
    """
    res = DEFAULT_FREQ_RESOLUTION_HZ if freq_resolution is None else float(freq_resolution)
    if not math.isfinite(res) or res <= 0:
        raise InvalidArgument(f"freq_resolution must be a positive number, got {freq_resolution}")
    nperseg = max(1, min(n_samples, round(fs / res)))
    return nperseg, math.floor(overlap * nperseg)


def welch_psd(
    x: npt.NDArray[np.floating],
    fs: float,
    nperseg: int,
    noverlap: int,
    window: str = "hamming",
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Welch PSD of every row of ``x`` (one-sided density, units² / Hz).

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
        Signals; float32 input is transformed in float32 and averaged in float64.
    fs : float
        Sample rate in Hz.
    nperseg, noverlap : int
        Segment length and overlap in samples (``0 <= noverlap < nperseg <= n_samples``).
    window : str
        A ``scipy.signal.get_window`` name (periodic window, as scipy's welch uses).

    Returns
    -------
    freqs : ndarray, shape (nperseg // 2 + 1,)
    psd : ndarray, shape (n_channels, nperseg // 2 + 1), float64

    Raises
    ------
    InvalidArgument
        For a segment plan that does not fit the data.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 4000))
    >>> f, p = welch_psd(x, 1000.0, 1000, 10)
    >>> f[1], p.shape
    (1.0, (2, 501))
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise InvalidArgument(f"signals must be 2-D (channels, samples), got shape {x.shape}")
    n_ch, n = x.shape
    if not 0 < nperseg <= n or not 0 <= noverlap < nperseg:
        raise InvalidArgument(
            f"segment plan nperseg={nperseg}, noverlap={noverlap} does not fit {n} samples"
        )
    work = np.float32 if x.dtype == np.float32 else np.float64
    win = scipy.signal.get_window(window, nperseg).astype(work)
    step = nperseg - noverlap
    n_seg = (n - noverlap) // step
    scale = 1.0 / (fs * float(np.sum(win.astype(np.float64) ** 2)))
    n_freq = nperseg // 2 + 1
    psd = np.empty((n_ch, n_freq), np.float64)
    block = max(1, _FRAME_BUDGET // max(1, n_seg * nperseg))
    for c0 in range(0, n_ch, block):
        rows = np.asarray(x[c0 : c0 + block], dtype=work)
        frames = np.lib.stride_tricks.sliding_window_view(rows, nperseg, axis=-1)[:, ::step][
            :, :n_seg
        ]
        seg = frames - frames.mean(axis=-1, keepdims=True, dtype=np.float64).astype(work)
        seg *= win
        spec = scipy.fft.rfft(seg, axis=-1, workers=-1)
        power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
        psd[c0 : c0 + block] = power.mean(axis=1)
    psd *= scale
    # one-sided: double every bin except DC and (for even segments) Nyquist
    if nperseg % 2:
        psd[:, 1:] *= 2.0
    else:
        psd[:, 1:-1] *= 2.0
    freqs = scipy.fft.rfftfreq(nperseg, 1.0 / fs)
    return freqs, psd


@dataclass(frozen=True)
class PsdResult:
    """A PSD restricted to the requested frequency range.

    ``psd`` is (channels, bins) in units² / Hz; ``freqs`` the bin frequencies; ``freq_bin_width``
    the bin width in Hz (the range width when collapsed); ``fs`` the rate the PSD was computed at.
    """

    freqs: npt.NDArray[np.float64]
    psd: npt.NDArray[np.float64]
    freq_bin_width: float
    fs: float
    nperseg: int
    noverlap: int


def _resample(x: npt.NDArray[np.floating], fs: float, target: float) -> npt.NDArray[np.floating]:
    ratio = Fraction(target / fs).limit_denominator(1000)
    if ratio == 1:
        return x
    return scipy.signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1)


def psd_of_block(
    x: npt.NDArray[np.floating],
    fs: float,
    samp_freq: float | None = 2000.0,
    freq_range: tuple[float, float] = (1.0, 300.0),
    collapse_freq: bool = False,
    window: FftWindow = FftWindow.HAMMING_p01,
    freq_resolution: float | None = None,
) -> PsdResult:
    """The PSD that ``get_psd`` documents, of a block of signals.

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
        Signals at ``fs`` (computed in float64).
    fs : float
        Their sample rate in Hz.
    samp_freq : float or None
        PSD sample rate: the signals are resampled (polyphase, anti-aliased) to
        ``min(samp_freq, fs)``; None keeps ``fs``.
    freq_range : (float, float)
        ``[low, high]`` Hz kept (inclusive); ``high`` must not exceed the Nyquist frequency of
        the PSD sample rate.
    collapse_freq : bool
        Collapse the range into one bin: the mean density over the range's bins.
    window : FftWindow
        Window and overlap.
    freq_resolution : float, optional
        Requested bin width in Hz (default 1 Hz; coarser when the data are too short).

    Returns
    -------
    PsdResult

    Raises
    ------
    InvalidArgument
        A bad range (reversed, negative, beyond Nyquist, with no bin in it), rate, or no samples.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 30000))
    >>> r = psd_of_block(x, 30000.0, samp_freq=2000.0, freq_range=(1, 300))
    >>> r.fs, r.freqs[[0, -1]].tolist()
    (2000.0, [1.0, 300.0])
    """
    rate = fs if samp_freq is None else min(float(samp_freq), fs)
    if not math.isfinite(rate) or rate <= 0:
        raise InvalidArgument(f"samp_freq must be a positive number, got {samp_freq}")
    lo, hi = (float(v) for v in freq_range)
    nyquist = rate / 2.0
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or hi <= lo:
        raise InvalidArgument(
            f"freq_range must be [low, high] with 0 <= low < high, got {freq_range}"
        )
    if hi > nyquist:
        raise InvalidArgument(
            f"freq_range {[lo, hi]} Hz goes beyond the Nyquist frequency {nyquist:g} Hz of the"
            f" PSD sample rate {rate:g} Hz"
        )
    if x.shape[-1] < 2:
        raise InvalidArgument("the PSD needs at least 2 samples")
    # float64 throughout: the estimate matches scipy's to ~1e-15, not float32's ~1e-6
    y = _resample(np.asarray(x, np.float64), fs, rate)
    name, overlap = window_spec(window)
    nperseg, noverlap = segment_plan(y.shape[-1], rate, freq_resolution, overlap)
    freqs, psd = welch_psd(y, rate, nperseg, noverlap, name)
    keep = (freqs >= lo - 1e-9) & (freqs <= hi + 1e-9)
    if not keep.any():
        raise InvalidArgument(
            f"freq_range {[lo, hi]} Hz holds no frequency bin (bin width {rate / nperseg:g} Hz)"
        )
    freqs, psd = freqs[keep], psd[:, keep]
    width = rate / nperseg
    if collapse_freq:
        return PsdResult(
            np.array([freqs[0]]), psd.mean(axis=1, keepdims=True), hi - lo, rate, nperseg, noverlap
        )
    return PsdResult(freqs, psd, width, rate, nperseg, noverlap)
