"""Power spectral density: Welch's method on a block of channels, and the documented options.

:func:`welch_psd` is Welch's averaged periodogram (constant detrend per segment, one-sided
density, mean over segments), the same estimate as ``scipy.signal.welch`` with the same window,
segment length and overlap. :func:`psd_of_block` adds what ``get_psd`` documents: resampling to
the PSD sample rate, the :class:`FftWindow` (Hamming with 1 % or 5 % overlap, or pass-through),
the frequency resolution, the frequency range and collapsing the range into one bin.

Channels are processed in blocks so that the segment frames of a block stay small, and the FFTs
run on all cores (``scipy.fft`` workers). A signal read chunk by chunk is resampled and
transformed on :data:`PSD_WORKERS` threads, a chunk each (``resample_poly`` and the FFTs release
the GIL); the chunks' sums are added in order, so the result does not depend on the threads.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
    "PSD_WORKERS",
    "PsdResult",
    "psd_of_block",
    "psd_of_reader",
    "resample_rows",
    "segment_plan",
    "welch_psd",
    "welch_psd_chunked",
    "window_spec",
]

DEFAULT_FREQ_RESOLUTION_HZ = 1.0
"""Frequency resolution when none is requested (segments of ``fs`` samples, clipped to the data)."""

_FRAME_BUDGET = 1 << 24  # samples of segment frames per channel block (~128 MiB of float64)
PSD_WORKERS = min(2, os.cpu_count() or 1)
"""Threads that read, resample and transform chunks of a signal at once (each holds a chunk)."""
_DECIMATE_BLOCK_BYTES = 2 << 20  # rows decimated together (their padded copy stays in cache)
CHUNK_VALUES = 1 << 22
"""About how many input values (channels x samples) a chunk holds: ~32 MiB as float64, large
enough that the resampling margins cost ~1 % (64 channels, 30 kHz -> 2 kHz)."""


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
        Signals (transformed in float64).
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
    >>> float(f[1]), p.shape
    (1.0, (2, 501))
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise InvalidArgument(f"signals must be 2-D (channels, samples), got shape {x.shape}")
    # the whole block as one chunk of the chunked estimate
    return welch_psd_chunked(
        lambda a, b: x[:, a:b], x.shape[0], x.shape[1], fs, nperseg, noverlap, window, x.size, 1
    )


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


def _ratio(fs: float, target: float) -> Fraction:
    return Fraction(target / fs).limit_denominator(1000)


def resample_rows(x: npt.NDArray[np.float64], up: int, down: int) -> npt.NDArray[np.float64]:
    """``scipy.signal.resample_poly(x, up, down, axis=-1)`` with its default filter and padding.

    An integer decimation (``up == 1``) runs as polyphase matrix-vector products over a
    cache-sized block of rows (BLAS; ~3x resample_poly's loop, equal to ~1e-15 relative);
    other ratios call resample_poly.

    Raises
    ------
    InvalidArgument
        For signals that are not 2-D, or factors that are not positive integers.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 3000))
    >>> ref = scipy.signal.resample_poly(x, 1, 15, axis=-1)
    >>> bool(np.allclose(resample_rows(x, 1, 15), ref, rtol=0, atol=1e-12))
    True
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise InvalidArgument(f"signals must be 2-D (channels, samples), got shape {x.shape}")
    if not all(isinstance(v, int | np.integer) and v >= 1 for v in (up, down)):
        raise InvalidArgument(f"up and down must be positive integers, got {up!r}, {down!r}")
    g = math.gcd(int(up), int(down))
    up, down = int(up) // g, int(down) // g
    if up != 1:
        return np.asarray(scipy.signal.resample_poly(x, up, down, axis=-1), np.float64)
    return _decimate(x, down)


@functools.lru_cache(maxsize=16)
def _decimation_taps(down: int) -> npt.NDArray[np.float64]:
    """resample_poly's low-pass for ``(1, down)``, reversed, zero-filled to whole phases and
    shaped ``(phases, down)``: ``taps[q, r]`` weighs input ``(k + q) * down + r - half`` of
    output ``k``."""
    half = 10 * down  # as resample_poly designs it: 2 * half + 1 taps, cutoff 1 / down
    h = scipy.signal.firwin(2 * half + 1, 1.0 / down, window=("kaiser", 5.0))
    phases = -(-h.size // down)
    taps = np.zeros(phases * down)
    taps[: h.size] = h[::-1]
    taps.flags.writeable = False  # shared by every call (cached)
    return taps.reshape(phases, down)


def _decimate(x: npt.NDArray[np.float64], down: int) -> npt.NDArray[np.float64]:
    """``resample_poly(x, 1, down, axis=-1)``: output ``k`` is
    ``sum_i h[i] * x[k * down + half - i]`` with zeros outside ``x``.

    Tiles of a few rows and a span of outputs go through one zero-padded buffer of about
    :data:`_DECIMATE_BLOCK_BYTES`, which stays in cache while every phase passes over it.
    """
    if down == 1:
        return x.copy()
    taps = _decimation_taps(down)
    phases = taps.shape[0]
    half = 10 * down
    n_ch, n = x.shape
    n_out = -(-n // down)
    span = max(256, min(n_out, _DECIMATE_BLOCK_BYTES // (8 * down) - phases))
    width = (span + phases) * down  # padded input of `span` outputs
    rows = max(1, min(n_ch, _DECIMATE_BLOCK_BYTES // (8 * width)))
    buf = np.empty((rows, width), np.float64)
    out = np.empty((n_ch, n_out), np.float64)
    for c0 in range(0, n_ch, rows):
        r = min(rows, n_ch - c0)
        for k0 in range(0, n_out, span):
            k1 = min(n_out, k0 + span)
            # padded position p holds x[p - half]; this tile reads positions k0*down + [0, w)
            w = (k1 - k0 + phases) * down
            a, b = max(0, k0 * down - half), min(n, k0 * down + w - half)
            tile = buf[:r, :w]
            lead = a - (k0 * down - half)
            tile[:, :lead] = 0.0
            tile[:, lead : lead + b - a] = x[c0 : c0 + r, a:b]
            tile[:, lead + b - a :] = 0.0
            frames = tile.reshape(r, k1 - k0 + phases, down)
            block = out[c0 : c0 + r, k0:k1]
            np.matmul(frames[:, : k1 - k0], taps[0], out=block)
            for q in range(1, phases):
                block += frames[:, q : q + k1 - k0] @ taps[q]
    return out


Reader = Callable[[int, int], npt.NDArray[np.floating]]


class _ResampledReader:
    """Windows ``[o0, o1)`` of ``resample_poly(x, up, down)`` computed from chunks of ``x`` with
    margins, equal to slicing the whole-signal result.

    ``resample_poly`` is shift-equivariant for input shifts ``c`` with ``c * up % down == 0``
    (a multiple of ``down``): the output shifts by ``c * up / down``. A chunk starting at such
    a ``c`` and reaching ``margin`` input samples beyond the window on both sides (more than the
    filter spans) gives the window's outputs exactly; at the signal's ends the chunk's zero
    padding is the whole signal's.
    """

    def __init__(self, read: Reader, n_in: int, up: int, down: int) -> None:
        self.read, self.n_in, self.up, self.down = read, n_in, up, down
        half_len = 10 * max(up, down)  # as resample_poly designs its filter
        self.margin = -(-(2 * half_len + 2 * down) // up) + down

    @property
    def n_out(self) -> int:
        total = self.n_in * self.up
        return total // self.down + bool(total % self.down)

    def __call__(self, o0: int, o1: int) -> npt.NDArray[np.float64]:
        up, down = self.up, self.down
        c0 = max(0, (o0 * down // up) - self.margin)
        c0 -= c0 % down
        c1 = min(self.n_in, -(-(o1 * down) // up) + self.margin)
        x = np.asarray(self.read(c0, c1), np.float64)
        y = resample_rows(x, up, down)
        shift = c0 * up // down
        return y[:, o0 - shift : o1 - shift]


def welch_psd_chunked(
    read: Reader,
    n_channels: int,
    n_samples: int,
    fs: float,
    nperseg: int,
    noverlap: int,
    window: str = "hamming",
    chunk_values: int = CHUNK_VALUES,
    workers: int = PSD_WORKERS,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`welch_psd` of a signal read in time chunks of whole segments.

    Parameters
    ----------
    read : callable
        ``read(start, stop)`` returns samples ``[start, stop)`` of every channel, shape
        ``(n_channels, stop - start)``; called from ``workers`` threads at once.
    n_channels, n_samples : int
        Size of the signal.
    fs, nperseg, noverlap, window
        As for :func:`welch_psd`.
    chunk_values : int
        About how many values (channels x samples) a chunk holds (at least one segment).
    workers : int
        Chunks read and transformed at once, on as many threads.

    Returns
    -------
    freqs, psd
        Equal to :func:`welch_psd` of the whole signal (up to the order of the sums, which is
        the chunks' order whatever ``workers`` is).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 10000))
    >>> f, p = welch_psd_chunked(lambda a, b: x[:, a:b], 2, 10000, 1000.0, 1000, 10,
    ...                          chunk_values=5000)
    >>> np.allclose(p, welch_psd(x, 1000.0, 1000, 10)[1])
    True
    """
    if not 0 < nperseg <= n_samples or not 0 <= noverlap < nperseg:
        raise InvalidArgument(
            f"segment plan nperseg={nperseg}, noverlap={noverlap} does not fit {n_samples} samples"
        )
    step = nperseg - noverlap
    n_seg = (n_samples - noverlap) // step
    per_chunk = max(1, (chunk_values // max(1, n_channels) - noverlap) // step)
    win = scipy.signal.get_window(window, nperseg)
    chunks = [(k0, min(n_seg, k0 + per_chunk)) for k0 in range(0, n_seg, per_chunk)]

    def power(chunk: tuple[int, int]) -> npt.NDArray[np.float64]:
        k0, k1 = chunk
        y = np.asarray(read(k0 * step, (k1 - 1) * step + nperseg), np.float64)
        return _segment_power_sum(y, nperseg, step, k1 - k0, win)

    total = np.zeros((n_channels, nperseg // 2 + 1), np.float64)
    for part in _in_order(power, chunks, workers):
        total += part
    psd = total * (1.0 / (n_seg * fs * float(np.sum(win**2))))
    if nperseg % 2:
        psd[:, 1:] *= 2.0
    else:
        psd[:, 1:-1] *= 2.0
    return scipy.fft.rfftfreq(nperseg, 1.0 / fs), psd


def _in_order(
    fn: Callable[[tuple[int, int]], npt.NDArray[np.float64]],
    items: list[tuple[int, int]],
    workers: int,
) -> Iterator[npt.NDArray[np.float64]]:
    """``fn`` of each item, in order, with at most ``workers`` running (and held) at once."""
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="psd") as pool:
        pending: list[Future[npt.NDArray[np.float64]]] = []
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) == workers:
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()


def _segment_power_sum(
    y: npt.NDArray[np.float64],
    nperseg: int,
    step: int,
    n_seg: int,
    win: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Sum over segments of |rfft(detrended, windowed segment)|² per channel."""
    out = np.zeros((y.shape[0], nperseg // 2 + 1), np.float64)
    block = max(1, _FRAME_BUDGET // max(1, n_seg * nperseg))
    for c0 in range(0, y.shape[0], block):
        frames = np.lib.stride_tricks.sliding_window_view(y[c0 : c0 + block], nperseg, axis=-1)
        frames = frames[:, ::step][:, :n_seg]
        seg = frames - frames.mean(axis=-1, keepdims=True)
        seg *= win
        spec = scipy.fft.rfft(seg, axis=-1, workers=-1)
        out[c0 : c0 + block] = (spec.real**2 + spec.imag**2).sum(axis=1)
    return out


def psd_of_block(
    x: npt.NDArray[np.floating],
    fs: float,
    samp_freq: float | None = 2000.0,
    freq_range: tuple[float, float] = (1.0, 300.0),
    collapse_freq: bool = False,
    window: FftWindow = FftWindow.HAMMING_p01,
    freq_resolution: float | None = None,
) -> PsdResult:
    """The PSD that ``get_psd`` documents, of a block of signals in memory.

    See :func:`psd_of_reader` (this reads ``x`` through it).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(2, 30000))
    >>> r = psd_of_block(x, 30000.0, samp_freq=2000.0, freq_range=(1, 300))
    >>> r.fs, r.freqs[[0, -1]].tolist()
    (2000.0, [1.0, 300.0])
    """
    x = np.asarray(x)
    return psd_of_reader(
        lambda a, b: x[:, a:b],
        x.shape[0],
        x.shape[-1],
        fs,
        samp_freq,
        freq_range,
        collapse_freq,
        window,
        freq_resolution,
    )


def psd_of_reader(
    read: Reader,
    n_channels: int,
    n_samples: int,
    fs: float,
    samp_freq: float | None = 2000.0,
    freq_range: tuple[float, float] = (1.0, 300.0),
    collapse_freq: bool = False,
    window: FftWindow = FftWindow.HAMMING_p01,
    freq_resolution: float | None = None,
    chunk_values: int = CHUNK_VALUES,
    workers: int = PSD_WORKERS,
) -> PsdResult:
    """The PSD that ``get_psd`` documents, of a signal read chunk by chunk.

    The result equals resampling the whole signal with ``scipy.signal.resample_poly`` and
    calling ``scipy.signal.welch`` on it, but each of the ``workers`` threads holds only about
    ``chunk_values`` input values (and their resampled and segmented copies) at once.

    Parameters
    ----------
    read : callable
        ``read(start, stop)`` returns samples ``[start, stop)``, shape ``(n_channels, n)``.
    n_channels, n_samples : int
        Size of the signal.
    fs : float
        Its sample rate in Hz.
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
    chunk_values : int
        About how many values (channels x samples) of the input a chunk holds.
    workers : int
        Chunks read, resampled and transformed at once, on as many threads.

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
    >>> r = psd_of_reader(lambda a, b: x[:, a:b], 2, 30000, 30000.0, 2000.0, (1, 300))
    >>> r.psd.shape
    (2, 300)
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
    if n_samples < 2:
        raise InvalidArgument("the PSD needs at least 2 samples")
    ratio = _ratio(fs, rate)
    n_out, source, out_values = n_samples, read, chunk_values
    if ratio != 1:
        resampled = _ResampledReader(read, n_samples, ratio.numerator, ratio.denominator)
        n_out, source = resampled.n_out, resampled
        out_values = max(1, chunk_values * ratio.numerator // ratio.denominator)
    name, overlap = window_spec(window)
    nperseg, noverlap = segment_plan(n_out, rate, freq_resolution, overlap)
    # float64 throughout: the estimate matches scipy's to ~1e-15, not float32's ~1e-6
    freqs, psd = welch_psd_chunked(
        source, n_channels, n_out, rate, nperseg, noverlap, name, out_values, workers
    )
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
