"""Threshold-crossing spike detection on a live, block-by-block stream of amplifier samples.

One call per block. The work that runs on every sample is done for all channels at once:

1. the block is band-passed (:class:`~.spike_band_filter.BlockBandpass`) into a time-major
   history buffer that keeps enough past samples for the longest window;
2. the noise estimate is updated (:class:`~.noise_estimator.NoiseEstimator`);
3. the per-channel minimum (maximum) over the new samples is compared with the armed negative
   (positive) thresholds; only the few channels that went past get a closer look.

Per crossing: the peak is the extremum within ``margin_pts`` samples from the crossing (the
trough for the negative threshold, the peak for the positive one); a crossing less than
``shadow_pts`` after the last accepted one on its channel (or not after that one's peak) is
ignored; the waveform ``[peak - pre_pts, peak + post_pts)`` is cut out, and dropped when it goes
past an armed weak (artifact) threshold, or when its width at half its peak lies outside the
channel's spike-width range. Shadowed and rejected crossings still impose dead time.

Spike width: the contiguous run of samples around the peak whose value has the peak's sign and
at least half its magnitude (``value * sign(peak) >= |peak| / 2``), times ``1 / fs``. The
sign condition keeps a trough and the opposite-signed lobe next to it apart even where the
signal jumps across zero between two samples. The run is measured on the band-passed samples
cut out for the spike (``extra + n_pts + extra`` of them), so it is at most that long. With
every channel at the default ``[0, inf]`` the width is not computed at all.

Block boundaries: a crossing is examined once its peak search is complete (``margin_pts``
samples from it), and its spike is released as soon as its waveform is (``post_pts + extra``
samples after the peak), not a sample later: that look-ahead is all the latency detection
adds. Each sample is examined for a crossing exactly once (``[d0, d1)`` ranges that tile the
stream), with the sample before it taken from the history, so spikes spanning blocks are
neither missed nor counted twice. Spikes are released in peak order: a spike whose peak lies
at or beyond the examined range waits, because a later crossing cannot have an earlier peak.

Nothing is detected until the noise estimate exists (the first ~100 ms of a stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.hub.spikes.noise_estimator import DEFAULT_WARMUP_S, NoiseEstimator
from radiens_async.hub.spikes.spike_band_filter import DEFAULT_BAND_HZ, BlockBandpass
from radiens_async.hub.spikes.spike_params import (
    MAX_WINDOW_MS,
    PEAK_SEARCH_MS,
    DetectionParams,
    ms_to_pts,
)

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]
IP = NDArray[np.intp]

_SPARE_ROWS: Final = 4096
NOISE_EVERY_S: Final = 0.008
"""The noise estimate and the thresholds derived from it are refreshed this often."""


@dataclass(frozen=True, slots=True)
class DetectedSpikes:
    """Spikes released by one :meth:`SpikeDetector.process` call, in peak order.

    Attributes
    ----------
    sample_index : ndarray of int64, shape (N,)
        Peak sample (stream samples).
    row : ndarray of intp, shape (N,)
        Amplifier row.
    waveform_ext : ndarray of float32, shape (N, extra + n_pts + extra)
        Spike-band samples ``[peak - pre_pts - extra, peak + post_pts + extra)`` (µV).
    extra : int
        Samples of context on each side beyond the documented window.
    """

    sample_index: I64
    row: IP
    waveform_ext: F32
    extra: int

    def __len__(self) -> int:
        return int(self.sample_index.shape[0])

    def waveforms(self, n_pts: int) -> F32:
        """The documented window ``[peak - pre_pts, peak + post_pts)``, shape (N, n_pts)."""
        return self.waveform_ext[:, self.extra : self.extra + n_pts]


@dataclass(frozen=True, slots=True)
class _Levels:
    """Armed levels in µV for one parameter snapshot and noise estimate (±inf = disarmed)."""

    params: DetectionParams
    neg: F32
    pos: F32
    weak_neg: F32
    weak_pos: F32
    any_neg: bool
    any_pos: bool
    any_weak: bool
    any_width: bool

    @classmethod
    def of(cls, params: DetectionParams, noise_sd_uv: NDArray[np.float64]) -> _Levels:
        neg, pos = params.thr.armed_uv(noise_sd_uv)
        wneg, wpos = params.weak.armed_uv(noise_sd_uv)
        return cls(
            params,
            neg,
            pos,
            wneg,
            wpos,
            bool(np.isfinite(neg).any()),
            bool(np.isfinite(pos).any()),
            bool(np.isfinite(wneg).any() or np.isfinite(wpos).any()),
            bool(params.width_limited.any()),
        )


def half_peak_width_pts(wave: F32, peak_at: int) -> NDArray[np.int64]:
    """Samples in the run around ``wave[:, peak_at]`` at or beyond half its value.

    Parameters
    ----------
    wave : ndarray of float32, shape (N, W)
        Waveforms, the peak of each at column ``peak_at``.
    peak_at : int
        Column of the peak.

    Returns
    -------
    ndarray of int64, shape (N,)
        Length of the contiguous run of columns containing ``peak_at`` whose value, times the
        sign of the peak, is ``>= |peak| / 2`` (at least 1: the peak itself).

    Examples
    --------
    >>> w = np.array([[0, -2, -6, -10, -7, -4, 1]], dtype=np.float32)
    >>> half_peak_width_pts(w, 3).tolist()
    [3]
    """
    peak = wave[:, peak_at : peak_at + 1]
    sign = np.where(peak < 0, -1.0, 1.0).astype(np.float32)
    above = wave * sign >= np.abs(peak) * 0.5
    # cumprod counts the leading run of True on each side, the peak column included in both
    right = np.cumprod(above[:, peak_at:], axis=1).sum(axis=1)
    left = np.cumprod(above[:, peak_at::-1], axis=1).sum(axis=1)
    return (left + right - 1).astype(np.int64)


class SpikeDetector:
    """Live threshold detector over all amplifier channels of a stream.

    Parameters
    ----------
    fs : float
        Sampling frequency (Hz).
    n_channels : int
        Amplifier rows of every block.
    extra_pts : int
        Context samples cut out on each side of every waveform (for the sorter's alignment).
    band_hz : (float, float)
        Spike band of the filter.
    warmup_s : float
        Length of the noise warm-up at the start of a stream.

    Examples
    --------
    >>> from radiens_async.hub.spikes.spike_params import default_params
    >>> det = SpikeDetector(30000.0, n_channels=2)
    >>> params = default_params(2, 30000.0)
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(0.0, 5.0, (2, 30000)).astype(np.float32)
    >>> x[1, 15000:15004] -= 120.0                       # one large spike on row 1
    >>> found = [det.process(x[:, k : k + 30], k, params) for k in range(0, 30000, 30)]
    >>> hits = [(int(s), int(r)) for d in found for s, r in zip(d.sample_index, d.row)]
    >>> [h for h in hits if h[1] == 1 and abs(h[0] - 15002) < 5] != []
    True
    """

    def __init__(
        self,
        fs: float,
        n_channels: int,
        *,
        extra_pts: int = 0,
        band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
        warmup_s: float = DEFAULT_WARMUP_S,
    ) -> None:
        self._fs = float(fs)
        self._n = n_channels
        self._extra = int(extra_pts)
        longest = 2 * ms_to_pts(MAX_WINDOW_MS, fs) + ms_to_pts(PEAK_SEARCH_MS, fs)
        self._keep = longest + 2 * self._extra + 2
        self._hist: F32 = np.zeros((self._keep + _SPARE_ROWS, n_channels), dtype=np.float32)
        self._h0 = 0  # stream sample of history row 0
        self._fill = 0  # valid history rows
        self._started = False
        self._d0 = 0  # next sample to examine for a crossing
        self._dead: I64 = np.zeros(n_channels, dtype=np.int64)
        self._pend_peak: I64 = np.zeros(0, dtype=np.int64)
        self._pend_row: IP = np.zeros(0, dtype=np.intp)
        self._filter = BlockBandpass(fs, n_channels, band_hz)
        self.noise = NoiseEstimator(n_channels, fs, warmup_s=warmup_s)
        self._noise_every = max(1, round(NOISE_EVERY_S * fs))
        self._noise_from = 0  # first stream sample not yet given to the noise estimator
        self._levels: _Levels | None = None

    @property
    def next_sample(self) -> int:
        """The stream sample the next block is expected to start with."""
        return self._h0 + self._fill

    @property
    def extra(self) -> int:
        """Context samples on each side of :attr:`DetectedSpikes.waveform_ext`."""
        return self._extra

    def reset(self) -> None:
        """Start over with the next block (a new stream); the noise estimate is kept."""
        self._started = False
        self._pend_peak = self._pend_peak[:0]
        self._pend_row = self._pend_row[:0]

    def process(self, block: F32, first_sample: int, params: DetectionParams) -> DetectedSpikes:
        """Filter one block, update the noise, and return the spikes that became final.

        Parameters
        ----------
        block : ndarray of float32, shape (n_channels, n)
            Amplifier samples (µV), in stream order.
        first_sample : int
            Stream sample of ``block[:, 0]``. A block that does not follow the previous one
            starts a new segment (filter, history and pending spikes are reset).
        params : DetectionParams
            The parameters for this block.

        Returns
        -------
        DetectedSpikes
        """
        n = int(block.shape[1])
        if n == 0 or self._n == 0:
            return self._empty(params)
        if not self._started or first_sample != self.next_sample:
            self._restart_at(int(first_sample), block[:, 0])
        self._make_room(n)
        rows = self._hist[self._fill : self._fill + n]
        self._filter.filter_into(block, rows)
        self._fill += n
        if self.next_sample - self._noise_from >= self._noise_every:
            self.noise.update(self._hist[self._noise_from - self._h0 : self._fill])
            self._noise_from = self.next_sample
            self._levels = None
        if not self.noise.ready:
            self._d0 = self.next_sample
            return self._empty(params)
        return self._detect(params)

    # --- internals ----------------------------------------------------------------------------

    def _empty(self, params: DetectionParams) -> DetectedSpikes:
        width = params.n_pts + 2 * self._extra
        return DetectedSpikes(
            np.zeros(0, np.int64),
            np.zeros(0, np.intp),
            np.zeros((0, width), np.float32),
            self._extra,
        )

    def _restart_at(self, first_sample: int, first_values: F32) -> None:
        self._started = True
        self._h0 = first_sample
        self._fill = 0
        self._d0 = first_sample + 1
        self._dead[:] = first_sample
        self._noise_from = first_sample
        self._pend_peak = self._pend_peak[:0]
        self._pend_row = self._pend_row[:0]
        self._filter.reset(np.asarray(first_values, dtype=np.float32))

    def _make_room(self, n: int) -> None:
        if self._fill + n <= self._hist.shape[0]:
            return
        keep = min(self._fill, max(self._keep, self.next_sample - self._noise_from))
        drop = self._fill - keep
        if keep + n > self._hist.shape[0]:
            grown = np.zeros((keep + n + _SPARE_ROWS, self._n), dtype=np.float32)
            grown[:keep] = self._hist[drop : self._fill]
            self._hist = grown
        else:
            self._hist[:keep] = self._hist[drop : self._fill]
        self._h0 += drop
        self._fill = keep

    def _detect(self, params: DetectionParams) -> DetectedSpikes:
        end = self.next_sample
        levels = self._levels
        if levels is None or levels.params is not params:
            levels = self._levels = _Levels.of(params, self.noise.sd_uv)
        d0 = self._d0
        d1 = end - params.margin_pts + 1  # the peak search [t, t + margin) of t < d1 is complete
        if d1 > d0:
            self._d0 = d1
            self._examine(d0, d1, params, levels)
        # complete waveforms, and no crossing still to be examined can have an earlier peak
        ready = min(self._d0, end - params.post_pts - self._extra + 1)
        return self._release(ready, params, levels)

    def _examine(self, d0: int, d1: int, params: DetectionParams, levels: _Levels) -> None:
        """Find the crossings of samples ``[d0, d1)``; queue those outside a dead time."""
        seg = self._hist[d0 - 1 - self._h0 : d1 - self._h0]
        times: list[I64] = []
        chans: list[IP] = []
        signs: list[F32] = []
        if levels.any_neg:
            self._crossings(seg, levels.neg, d0, below=True, out=(times, chans, signs))
        if levels.any_pos:
            self._crossings(seg, levels.pos, d0, below=False, out=(times, chans, signs))
        if times:
            self._accept(
                np.concatenate(times), np.concatenate(chans), np.concatenate(signs), params
            )

    def _crossings(
        self,
        seg: F32,
        thr: F32,
        d0: int,
        *,
        below: bool,
        out: tuple[list[I64], list[IP], list[F32]],
    ) -> None:
        extreme = seg[1:].min(axis=0) if below else seg[1:].max(axis=0)
        cand = np.flatnonzero(extreme < thr) if below else np.flatnonzero(extreme > thr)
        if cand.size == 0:
            return
        sub = seg[:, cand]
        past = sub < thr[cand] if below else sub > thr[cand]
        t_loc, c_loc = np.nonzero(past[1:] & ~past[:-1])
        if t_loc.size == 0:
            return
        out[0].append(d0 + t_loc.astype(np.int64))
        out[1].append(cand[c_loc])
        out[2].append(np.full(t_loc.size, 1.0 if below else -1.0, dtype=np.float32))

    def _accept(self, t: I64, ch: IP, sign: F32, params: DetectionParams) -> None:
        order = np.lexsort((t, ch))
        t, ch, sign = t[order], ch[order], sign[order]
        idx = (t - self._h0)[:, None] + np.arange(params.margin_pts)
        vals = self._hist[idx, ch[:, None]] * sign[:, None]
        peak = t + np.argmin(vals, axis=1)
        shadow = params.shadow_pts
        dead = self._dead
        if ch.size == 1 or np.all(ch[1:] != ch[:-1]):
            ok = t >= dead[ch]
            dead[ch[ok]] = np.maximum(t[ok] + shadow, peak[ok] + 1)
        else:
            ok = np.zeros(t.size, dtype=bool)
            for i, (ti, ci, pi) in enumerate(
                zip(t.tolist(), ch.tolist(), peak.tolist(), strict=True)
            ):
                if ti >= dead[ci]:
                    ok[i] = True
                    dead[ci] = max(ti + shadow, pi + 1)
        self._pend_peak = np.concatenate([self._pend_peak, peak[ok]])
        self._pend_row = np.concatenate([self._pend_row, ch[ok]])

    def _width_ok(
        self, peak: I64, row: IP, wave: F32, params: DetectionParams
    ) -> tuple[I64, IP, F32]:
        """Keep the spikes whose half-peak width lies in their channel's range."""
        limited = params.width_limited[row]
        if not limited.any():
            return peak, row, wave
        keep = np.ones(peak.size, dtype=bool)
        sel = np.flatnonzero(limited)
        pts = half_peak_width_pts(wave[sel], self._extra + params.pre_pts)
        # compared in samples with a little slack, so a range set as k / fs keeps width k
        lo_hi = params.spike_width_s[row[sel]] * self._fs
        keep[sel] = (pts >= lo_hi[:, 0] - 1e-6) & (pts <= lo_hi[:, 1] + 1e-6)
        return peak[keep], row[keep], wave[keep]

    def _release(self, d1: int, params: DetectionParams, levels: _Levels) -> DetectedSpikes:
        if self._pend_peak.size == 0:
            return self._empty(params)
        final = self._pend_peak < d1
        peak, row = self._pend_peak[final], self._pend_row[final]
        self._pend_peak, self._pend_row = self._pend_peak[~final], self._pend_row[~final]
        order = np.lexsort((row, peak))
        peak, row = peak[order], row[order]
        start = peak - params.pre_pts - self._extra
        inside = start >= self._h0
        if not inside.all():  # the first spikes of a stream, before enough history exists
            peak, row, start = peak[inside], row[inside], start[inside]
        width = params.n_pts + 2 * self._extra
        idx = (start - self._h0)[:, None] + np.arange(width)
        wave = self._hist[idx, row[:, None]]
        if levels.any_weak:
            core = wave[:, self._extra : self._extra + params.n_pts]
            clean = (core.min(axis=1) >= levels.weak_neg[row]) & (
                core.max(axis=1) <= levels.weak_pos[row]
            )
            peak, row, wave = peak[clean], row[clean], wave[clean]
        if levels.any_width and peak.size:
            peak, row, wave = self._width_ok(peak, row, wave, params)
        return DetectedSpikes(peak, row, wave, self._extra)
