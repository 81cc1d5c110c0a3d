"""Detection parameters of the live spike engine: defaults, validation and the ``get_params`` rows.

The parameters are one immutable snapshot (:class:`DetectionParams`). A setter validates its
input completely, then builds a new snapshot; the detection thread picks the snapshot up at the
start of its next block, so it never sees a half-applied change and a refused change alters
nothing.

Sign convention
---------------
Levels are stored signed: a negative threshold is a negative number (µV or noise SDs) and a
positive one is positive. Because the documented example sets the negative threshold with a
magnitude (``set_threshold_level(neg_thr=85)`` -> ``neg thr=85.00 uV``), a negative-slot value
may be given either way: ``85`` and ``-85`` both mean "a crossing below -85 µV". A positive-slot
value must be > 0; zero and non-finite values are refused in both slots.

Server defaults (what :meth:`radiens_async.hub.spikes.SpikeEngine.initialize` restores)
-------------------------------------------------------------------------------------------
* negative threshold -5 noise SD, **armed**, so a fresh ``smartbox_sim_gen_spikes`` stream
  yields spikes with no configuration;
* positive threshold +5 noise SD, disarmed;
* weak (artifact-rejection) thresholds -1000 / +1000 µV, disarmed;
* window 0.5 ms before and 1.0 ms after the peak;
* shadow (dead time) 1.5 ms: a spike's slow positive repolarisation, high-passed, leaves a
  small negative after-lobe ~1 ms after the trough, which a 1 ms shadow lets large spikes
  cross a second time;
* peak-search margin 0.3 ms (fixed; added to the reported ``thr_wdw`` total);
* spike width ``[0, inf]`` seconds per channel: no constraint. A narrower ``[min, max]`` drops
  a detected spike whose width at half its peak (see :mod:`.spike_detector`) lies outside it.

The measurements behind these choices are in :mod:`.spike_engine`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.errors import InvalidArgument

NEG: Final = 0
POS: Final = 1
SCALES: Final = ("uV", "sd")

DEFAULT_THR_SD: Final = (-5.0, 5.0)
DEFAULT_THR_ACTIVE: Final = (True, False)
DEFAULT_WEAK_UV: Final = (-1000.0, 1000.0)
DEFAULT_WEAK_ACTIVE: Final = (False, False)
DEFAULT_PRE_MS: Final = 0.5
DEFAULT_POST_MS: Final = 1.0
DEFAULT_SHADOW_MS: Final = 1.5
PEAK_SEARCH_MS: Final = 0.3
MAX_WINDOW_MS: Final = 10.0
"""Upper limit of the pre window, the post window and the shadow (each in ms)."""
DEFAULT_SPIKE_WIDTH_S: Final = (0.0, math.inf)
"""``[min, max]`` seconds at half peak: every width is accepted."""

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]


def ms_to_pts(ms: float, fs: float) -> int:
    """Samples in ``ms`` milliseconds at ``fs`` (rounded, at least 1)."""
    return max(1, round(ms * fs / 1000.0))


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    """One family of per-channel ``[neg, pos]`` levels (the detection or the weak thresholds).

    Attributes
    ----------
    level : ndarray of float64, shape (n_channels, 2)
        The level as set, signed, in µV where ``is_sd`` is False and in noise SDs where True.
    is_sd : ndarray of bool, shape (n_channels, 2)
        Whether the slot was set in noise SDs.
    active : ndarray of bool, shape (n_channels, 2)
        Whether the slot is armed.
    """

    level: F64
    is_sd: B
    active: B

    def uv(self, noise_sd_uv: F64) -> F64:
        """Levels in µV, converting SD-scaled slots with ``noise_sd_uv`` (NaN while unknown)."""
        return np.where(self.is_sd, self.level * noise_sd_uv[:, None], self.level)

    def sd(self, noise_sd_uv: F64) -> F64:
        """Levels in noise SDs, converting µV slots with ``noise_sd_uv`` (NaN while unknown)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.is_sd, self.level, self.level / noise_sd_uv[:, None])

    def armed_uv(self, noise_sd_uv: F64) -> tuple[F32, F32]:
        """Effective ``(neg, pos)`` levels in µV, ``-inf`` / ``+inf`` where disarmed or unknown.

        A slot set in SD stays inactive until the noise of its channel has been estimated.
        """
        uv = self.uv(noise_sd_uv)
        ok = self.active & np.isfinite(uv)
        neg = np.where(ok[:, NEG], uv[:, NEG], -np.inf).astype(np.float32)
        pos = np.where(ok[:, POS], uv[:, POS], np.inf).astype(np.float32)
        return neg, pos

    def with_levels(
        self, rows: NDArray[np.intp], slots: Sequence[tuple[int, float]], is_sd: bool
    ) -> ThresholdSet:
        level = self.level.copy()
        scale = self.is_sd.copy()
        for slot, value in slots:
            level[rows, slot] = value
            scale[rows, slot] = is_sd
        return replace(self, level=_frozen(level), is_sd=_frozen(scale))

    def with_active(
        self, rows: NDArray[np.intp], slots: Sequence[tuple[int, bool]]
    ) -> ThresholdSet:
        active = self.active.copy()
        for slot, on in slots:
            active[rows, slot] = on
        return replace(self, active=_frozen(active))


@dataclass(frozen=True, slots=True)
class DetectionParams:
    """A complete, immutable set of detection parameters.

    Attributes
    ----------
    fs : float
        Sampling frequency (Hz) the sample counts refer to.
    thr, weak : ThresholdSet
        Detection thresholds and artifact-rejection ("weak") thresholds.
    pre_pts, post_pts : int
        Waveform samples before the peak and from the peak on: a waveform is samples
        ``[peak - pre_pts, peak + post_pts)``, ``n_pts = pre_pts + post_pts`` long.
    shadow_pts : int
        Dead time after an accepted crossing, in samples.
    margin_pts : int
        Samples after a crossing searched for the peak (the crossing sample included).
    spike_width_s : ndarray of float64, shape (n_channels, 2)
        Per channel ``[min, max]`` seconds a spike may span at half its peak; ``[0, inf]`` =
        no constraint (the default, which costs nothing while detecting).
    """

    fs: float
    thr: ThresholdSet
    weak: ThresholdSet
    pre_pts: int
    post_pts: int
    shadow_pts: int
    margin_pts: int
    spike_width_s: F64

    @property
    def width_limited(self) -> B:
        """Per channel: whether its spike-width range excludes any width."""
        w = self.spike_width_s
        return (w[:, 0] > 0.0) | np.isfinite(w[:, 1])

    def with_spike_width(self, rows: NDArray[np.intp], lo_s: float, hi_s: float) -> DetectionParams:
        """A copy with ``[lo_s, hi_s]`` on ``rows`` (values validated by the caller)."""
        w = self.spike_width_s.copy()
        w[rows] = (lo_s, hi_s)
        return replace(self, spike_width_s=_frozen(w))

    @property
    def n_channels(self) -> int:
        return int(self.thr.level.shape[0])

    @property
    def n_pts(self) -> int:
        return self.pre_pts + self.post_pts

    def rows(self, noise_sd_uv: F64, ntv_idxs: Sequence[int]) -> list[dict[str, Any]]:
        """The ``get_params`` table, one dict per channel (see :mod:`.spike_params`)."""
        to_ms = 1000.0 / self.fs
        total = self.pre_pts + self.post_pts + self.margin_pts
        wdw_ms = [round(p * to_ms, 5) for p in (self.pre_pts, self.post_pts, total)]
        wdw_pts = [self.pre_pts, self.post_pts, total]
        shadow_ms = round(self.shadow_pts * to_ms, 5)
        thr_uv, thr_sd = self.thr.uv(noise_sd_uv), self.thr.sd(noise_sd_uv)
        weak_uv, weak_sd = self.weak.uv(noise_sd_uv), self.weak.sd(noise_sd_uv)
        out: list[dict[str, Any]] = []
        for row, ntv in enumerate(ntv_idxs):
            out.append(
                {
                    "ntv_idx": int(ntv),
                    "chan_enabled": True,
                    "thr_activated": [bool(v) for v in self.thr.active[row]],
                    "thr": [float(v) for v in thr_uv[row]],
                    "thr_sd": [float(v) for v in thr_sd[row]],
                    "thr_wdw": list(wdw_ms),
                    "shadow": shadow_ms,
                    "weak_thr": [float(v) for v in weak_uv[row]],
                    "thr_wdw_pts": list(wdw_pts),
                    "shadow_pts": self.shadow_pts,
                    "weak_thr_activated": [bool(v) for v in self.weak.active[row]],
                    "weak_thr_sd": [float(v) for v in weak_sd[row]],
                }
            )
        return out


def default_params(n_channels: int, fs: float) -> DetectionParams:
    """The server defaults listed in the module docstring."""
    n = n_channels
    thr = ThresholdSet(
        level=_frozen(np.tile(np.array(DEFAULT_THR_SD, dtype=np.float64), (n, 1))),
        is_sd=_frozen(np.ones((n, 2), dtype=bool)),
        active=_frozen(np.tile(np.array(DEFAULT_THR_ACTIVE), (n, 1))),
    )
    weak = ThresholdSet(
        level=_frozen(np.tile(np.array(DEFAULT_WEAK_UV, dtype=np.float64), (n, 1))),
        is_sd=_frozen(np.zeros((n, 2), dtype=bool)),
        active=_frozen(np.tile(np.array(DEFAULT_WEAK_ACTIVE), (n, 1))),
    )
    return DetectionParams(
        fs=fs,
        thr=thr,
        weak=weak,
        pre_pts=ms_to_pts(DEFAULT_PRE_MS, fs),
        post_pts=ms_to_pts(DEFAULT_POST_MS, fs),
        shadow_pts=ms_to_pts(DEFAULT_SHADOW_MS, fs),
        margin_pts=ms_to_pts(PEAK_SEARCH_MS, fs),
        spike_width_s=_frozen(np.tile(np.array(DEFAULT_SPIKE_WIDTH_S, dtype=np.float64), (n, 1))),
    )


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


# --- validation (raises InvalidArgument; never changes anything) ---------------------------


def check_scale(scale: object) -> bool:
    """``True`` for ``'sd'``, ``False`` for ``'uV'``; anything else is refused."""
    if scale not in SCALES:
        raise InvalidArgument(f"scale must be 'uV' or 'sd', got {scale!r}")
    return scale == "sd"


def check_flag(name: str, value: object) -> None:
    """Refuse anything but a real bool (``1`` or ``'on'`` are not accepted here)."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidArgument(f"{name} must be True or False, got {value!r}")


def check_level(slot: int, value: object, scale: str, weak: bool) -> float:
    """Validate one threshold level and return it signed (see the sign convention above)."""
    name = ("weak " if weak else "") + ("neg_thr" if slot == NEG else "pos_thr")
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidArgument(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidArgument(f"{name} must be finite, got {v!r}")
    if v == 0.0:
        raise InvalidArgument(f"{name} must not be 0 {scale} (every sample would cross it)")
    if slot == NEG:
        return -abs(v)
    if v < 0.0:
        raise InvalidArgument(
            f"{name} must be > 0 {scale}: the positive threshold is crossed upwards, got {v!r}"
        )
    return v


def check_ms(name: str, value: object) -> float:
    """A window or shadow duration in ms, in ``(0, MAX_WINDOW_MS]``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidArgument(f"{name} must be a number of ms, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and 0.0 < v <= MAX_WINDOW_MS):
        raise InvalidArgument(f"{name} must be > 0 and <= {MAX_WINDOW_MS:g} ms, got {v!r}")
    return v


def check_spike_width(value: object) -> tuple[float, float]:
    """A ``[min, max]`` spike width in seconds: ``0 <= min <= max``, ``min`` finite, ``max``
    finite or ``+inf`` (no upper limit).

    Examples
    --------
    >>> check_spike_width([0.0002, math.inf])
    (0.0002, inf)
    """
    name = "spike_width_sec"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise InvalidArgument(f"{name} must be [min, max] seconds, got {value!r}")
    items = list(value)
    if len(items) != 2:
        raise InvalidArgument(f"{name} must be [min, max] seconds, got {len(items)} values")
    bad = [
        v
        for v in items
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating)
    ]
    if bad:
        raise InvalidArgument(f"{name} must be numbers of seconds, got {items!r}")
    lo, hi = float(items[0]), float(items[1])
    if math.isnan(lo) or math.isnan(hi) or not math.isfinite(lo) or hi == -math.inf:
        raise InvalidArgument(f"{name}: min must be finite and max finite or +inf, got {items!r}")
    if not 0.0 <= lo <= hi:
        raise InvalidArgument(f"{name} needs 0 <= min <= max, got [{lo!r}, {hi!r}]")
    return lo, hi
