"""The hub's live spike engine: detection, online sorting and the spike store behind one object.

Threads: :meth:`SpikeEngine.process` is called from one dedicated thread with the amplifier rows
of every acquired block, in order. Everything else may be called from any other thread (the
hub's event loop): parameter setters and sorter commands take the engine lock, which
:meth:`~SpikeEngine.process` holds for one block (well under a millisecond, a few ms when a
channel's pool is being clustered); readers (:meth:`~SpikeEngine.read`,
:meth:`~SpikeEngine.recent`, :meth:`~SpikeEngine.rasters`) only take the store's short lock.

Signal path: amplifier µV -> causal 300-3000 Hz band-pass (:mod:`.spike_band_filter`) -> robust
noise estimate (:mod:`.noise_estimator`) -> threshold crossings, peak alignment, shadow,
artifact rejection and the spike-width criterion (:mod:`.spike_detector`) -> template sorter
(:mod:`.online_sorter`) -> :class:`~.spike_store.SpikeStore`. Waveforms are band-passed µV.
Parameters, their validation and the server defaults are in :mod:`.spike_params`.

Why 300-3000 Hz, -5 SD and a 1.5 ms shadow: on ``smartbox_sim_gen_spikes`` (6 seeds x 32
channels x 20 s) these gave the best detection of units with SNR >= 5 (recall and precision
>= 0.979 on every unit). A 300-6000 Hz band keeps more noise (recall of SNR-5 units drops to
~0.87 at -5 SD, ~0.95 at -4.5 SD with more false positives); a 2nd-order high-pass or a 1 ms
shadow lets large spikes be detected a second time on their after-lobe.
``benchmarks/spike_detection.py`` measures the result against SpikeInterface (4 seeds x 30 s:
recall >= 0.985, precision >= 0.983, sorting accuracy >= 0.959 per unit) and the cost (1024
channels at 30 kHz: ~0.13 core on noise, ~0.45 core with 8000 spikes/s being sorted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.errors import InvalidArgument
from radiens_async.hub.spikes.online_sorter import MAX_UNITS, OnlineSorter
from radiens_async.hub.spikes.spike_band_filter import DEFAULT_BAND_HZ
from radiens_async.hub.spikes.spike_detector import SpikeDetector
from radiens_async.hub.spikes.spike_params import (
    NEG,
    POS,
    DetectionParams,
    check_flag,
    check_level,
    check_ms,
    check_scale,
    check_spike_width,
    default_params,
    ms_to_pts,
)
from radiens_async.hub.spikes.spike_store import SpikeStore, StoredSpikes
from radiens_async.hub.spikes.waveform_shifts import context

SORT_SHIFT_S: Final = 2.0 / 30000.0
"""Largest re-alignment the sorter tries, in seconds (2 samples at 30 kHz)."""

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
IP = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class SpikeBatch:
    """Spikes in detection order (``sample_index`` non-decreasing).

    Attributes
    ----------
    sample_index : ndarray of int64, shape (N,)
        Stream sample of each spike's peak (its trough for a negative-threshold detection).
    channel : ndarray of int32, shape (N,)
        Amplifier native (ntv) index.
    label : ndarray of int32, shape (N,)
        Unit label on that channel (1..K); 0 = unlabeled.
    waveform : ndarray of float32, shape (N, n_pts)
        Band-passed µV, ``pre_pts`` samples before the peak and ``n_pts - pre_pts`` from it on
        (``rasters`` returns shape (N, 0)).
    seq : int
        Sequence number of the first spike (spikes are numbered 0, 1, 2 ... per stream).
    missed : int
        Spikes asked for that had already left the store (a gap).
    detected_ns : ndarray of int64, shape (N,)
        ``time.monotonic_ns()`` when each spike was published.
    next_seq : int
        The cursor to pass to the next :meth:`SpikeEngine.read` (also right when a channel
        filter removed spikes); for ``recent``/``rasters``, the store's next sequence number.
    """

    sample_index: I64
    channel: I32
    label: I32
    waveform: F32
    seq: int
    missed: int
    detected_ns: I64
    next_seq: int = -1

    def __len__(self) -> int:
        return int(self.sample_index.shape[0])

    @classmethod
    def empty(cls, n_pts: int, seq: int = 0) -> SpikeBatch:
        """A batch with no spikes."""
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros((0, n_pts), np.float32),
            seq,
            0,
            np.zeros(0, np.int64),
            seq,
        )


def _batch(s: StoredSpikes) -> SpikeBatch:
    first = int(s.seq[0]) if s.seq.size else s.next_seq
    return SpikeBatch(
        sample_index=s.sample_index,
        channel=s.channel,
        label=s.label,
        waveform=s.waveform,
        seq=first,
        missed=s.missed,
        detected_ns=s.detected_ns,
        next_seq=s.next_seq,
    )


class SpikeEngine:
    """Live spike detection and sorting for one stream of amplifier channels.

    Parameters
    ----------
    fs : float
        Sampling frequency (Hz).
    n_amp : int
        Amplifier channels (rows of every block).
    site_xy_um : ndarray, shape (n_amp, 2), optional
        Probe position of each channel (µm), reported with the units; NaN where unknown.
    store_spikes : int
        Spikes the store keeps (fewer if their waveforms would exceed 256 MB).
    ntv_idxs : sequence of int, optional
        Native index of each row (default ``0 .. n_amp - 1``).
    band_hz : (float, float)
        Spike band of the detection filter.
    sorting : bool
        Whether the sorter labels spikes from the start (``initialize`` turns it off).

    Examples
    --------
    >>> engine = SpikeEngine(30000.0, n_amp=4, site_xy_um=None)
    >>> rng = np.random.default_rng(0)
    >>> for k in range(0, 30000, 30):                     # 1 s of noise, 1 ms blocks
    ...     engine.process(rng.normal(0, 6, (4, 30)).astype(np.float32), k)
    >>> batch = engine.read(0, 1000)
    >>> batch.waveform.shape[1] == engine.n_pts, batch.missed
    (True, 0)
    """

    def __init__(
        self,
        fs: float,
        n_amp: int,
        site_xy_um: NDArray[Any] | None,
        *,
        store_spikes: int = 1_000_000,
        ntv_idxs: Sequence[int] | None = None,
        band_hz: tuple[float, float] = DEFAULT_BAND_HZ,
        sorting: bool = True,
    ) -> None:
        if not np.isfinite(fs) or fs <= 0:
            raise ValueError(f"fs must be > 0 Hz, got {fs!r}")
        if n_amp < 0:
            raise ValueError(f"n_amp must be >= 0, got {n_amp!r}")
        self._fs = float(fs)
        self._n = int(n_amp)
        ntv = np.arange(n_amp) if ntv_idxs is None else np.asarray(list(ntv_idxs))
        if ntv.shape != (n_amp,) or np.unique(ntv).size != n_amp:
            raise ValueError("ntv_idxs must name each of the n_amp rows once")
        self._ntv: I32 = ntv.astype(np.int32)
        self._row_of = {int(v): r for r, v in enumerate(self._ntv)}
        if site_xy_um is None:
            xy = np.full((n_amp, 2), np.nan)
        else:
            xy = np.asarray(site_xy_um, dtype=np.float64)
            if xy.shape != (n_amp, 2):
                raise ValueError(f"site_xy_um must have shape ({n_amp}, 2), got {xy.shape}")
        self._xy = xy
        self._band = band_hz
        self._store_spikes = int(store_spikes)

        self._lock = threading.RLock()
        self._params = default_params(self._n, self._fs)
        self._shift = max(1, round(SORT_SHIFT_S * self._fs))
        self._detector = SpikeDetector(
            self._fs, self._n, extra_pts=context(self._shift), band_hz=band_hz
        )
        self._store = SpikeStore(self._store_spikes, self._params.n_pts)
        self._sorter = self._new_sorter()
        self._sorting = bool(sorting)
        self._epoch = 0
        self._unit_counts: I64 = np.zeros((self._n, MAX_UNITS + 1), dtype=np.int64)
        self._count_from_seq = 0
        self._first_sample = -1
        self._last_sample = -1

    def _new_sorter(self) -> OnlineSorter:
        p = self._params
        return OnlineSorter(self._n, p.n_pts, self._shift, self._fs)

    # --- properties ---------------------------------------------------------------------------

    @property
    def fs(self) -> float:
        """Sampling frequency (Hz)."""
        return self._fs

    @property
    def ntv_idxs(self) -> I32:
        """Native index of each amplifier row (a copy)."""
        return self._ntv.copy()

    @property
    def next_seq(self) -> int:
        """Sequence number the next spike will get."""
        return self._store.next_seq

    def seq_at_sample(self, sample: int) -> int:
        """Sequence number of the first spike still held that peaks at or after ``sample``
        (:attr:`next_seq` when there is none): where a reader of spikes from ``sample`` on
        starts.

        Examples
        --------
        >>> SpikeEngine(30000.0, 2, None).seq_at_sample(0)
        0
        """
        return self._store.seq_at(int(sample))

    @property
    def n_pts(self) -> int:
        """Waveform length (samples)."""
        return self._params.n_pts

    @property
    def pre_pts(self) -> int:
        """Waveform samples before the peak."""
        return self._params.pre_pts

    @property
    def epoch(self) -> int:
        """Incremented by :meth:`reset_stream`: sequence numbers restart with every epoch."""
        return self._epoch

    @property
    def sorting(self) -> bool:
        """Whether the sorter labels spikes."""
        return self._sorting

    @property
    def params(self) -> DetectionParams:
        """The current detection parameters (an immutable snapshot, e.g. for a workspace)."""
        with self._lock:
            return self._params

    @property
    def processed_until(self) -> int:
        """One past the last stream sample processed (-1 before the first block)."""
        return self._last_sample

    # --- the detection thread -----------------------------------------------------------------

    def process(self, block: F32, first_sample: int) -> None:
        """Detect, sort and store the spikes of one block of amplifier samples.

        The same as :meth:`detect` followed by :meth:`maintain`.

        Parameters
        ----------
        block : ndarray of float32, shape (n_amp, n)
            Amplifier rows in µV.
        first_sample : int
            Stream sample of ``block[:, 0]``; blocks must follow each other (a jump starts a
            new segment: the filter restarts and spikes pending at the jump are lost).

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=2, site_xy_um=None)
        >>> engine.process(np.zeros((2, 30), np.float32), 0)
        >>> engine.next_seq
        0
        """
        self.detect(block, first_sample)
        self.maintain(int(block.shape[1]))

    def detect(self, block: F32, first_sample: int) -> int:
        """Detect, label and store the spikes of one block; return how many were stored.

        Only the per-spike work: readers can be woken as soon as it returns, before the
        sorter's upkeep (:meth:`maintain`) for the same block.

        Parameters
        ----------
        block : ndarray of float32, shape (n_amp, n)
            Amplifier rows in µV.
        first_sample : int
            Stream sample of ``block[:, 0]`` (see :meth:`process`).

        Returns
        -------
        int
            Spikes appended to the store.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=2, site_xy_um=None)
        >>> engine.detect(np.zeros((2, 30), np.float32), 0)
        0
        """
        if block.ndim != 2 or block.shape[0] != self._n:
            raise ValueError(f"block must have shape ({self._n}, n), got {block.shape}")
        n = int(block.shape[1])
        with self._lock:
            if self._first_sample < 0:
                self._first_sample = int(first_sample)
            self._last_sample = int(first_sample) + n
            params = self._params
            found = self._detector.process(block, int(first_sample), params)
            if not len(found):
                return 0
            sigma = self._detector.noise.sd_uv
            seq0 = self._store.next_seq
            seqs = np.arange(seq0, seq0 + len(found), dtype=np.int64)
            if self._sorting:
                labels = self._sorter.assign(found.row, found.waveform_ext, seqs, sigma)
            else:
                labels = np.zeros(len(found), dtype=np.int32)
            self._store.append(
                found.sample_index,
                self._ntv[found.row],
                labels,
                found.waveforms(params.n_pts),
                time.monotonic_ns(),
            )
            np.add.at(self._unit_counts, (found.row, labels), 1)
            return len(found)

    def maintain(self, n_samples: int) -> None:
        """The sorter's upkeep after a block of ``n_samples``: discover units in the pools of
        unlabeled spikes and correct the stored labels of the spikes that joined them.

        Raises
        ------
        ValueError
            If ``n_samples`` is negative (the sorter's clock only moves forward).

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=2, site_xy_um=None)
        >>> engine.maintain(30)
        """
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        with self._lock:
            if not self._sorting:
                return
            fix = self._sorter.maintain(self._detector.noise.sd_uv, int(n_samples))
            if fix.seq.size:
                self._store.relabel(fix.seq, fix.label)
                counted = fix.seq >= self._count_from_seq
                rows = fix.row[counted]
                np.add.at(self._unit_counts, (rows, np.zeros_like(rows)), -1)
                np.add.at(self._unit_counts, (rows, fix.label[counted]), 1)

    def reset_stream(self) -> None:
        """A new stream starts (at any sample): spikes are dropped and numbered from 0 again.

        Parameters, templates, the noise estimate and the sorting state are kept (the device
        is the same); :attr:`epoch` increments so readers can tell the numbering restarted.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=2, site_xy_um=None)
        >>> engine.reset_stream()
        >>> engine.epoch, engine.next_seq
        (1, 0)
        """
        with self._lock:
            self._detector.reset()
            self._store.restart()
            self._sorter.clear_pools()
            self._reset_counts()
            self._first_sample = -1
            self._last_sample = -1
            self._epoch += 1

    # --- parameters ---------------------------------------------------------------------------

    def set_threshold_level(
        self,
        neg: float | None,
        pos: float | None,
        scale: str,
        ntv_idxs: Sequence[int] | None,
        weak: bool,
    ) -> None:
        """Set detection (or, with ``weak``, artifact-rejection) levels; arming is unchanged.

        Parameters
        ----------
        neg : float or None
            Negative level; ``-85`` and ``85`` both mean "below -85" (sign convention in
            :mod:`.spike_params`). None keeps the current level.
        pos : float or None
            Positive level, > 0. None keeps the current level.
        scale : {'uV', 'sd'}
            Unit of the levels: µV, or multiples of each channel's noise SD (kept as SDs and
            converted with the current noise estimate while detecting).
        ntv_idxs : sequence of int or None
            Channels (native indices); None = all amplifier channels.
        weak : bool
            Set the weak (artifact-rejection) levels instead of the detection levels.

        Raises
        ------
        InvalidArgument
            For a bad scale, level, flag or channel; nothing is changed then.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=4, site_xy_um=None)
        >>> engine.set_threshold_level(85.0, None, "uV", [0, 1], weak=False)
        >>> engine.params_rows()[0]["thr"][0]
        -85.0
        """
        is_sd = check_scale(scale)
        check_flag("weak", weak)
        slots = [
            (slot, check_level(slot, v, scale, weak))
            for slot, v in ((NEG, neg), (POS, pos))
            if v is not None
        ]
        rows = self._rows(ntv_idxs)
        if not slots:
            return
        with self._lock:
            p = self._params
            if weak:
                self._params = replace(p, weak=p.weak.with_levels(rows, slots, is_sd))
            else:
                self._params = replace(p, thr=p.thr.with_levels(rows, slots, is_sd))

    def set_threshold_active(
        self,
        neg: bool | None,
        pos: bool | None,
        ntv_idxs: Sequence[int] | None,
        weak: bool,
    ) -> None:
        """Arm (True) or disarm (False) the negative and/or positive slot; None = unchanged.

        Raises
        ------
        InvalidArgument
            For a non-bool state or flag, or an unknown channel; nothing is changed then.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=4, site_xy_um=None)
        >>> engine.set_threshold_active(None, True, None, weak=False)
        >>> engine.params_rows()[3]["thr_activated"]
        [True, True]
        """
        check_flag("weak", weak)
        slots: list[tuple[int, bool]] = []
        for slot, name, v in ((NEG, "neg_thr", neg), (POS, "pos_thr", pos)):
            if v is not None:
                check_flag(name, v)
                slots.append((slot, bool(v)))
        rows = self._rows(ntv_idxs)
        if not slots:
            return
        with self._lock:
            p = self._params
            if weak:
                self._params = replace(p, weak=p.weak.with_active(rows, slots))
            else:
                self._params = replace(p, thr=p.thr.with_active(rows, slots))

    def set_window(self, pre_ms: float | None, post_ms: float | None) -> None:
        """Set the waveform window (ms before / after the peak, each in (0, 10]).

        A new length makes the stored spikes and the templates unusable: both are dropped
        (numbering continues; readers behind see the dropped spikes as missed).

        Raises
        ------
        InvalidArgument
            For a value out of range; nothing is changed then.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=1, site_xy_um=None)
        >>> engine.set_window(1.0, 2.0)
        >>> engine.pre_pts, engine.n_pts
        (30, 90)
        """
        pre = None if pre_ms is None else ms_to_pts(check_ms("pre_thr_ms", pre_ms), self._fs)
        post = None if post_ms is None else ms_to_pts(check_ms("post_thr_ms", post_ms), self._fs)
        with self._lock:
            p = self._params
            new = replace(
                p,
                pre_pts=p.pre_pts if pre is None else pre,
                post_pts=p.post_pts if post is None else post,
            )
            if new == p:
                return
            self._params = new
            if new.n_pts != p.n_pts or new.pre_pts != p.pre_pts:
                self._store.resize(new.n_pts)
                self._sorter = self._new_sorter()
                self._reset_counts()

    def set_shadow(self, shadow_ms: float) -> None:
        """Set the dead time after a detection on a channel (ms, in (0, 10]).

        Raises
        ------
        InvalidArgument
            For a value out of range; nothing is changed then.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=1, site_xy_um=None)
        >>> engine.set_shadow(1.5)
        >>> engine.params_rows()[0]["shadow_pts"]
        45
        """
        pts = ms_to_pts(check_ms("shadow_ms", shadow_ms), self._fs)
        with self._lock:
            self._params = replace(self._params, shadow_pts=pts)

    def set_spike_width(self, width_s: Sequence[float], ntv_idxs: Sequence[int] | None) -> None:
        """Set the ``[min, max]`` seconds a spike may span at half its peak, per channel.

        A detected spike whose half-peak width (see :mod:`.spike_detector`) lies outside its
        channel's range is dropped: not stored, sorted or counted. ``[0, inf]`` (the default)
        accepts every spike.

        Raises
        ------
        InvalidArgument
            Unless ``0 <= min <= max`` with ``min`` finite and ``max`` finite or ``+inf``, or
            for an unknown channel; nothing is changed then.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, n_amp=2, site_xy_um=None)
        >>> engine.set_spike_width([0.0001, 0.0008], [1])
        >>> engine.params.spike_width_s.tolist()
        [[0.0, inf], [0.0001, 0.0008]]
        """
        lo, hi = check_spike_width(width_s)
        rows = self._rows(ntv_idxs)
        with self._lock:
            self._params = self._params.with_spike_width(rows, lo, hi)

    def params_rows(self) -> list[dict[str, Any]]:
        """The ``get_params`` table: one dict per channel, in row order.

        Keys: ``ntv_idx``, ``chan_enabled``, ``thr_activated`` ([neg, pos]), ``thr`` ([neg, pos]
        µV), ``thr_sd`` ([neg, pos] SD), ``thr_wdw`` ([pre, post, total] ms, 5 decimals; total
        includes the 0.3 ms peak-search margin), ``shadow`` (ms), ``weak_thr`` ([neg, pos] µV),
        ``thr_wdw_pts``, ``shadow_pts``, ``weak_thr_activated``, ``weak_thr_sd`` (the spike
        width, which the documented table has no column for, is in :attr:`params`). A level set
        in one scale is shown in the other with the current noise estimate (NaN before the
        first 100 ms of a stream).

        Examples
        --------
        >>> row = SpikeEngine(30000.0, n_amp=1, site_xy_um=None).params_rows()[0]
        >>> row["thr_sd"], row["thr_wdw"], row["thr_wdw_pts"]
        ([-5.0, 5.0], [0.5, 1.0, 1.8], [15, 30, 54])
        """
        with self._lock:
            p = self._params
        return p.rows(self._detector.noise.sd_uv, self._ntv.tolist())

    def noise_sd_uv(self) -> F64:
        """Robust noise SD of each channel's spike band (µV, MAD / 0.6745); NaN until known.

        Examples
        --------
        >>> bool(np.isnan(SpikeEngine(30000.0, 2, None).noise_sd_uv()).all())
        True
        """
        return self._detector.noise.sd_uv

    # --- sorter commands ----------------------------------------------------------------------

    def initialize(self) -> None:
        """Stop sorting, drop spikes and templates, restore the default parameters.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, 1, None)
        >>> engine.set_shadow(3.0); engine.initialize()
        >>> engine.sorting, engine.params_rows()[0]["shadow"]
        (False, 1.5)
        """
        with self._lock:
            old = self._params
            self._params = default_params(self._n, self._fs)
            self._sorting = False
            if old.n_pts != self._params.n_pts or old.pre_pts != self._params.pre_pts:
                self._store.resize(self._params.n_pts)
                self._sorter = self._new_sorter()
            else:
                self._store.clear()
                self._sorter.clear_templates()
            self._reset_counts()

    def rebase(self) -> None:
        """Drop all spikes and templates (sorting, if on, learns again from scratch).

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, 1, None); engine.rebase(); engine.units()
        []
        """
        with self._lock:
            self._store.clear()
            self._sorter.clear_templates()
            self._reset_counts()

    def clear_spikes(self) -> None:
        """Drop the stored spikes; keep parameters and templates.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, 1, None); engine.clear_spikes(); len(engine.read(0, 10))
        0
        """
        with self._lock:
            self._store.clear()
            self._sorter.clear_pools()
            self._reset_counts()

    def set_sorting(self, on: bool) -> None:
        """Turn labeling on or off (detection continues either way; templates are kept).

        Raises
        ------
        InvalidArgument
            If ``on`` is not a bool.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, 1, None); engine.set_sorting(False); engine.sorting
        False
        """
        check_flag("on", on)
        with self._lock:
            self._sorting = bool(on)

    def units(self) -> list[dict[str, Any]]:
        """One dict per sorted unit: ``ntv_idx``, ``label``, ``spike_count``,
        ``mean_abs_peak_waveform`` (µV, largest |value| of the template), ``snr`` (that over
        the channel's noise SD) and ``pos`` ((x, y) µm of the channel's site).

        Examples
        --------
        >>> SpikeEngine(30000.0, 1, None).units()
        []
        """
        with self._lock:
            sigma = self._detector.noise.sd_uv
            out: list[dict[str, Any]] = []
            for row in np.flatnonzero(self._sorter.n_units).tolist():
                for label in range(1, int(self._sorter.n_units[row]) + 1):
                    t = self._sorter.template(row, label)
                    peak = float(np.max(np.abs(t)))
                    out.append(
                        {
                            "ntv_idx": int(self._ntv[row]),
                            "label": label,
                            "spike_count": int(self._unit_counts[row, label]),
                            "mean_abs_peak_waveform": peak,
                            "snr": peak / float(sigma[row]) if sigma[row] > 0 else float("nan"),
                            "pos": (float(self._xy[row, 0]), float(self._xy[row, 1])),
                        }
                    )
            return out

    def counts(self) -> dict[str, Any]:
        """Dashboard figures since the last clear.

        Returns
        -------
        dict
            ``ntv_idx`` (int32[n]), ``spike_count``, ``spike_count_labeled``,
            ``spike_count_unlabeled`` (int64[n]), ``num_units`` (int64[n]), ``noise_sd_uv``
            (float64[n]), and the totals ``spikes_processed``, ``spikes_labeled``,
            ``num_units_total``, ``sample_range`` ((first, stop) stream samples processed,
            (-1, -1) before any), ``next_seq``, ``epoch``, ``sorting``.

        Examples
        --------
        >>> SpikeEngine(30000.0, 2, None).counts()["spike_count"].tolist()
        [0, 0]
        """
        with self._lock:
            per = self._unit_counts.copy()
            n_units = self._sorter.n_units.astype(np.int64)
            total = per.sum(axis=1)
            labeled = total - per[:, 0]
            return {
                "ntv_idx": self._ntv.copy(),
                "spike_count": total,
                "spike_count_labeled": labeled,
                "spike_count_unlabeled": per[:, 0].copy(),
                "num_units": n_units,
                "noise_sd_uv": self._detector.noise.sd_uv,
                "spikes_processed": int(total.sum()),
                "spikes_labeled": int(labeled.sum()),
                "num_units_total": int(n_units.sum()),
                "sample_range": (self._first_sample, self._last_sample),
                "next_seq": self._store.next_seq,
                "epoch": self._epoch,
                "sorting": self._sorting,
            }

    # --- readers ------------------------------------------------------------------------------

    def read(
        self, cursor_seq: int, max_spikes: int, channels: NDArray[Any] | None = None
    ) -> SpikeBatch:
        """Spikes numbered ``cursor_seq`` and up, at most ``max_spikes`` of them.

        If the store no longer holds ``cursor_seq``, reading starts at the oldest spike held
        and ``missed`` says how many were skipped. ``channels`` (native indices) filters the
        spikes *after* the ``max_spikes`` were counted; continue from ``batch.next_seq``. A
        cursor beyond :attr:`next_seq` (kept from before :meth:`reset_stream`) starts over at
        the oldest spike held.

        Raises
        ------
        InvalidArgument
            For an unknown channel or a negative ``max_spikes``.

        Examples
        --------
        >>> engine = SpikeEngine(30000.0, 2, None)
        >>> b = engine.read(0, 100, channels=np.array([1]))
        >>> len(b), b.missed, b.next_seq
        (0, 0, 0)
        """
        if max_spikes < 0:
            raise InvalidArgument(f"max_spikes must be >= 0, got {max_spikes}")
        chans = self._channel_filter(channels)
        return _batch(self._store.read(int(cursor_seq), int(max_spikes), chans))

    def recent(
        self, since_sample: int, channels: NDArray[Any] | None = None, max_per_channel: int = 100
    ) -> SpikeBatch:
        """The latest ``max_per_channel`` spikes of each channel with a peak at or after
        ``since_sample`` (still held), in detection order.

        Examples
        --------
        >>> len(SpikeEngine(30000.0, 2, None).recent(0))
        0
        """
        chans = self._channel_filter(channels)
        return _batch(self._store.recent(int(since_sample), chans, int(max_per_channel)))

    def rasters(self, start_sample: int, stop_sample: int) -> SpikeBatch:
        """All held spikes with ``start_sample <= sample_index < stop_sample``, without
        waveforms (``waveform`` has shape (N, 0)), labels as currently known.

        Examples
        --------
        >>> SpikeEngine(30000.0, 2, None).rasters(0, 30000).waveform.shape
        (0, 0)
        """
        return _batch(self._store.between(int(start_sample), int(stop_sample), waveforms=False))

    # --- helpers ------------------------------------------------------------------------------

    def _reset_counts(self) -> None:
        self._unit_counts[:] = 0
        self._count_from_seq = self._store.next_seq

    def _rows(self, ntv_idxs: Sequence[int] | None) -> IP:
        if ntv_idxs is None:
            return np.arange(self._n, dtype=np.intp)
        if isinstance(ntv_idxs, str | bytes) or not isinstance(ntv_idxs, Sequence | np.ndarray):
            raise InvalidArgument(f"ntv_idxs must be a list of channel indices, got {ntv_idxs!r}")
        items = list(ntv_idxs)
        if not items:
            raise InvalidArgument("ntv_idxs is empty: name at least one channel (or None = all)")
        bad = [v for v in items if isinstance(v, bool) or not isinstance(v, int | np.integer)]
        if bad:
            raise InvalidArgument(f"ntv_idxs must be integers, got {bad[:5]!r}")
        unknown = sorted({int(v) for v in items} - self._row_of.keys())
        if unknown:
            more = " ..." if len(unknown) > 10 else ""
            known = f"{int(self._ntv.min())}..{int(self._ntv.max())}" if self._n else "none"
            raise InvalidArgument(
                f"unknown amplifier channel(s) {unknown[:10]}{more}: this stream has ntv "
                f"indices {known}"
            )
        return np.array([self._row_of[int(v)] for v in items], dtype=np.intp)

    def _channel_filter(self, channels: NDArray[Any] | Sequence[int] | None) -> IP | None:
        if channels is None:
            return None
        wanted = np.asarray(channels).ravel().tolist()
        if not wanted:
            return np.zeros(0, dtype=np.intp)
        rows = self._rows(wanted)
        return self._ntv[rows].astype(np.intp)
