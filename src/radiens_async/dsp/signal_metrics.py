"""Signal metrics (KPI) of amplifier channels, one packet at a time, and their stream modes.

A *packet* is a window of samples of every channel. :func:`packet_metrics` computes every
:class:`MetricName` of one packet (channels x metrics); :func:`combine_modes` turns the base
packets of a stream into the AVG (running average of base packets) and STREAM (cumulative over
the base packets) values.

Definitions (values in µV, timestamps are sample indices):

* ``NUM_PTS``, ``DUR_SEC = NUM_PTS / fs``, ``MEAN``, ``MIN``, ``MAX``, ``MAX_ABS = max |x|``,
  ``MAX_MIN_DIFF_ABS = MAX - MIN``, ``VAR`` and ``SD`` (population, ddof 0), ``RMS``;
  ``TIMESTAMP_MIN`` / ``TIMESTAMP_MAX`` the sample index of the first minimum / maximum.
* ``NOISE_UV = median(|x - median(x)|) / 0.6745`` (the MAD estimate of the noise SD).
* **Events**: a crossing of an armed threshold (negative: ``x[i] <= neg < x[i-1]``; positive:
  ``x[i] >= pos > x[i-1]``) at sample ``i`` is an event when its window
  ``[i - pre, i + post]`` lies inside the packet, it comes at least ``shadow`` samples after the
  previous event, and (when a weak threshold is armed) the window does not pass the weak level
  (artifact rejection). Threshold levels are in µV, or multiples of ``NOISE_UV`` (``'sd'``) or of
  ``RMS`` (``'rms'``, the ``standard`` calculation: ±2 x V_rms).
* Per event ``w`` (its window): ``max w``, ``min w``, ``max |w|``, ``max w - min w``.
  ``EVENT_MAX`` / ``EVENT_MIN`` / ``EVENT_MAX_ABS`` / ``EVENT_MAX_MIN_DIFF_ABS`` are the extremes
  over events and ``EVENT_TIMESTAMP_*`` where they occur (for the peak-to-peak: the event's
  crossing); ``MEAN_MAX``, ``MEAN_MIN``, ``MEAN_MAX_ABS``, ``EVENT_MEAN_MAX_MIN_DIFF_ABS`` are
  means over events; ``NUM_EVENTS``, ``EVENT_RATE = NUM_EVENTS / DUR_SEC``,
  ``SNR = MEAN_MAX_ABS / NOISE_UV``. With no events: ``SNR`` NaN, ``EVENT_RATE`` 0,
  ``EVENT_MIN`` +inf and the other event metrics -inf.
* ``*_ISI``: the same statistics over the samples outside every event window (NaN when none).
* ``MAX_MIN_DIFF_ABS_AMPLIFIED = MAX_MIN_DIFF_ABS²`` when ``MAX_MIN_DIFF_ABS > 2 SD``, else 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import MetricMode, MetricName

__all__ = [
    "DEFAULT_PACKET_DUR_S",
    "MAD_TO_SD",
    "N_METRICS",
    "THRESHOLD_REFERENCES",
    "MetricsParams",
    "combine_modes",
    "detect_events",
    "packet_metrics",
    "packet_metrics_and_isi_mean",
]

M = MetricName
N_METRICS: Final = len(MetricName)
MAD_TO_SD: Final = 1.0 / 0.6745
DEFAULT_PACKET_DUR_S: Final = 1.0
THRESHOLD_REFERENCES: Final = ("uV", "sd", "rms")
NEG, POS = 0, 1

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MetricsParams:
    """Event-detection and packet parameters of one dataset (arrays are per channel, [neg, pos]).

    ``thr`` holds levels in the unit of ``thr_ref`` (``'uV'``, ``'sd'`` = x NOISE_UV, ``'rms'`` =
    x RMS); negative levels for the negative slot. The default is the documented ``standard``
    calculation: ±2 x V_rms, both armed, weak thresholds off; window 0.5 ms before and 1.0 ms
    after the crossing, shadow 1.5 ms (the live sorter's defaults), packets of 1 s.
    """

    n_channels: int
    thr: F64 = field(default_factory=lambda: np.empty((0, 2)))
    thr_ref: npt.NDArray[np.str_] = field(default_factory=lambda: np.empty((0, 2), "<U3"))
    thr_active: npt.NDArray[np.bool_] = field(default_factory=lambda: np.empty((0, 2), bool))
    weak_thr: F64 = field(default_factory=lambda: np.empty((0, 2)))
    weak_ref: npt.NDArray[np.str_] = field(default_factory=lambda: np.empty((0, 2), "<U3"))
    weak_active: npt.NDArray[np.bool_] = field(default_factory=lambda: np.empty((0, 2), bool))
    pre_s: float = 0.5e-3
    post_s: float = 1.0e-3
    shadow_s: float = 1.5e-3
    packet_dur_s: float = DEFAULT_PACKET_DUR_S

    @classmethod
    def standard(cls, n_channels: int, packet_dur_s: float = DEFAULT_PACKET_DUR_S) -> MetricsParams:
        """The ``standard`` parameters: thresholds ±2 x V_rms, both armed.

        Examples
        --------
        >>> MetricsParams.standard(4).thr[0].tolist()
        [-2.0, 2.0]
        """
        return cls(
            n_channels=n_channels,
            thr=np.tile([-2.0, 2.0], (n_channels, 1)),
            thr_ref=np.full((n_channels, 2), "rms"),
            thr_active=np.ones((n_channels, 2), bool),
            weak_thr=np.tile([-1000.0, 1000.0], (n_channels, 1)),
            weak_ref=np.full((n_channels, 2), "uV"),
            weak_active=np.zeros((n_channels, 2), bool),
            packet_dur_s=packet_dur_s,
        )

    def with_levels(
        self,
        rows: npt.NDArray[np.intp],
        values: tuple[float | None, float | None],
        ref: str,
        weak: bool,
    ) -> MetricsParams:
        """A copy with new levels in the given slots of ``rows`` (None keeps a slot)."""
        if ref not in THRESHOLD_REFERENCES:
            raise InvalidArgument("scale must be `uV` | `sd` and/or weak_thr must be True | False")
        thr = (self.weak_thr if weak else self.thr).copy()
        refs = (self.weak_ref if weak else self.thr_ref).copy()
        for slot, value in enumerate(values):
            if value is None:
                continue
            if not np.isfinite(value):
                raise InvalidArgument(f"threshold level must be a finite number, got {value}")
            thr[rows, slot] = value
            refs[rows, slot] = ref
        if weak:
            return replace(self, weak_thr=thr, weak_ref=refs)
        return replace(self, thr=thr, thr_ref=refs)

    def with_active(
        self, rows: npt.NDArray[np.intp], values: tuple[bool | None, bool | None], weak: bool
    ) -> MetricsParams:
        """A copy with thresholds armed / disarmed in the given slots (None keeps a slot)."""
        active = (self.weak_active if weak else self.thr_active).copy()
        for slot, value in enumerate(values):
            if value is not None:
                active[rows, slot] = value
        return replace(self, weak_active=active) if weak else replace(self, thr_active=active)


def _levels(values: F64, refs: npt.NDArray[np.str_], noise: F64, rms: F64) -> F64:
    base = np.where(refs == "sd", noise[:, None], np.where(refs == "rms", rms[:, None], 1.0))
    return values * base


def detect_events(
    x: F64,
    neg: float,
    pos: float,
    pre: int,
    post: int,
    shadow: int,
    weak_neg: float = -np.inf,
    weak_pos: float = np.inf,
) -> npt.NDArray[np.intp]:
    """Sample positions of the accepted threshold crossings of one channel.

    ``neg`` / ``pos`` of -inf / +inf disarm a slot; so do ``weak_neg`` / ``weak_pos``.

    Examples
    --------
    >>> x = np.zeros(100); x[[20, 60]] = -10.0
    >>> detect_events(x, -5.0, np.inf, pre=2, post=2, shadow=5).tolist()
    [20, 60]
    """
    cands: list[npt.NDArray[np.intp]] = []
    if np.isfinite(neg):
        cands.append(np.flatnonzero((x[1:] <= neg) & (x[:-1] > neg)) + 1)
    if np.isfinite(pos):
        cands.append(np.flatnonzero((x[1:] >= pos) & (x[:-1] < pos)) + 1)
    if not cands:
        return np.empty(0, np.intp)
    idx = np.unique(np.concatenate(cands))
    n = x.size
    idx = idx[(idx >= pre) & (idx + post < n)]
    check_weak = np.isfinite(weak_neg) or np.isfinite(weak_pos)
    accepted: list[int] = []
    last = -(1 << 62)
    for i in idx.tolist():
        if i - last < shadow:
            continue
        if check_weak:
            w = x[i - pre : i + post + 1]
            if w.min() <= weak_neg or w.max() >= weak_pos:
                continue
        accepted.append(i)
        last = i
    return np.asarray(accepted, np.intp)


def _stats_into(out: F64, col: Mapping[str, int], x: F64) -> None:
    """MIN/MAX/ABS/PP/VAR/SD/RMS of ``x`` into ``out`` at the named metric columns."""
    if x.size == 0:
        for c in col.values():
            out[c] = np.nan
        return
    mn, mx = float(x.min()), float(x.max())
    mean = float(x.mean())
    var = float(np.mean((x - mean) ** 2))
    out[col["min"]] = mn
    out[col["max"]] = mx
    out[col["abs"]] = max(abs(mn), abs(mx))
    out[col["pp"]] = mx - mn
    out[col["var"]] = var
    out[col["sd"]] = np.sqrt(var)
    out[col["rms"]] = np.sqrt(float(np.mean(x * x)))


_BASE_COLS = {
    "min": M.MIN,
    "max": M.MAX,
    "abs": M.MAX_ABS,
    "pp": M.MAX_MIN_DIFF_ABS,
    "var": M.VAR,
    "sd": M.SD,
    "rms": M.RMS,
}
_ISI_COLS = {
    "min": M.MIN_ISI,
    "max": M.MAX_ISI,
    "abs": M.MAX_ABS_ISI,
    "pp": M.MAX_MIN_DIFF_ABS_ISI,
    "var": M.VAR_ISI,
    "sd": M.SD_ISI,
    "rms": M.RMS_ISI,
}
_EVENT_NEG_INF = (
    M.EVENT_MAX,
    M.EVENT_MAX_ABS,
    M.EVENT_MAX_MIN_DIFF_ABS,
    M.EVENT_TIMESTAMP_MIN,
    M.EVENT_TIMESTAMP_MAX,
    M.EVENT_TIMESTAMP_MAX_ABS,
    M.EVENT_TIMESTAMP_MAX_MIN_DIFF_ABS,
    M.MEAN_MAX,
    M.MEAN_MIN,
    M.MEAN_MAX_ABS,
    M.EVENT_MEAN_MAX_MIN_DIFF_ABS,
)


def packet_metrics(
    x: npt.NDArray[np.floating], first_sample: int, fs: float, params: MetricsParams
) -> F64:
    """Every :class:`MetricName` of one packet.

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
        Amplifier signals in µV.
    first_sample : int
        Sample index of column 0 (timestamps are sample indices).
    fs : float
        Sample rate in Hz.
    params : MetricsParams
        Thresholds, window and shadow.

    Returns
    -------
    ndarray, shape (n_channels, len(MetricName)), float64
        Column ``m`` holds metric ``MetricName(m)``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(0, 10, (2, 1000))
    >>> v = packet_metrics(x, 0, 1000.0, MetricsParams.standard(2))
    >>> v.shape, v[0, MetricName.NUM_PTS], v[0, MetricName.DUR_SEC]
    ((2, 37), 1000.0, 1.0)
    """
    return packet_metrics_and_isi_mean(x, first_sample, fs, params)[0]


def packet_metrics_and_isi_mean(
    x: npt.NDArray[np.floating], first_sample: int, fs: float, params: MetricsParams
) -> tuple[F64, F64]:
    """:func:`packet_metrics` and the mean of each channel's ISI samples (for STREAM mode).

    Examples
    --------
    >>> x = np.zeros((1, 100))
    >>> packet_metrics_and_isi_mean(x, 0, 100.0, MetricsParams.standard(1))[1].tolist()
    [0.0]
    """
    x64 = np.asarray(x, np.float64)
    n_ch, n = x64.shape
    if n_ch != params.n_channels:
        raise InvalidArgument(f"{n_ch} channels given for parameters of {params.n_channels}")
    out = np.empty((n_ch, N_METRICS), np.float64)
    isi_mean = np.full(n_ch, np.nan)
    if n == 0:
        out.fill(np.nan)
        out[:, M.NUM_PTS] = 0
        out[:, M.NUM_PTS_ISI] = 0
        out[:, M.DUR_SEC] = 0
        out[:, M.NUM_EVENTS] = 0
        return out, isi_mean
    pre = max(0, round(params.pre_s * fs))
    post = max(0, round(params.post_s * fs))
    shadow = max(1, round(params.shadow_s * fs))
    med = np.median(x64, axis=1)
    noise = np.median(np.abs(x64 - med[:, None]), axis=1) * MAD_TO_SD
    rms = np.sqrt(np.mean(x64 * x64, axis=1))
    levels = _levels(params.thr, params.thr_ref, noise, rms)
    weak = _levels(params.weak_thr, params.weak_ref, noise, rms)
    offsets = np.arange(-pre, post + 1)
    dur = n / fs
    for c in range(n_ch):
        row = out[c]
        xc = x64[c]
        row[M.NUM_PTS] = n
        row[M.DUR_SEC] = dur
        row[M.MEAN] = xc.mean()
        _stats_into(row, _BASE_COLS, xc)
        row[M.TIMESTAMP_MIN] = first_sample + int(np.argmin(xc))
        row[M.TIMESTAMP_MAX] = first_sample + int(np.argmax(xc))
        row[M.NOISE_UV] = noise[c]
        sd = row[M.SD]
        pp = row[M.MAX_MIN_DIFF_ABS]
        row[M.MAX_MIN_DIFF_ABS_AMPLIFIED] = pp * pp if pp > 2.0 * sd else 0.0
        neg = levels[c, NEG] if params.thr_active[c, NEG] else -np.inf
        pos = levels[c, POS] if params.thr_active[c, POS] else np.inf
        wneg = weak[c, NEG] if params.weak_active[c, NEG] else -np.inf
        wpos = weak[c, POS] if params.weak_active[c, POS] else np.inf
        ev = detect_events(xc, neg, pos, pre, post, shadow, wneg, wpos)
        row[M.NUM_EVENTS] = ev.size
        row[M.EVENT_RATE] = ev.size / dur
        if ev.size:
            win_idx = ev[:, None] + offsets
            w = xc[win_idx]
            wmax, wmin = w.max(axis=1), w.min(axis=1)
            wabs = np.maximum(np.abs(wmax), np.abs(wmin))
            wpp = wmax - wmin
            k_max = int(np.argmax(wmax))
            k_min = int(np.argmin(wmin))
            k_abs = int(np.argmax(wabs))
            k_pp = int(np.argmax(wpp))
            row[M.EVENT_MAX] = wmax[k_max]
            row[M.EVENT_TIMESTAMP_MAX] = first_sample + win_idx[k_max, np.argmax(w[k_max])]
            row[M.EVENT_MIN] = wmin[k_min]
            row[M.EVENT_TIMESTAMP_MIN] = first_sample + win_idx[k_min, np.argmin(w[k_min])]
            row[M.EVENT_MAX_ABS] = wabs[k_abs]
            row[M.EVENT_TIMESTAMP_MAX_ABS] = (
                first_sample + win_idx[k_abs, np.argmax(np.abs(w[k_abs]))]
            )
            row[M.EVENT_MAX_MIN_DIFF_ABS] = wpp[k_pp]
            row[M.EVENT_TIMESTAMP_MAX_MIN_DIFF_ABS] = first_sample + ev[k_pp]
            row[M.MEAN_MAX] = wmax.mean()
            row[M.MEAN_MIN] = wmin.mean()
            row[M.MEAN_MAX_ABS] = wabs.mean()
            row[M.EVENT_MEAN_MAX_MIN_DIFF_ABS] = wpp.mean()
            row[M.SNR] = row[M.MEAN_MAX_ABS] / noise[c] if noise[c] > 0 else np.nan
            keep = np.ones(n, bool)
            keep[win_idx.reshape(-1)] = False
            isi = xc[keep]
        else:
            for m in _EVENT_NEG_INF:
                row[m] = -np.inf
            row[M.EVENT_MIN] = np.inf
            row[M.SNR] = np.nan
            isi = xc
        row[M.NUM_PTS_ISI] = isi.size
        _stats_into(row, _ISI_COLS, isi)
        if isi.size:
            isi_mean[c] = isi.mean()
    return out, isi_mean


# -- modes -------------------------------------------------------------------------------
_SUMS = (M.NUM_PTS, M.NUM_PTS_ISI, M.DUR_SEC, M.NUM_EVENTS)
_RUN_MIN = ((M.MIN, M.TIMESTAMP_MIN), (M.EVENT_MIN, M.EVENT_TIMESTAMP_MIN), (M.MIN_ISI, None))
_RUN_MAX = (
    (M.MAX, M.TIMESTAMP_MAX),
    (M.EVENT_MAX, M.EVENT_TIMESTAMP_MAX),
    (M.EVENT_MAX_ABS, M.EVENT_TIMESTAMP_MAX_ABS),
    (M.EVENT_MAX_MIN_DIFF_ABS, M.EVENT_TIMESTAMP_MAX_MIN_DIFF_ABS),
    (M.MAX_ISI, None),
    (M.MAX_ABS, None),
    (M.MAX_ABS_ISI, None),
)
_EVENT_MEANS = (M.MEAN_MAX, M.MEAN_MIN, M.MEAN_MAX_ABS, M.EVENT_MEAN_MAX_MIN_DIFF_ABS)


def _running_extreme(out: F64, base: F64, value: int, stamp: int | None, pick: str) -> None:
    """Running min / max over packets (axis 0), skipping NaN, carrying the timestamp along."""
    v = base[:, :, value]
    best = np.full(v.shape[1], np.nan)
    when = np.full(v.shape[1], np.nan)
    for k in range(v.shape[0]):
        cur = v[k]
        beats = cur < best if pick == "min" else cur > best
        better = ~np.isnan(cur) & (np.isnan(best) | beats)
        best = np.where(better, cur, best)
        out[k, :, value] = best
        if stamp is not None:
            when = np.where(better, base[k, :, stamp], when)
            out[k, :, stamp] = when


def combine_modes(base: F64, mode: MetricMode, isi_mean: F64 | None = None) -> F64:
    """AVG or STREAM values of a stream of base packets (BASE returns ``base``).

    Parameters
    ----------
    base : ndarray, shape (packets, channels, len(MetricName))
        :func:`packet_metrics` of consecutive packets.
    mode : MetricMode
        ``BASE``: unchanged. ``AVG``: running average of the base values of packets 0..k.
        ``STREAM``: cumulative over packets 0..k: counts and durations add up; extremes (and
        their timestamps) are running extremes; MEAN, VAR, SD, RMS (and ISI variants) are those
        of all samples of packets 0..k; event means are weighted by event counts; EVENT_RATE is
        events / duration; NOISE_UV is the sample-weighted mean of the packets' noise; SNR and
        MAX_MIN_DIFF_ABS_AMPLIFIED follow from the cumulative values.
    isi_mean : ndarray, shape (packets, channels), optional
        The ISI mean of each base packet (from :func:`packet_metrics_and_isi_mean`); STREAM
        needs it for the cumulative ISI variance.

    Returns
    -------
    ndarray, same shape as ``base``

    Examples
    --------
    >>> x = np.random.default_rng(1).normal(0, 10, (1, 3000))
    >>> p = MetricsParams.standard(1)
    >>> parts = [packet_metrics_and_isi_mean(x[:, i:i + 1000], i, 1000.0, p) for i in (0, 1000)]
    >>> base, isi = np.stack([b for b, _ in parts]), np.stack([m for _, m in parts])
    >>> combine_modes(base, MetricMode.STREAM, isi)[-1, 0, MetricName.NUM_PTS]
    2000.0
    """
    mode = MetricMode.parse(mode)
    if mode == MetricMode.BASE:
        return base.copy()
    k = np.arange(1, base.shape[0] + 1, dtype=np.float64)[:, None, None]
    if mode == MetricMode.AVG:
        return np.cumsum(base, axis=0) / k
    if isi_mean is None:
        raise InvalidArgument("STREAM metrics need the ISI mean of every base packet")
    out = np.empty_like(base)
    for m in _SUMS:
        out[:, :, m] = np.cumsum(base[:, :, m], axis=0)
    for value, stamp in _RUN_MIN:
        _running_extreme(out, base, value, stamp, "min")
    for value, stamp in _RUN_MAX:
        _running_extreme(out, base, value, stamp, "max")
    n = base[:, :, M.NUM_PTS]
    cn = out[:, :, M.NUM_PTS]
    mean = np.cumsum(base[:, :, M.MEAN] * n, axis=0) / cn
    sumsq = np.cumsum(base[:, :, M.RMS] ** 2 * n, axis=0)
    out[:, :, M.MEAN] = mean
    out[:, :, M.RMS] = np.sqrt(sumsq / cn)
    var = np.maximum(sumsq / cn - mean**2, 0.0)
    out[:, :, M.VAR] = var
    out[:, :, M.SD] = np.sqrt(var)
    ni = base[:, :, M.NUM_PTS_ISI]
    cni = out[:, :, M.NUM_PTS_ISI]
    rms_i = np.nan_to_num(base[:, :, M.RMS_ISI])
    mean_i = np.nan_to_num(isi_mean)
    with np.errstate(invalid="ignore", divide="ignore"):
        cmean_i = np.cumsum(mean_i * ni, axis=0) / cni
        csumsq_i = np.cumsum(rms_i**2 * ni, axis=0)
        out[:, :, M.RMS_ISI] = np.where(cni > 0, np.sqrt(csumsq_i / cni), np.nan)
        var_i = np.where(cni > 0, np.maximum(csumsq_i / cni - cmean_i**2, 0.0), np.nan)
    out[:, :, M.VAR_ISI] = var_i
    out[:, :, M.SD_ISI] = np.sqrt(var_i)
    out[:, :, M.MAX_MIN_DIFF_ABS] = out[:, :, M.MAX] - out[:, :, M.MIN]
    out[:, :, M.MAX_MIN_DIFF_ABS_ISI] = out[:, :, M.MAX_ISI] - out[:, :, M.MIN_ISI]
    out[:, :, M.NOISE_UV] = np.cumsum(base[:, :, M.NOISE_UV] * n, axis=0) / cn
    ne = base[:, :, M.NUM_EVENTS]
    cne = out[:, :, M.NUM_EVENTS]
    for m in _EVENT_MEANS:
        total = np.cumsum(np.where(ne > 0, base[:, :, m] * ne, 0.0), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, :, m] = np.where(cne > 0, total / np.maximum(cne, 1), -np.inf)
    out[:, :, M.EVENT_RATE] = cne / out[:, :, M.DUR_SEC]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, :, M.SNR] = np.where(
            cne > 0, out[:, :, M.MEAN_MAX_ABS] / out[:, :, M.NOISE_UV], np.nan
        )
    pp = out[:, :, M.MAX_MIN_DIFF_ABS]
    out[:, :, M.MAX_MIN_DIFF_ABS_AMPLIFIED] = np.where(pp > 2.0 * out[:, :, M.SD], pp * pp, 0.0)
    return out
