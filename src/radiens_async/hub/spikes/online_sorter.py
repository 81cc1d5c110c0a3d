"""Online, per-channel, template-matching spike sorter.

Every channel has up to :data:`MAX_UNITS` templates (labels ``1..K`` in order of discovery).

* **Assignment** (every spike, vectorised over a block): the spike is compared with each
  template of its channel at shifts ``-shift..shift`` in quarter-sample steps
  (:mod:`.waveform_shifts`), which undoes the jitter of the detected peak; the distance is the
  mean squared residual in units of the channel's noise variance, so a spike of that unit scores
  ~1. The nearest template wins if it scores at most :data:`ASSIGN_MAX_RESIDUAL`; the template then
  moves towards the (aligned) spike, a running mean over its last :data:`TEMPLATE_MEMORY`
  spikes, which follows slow drift. Otherwise the spike is unlabeled (label 0) and joins the
  channel's *pool*.
* **Discovery** (at most one channel per :data:`CLUSTER_EVERY_S` of stream time, so that 1024
  learning channels never stall detection): once a pool holds :data:`POOL_MIN` spikes, and
  again after every :data:`POOL_STEP` new ones, it is clustered
  (:func:`~.spike_clustering.find_clusters`). A cluster close to an existing template joins it;
  any other becomes a new unit. Its members leave the pool and are reported back so that the
  labels stored with them can be corrected ("relabel"): a spike published before its unit was
  known is streamed with label 0 but shows its label in later tables and rasters.

Sorting runs in the detection thread between detection and publication: a spike is published
with its label, and the template comparison (tens of µs per block) is all it adds to latency.
The constants below were tuned on ``smartbox_sim_gen_spikes`` (12 seeds x 30 s); see
:mod:`.spike_engine`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.hub.spikes.spike_clustering import find_clusters
from radiens_async.hub.spikes.waveform_shifts import (
    context,
    n_shifts,
    shifted_windows,
    template_distance2,
)

MAX_UNITS: Final = 8
ASSIGN_MAX_RESIDUAL: Final = 3.0
MERGE_DPRIME: Final = 6.0
TEMPLATE_MEMORY: Final = 200
POOL_MAX: Final = 200
POOL_MIN: Final = 24
POOL_STEP: Final = 12
MIN_CLUSTER: Final = 10
CLUSTER_EVERY_S: Final = 0.025

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
IP = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Relabel:
    """Stored spikes whose label became known after they were published."""

    seq: I64
    label: I32
    row: IP


class OnlineSorter:
    """Template sorter over ``n_channels`` channels.

    Parameters
    ----------
    n_channels : int
        Amplifier rows.
    n_pts : int
        Window length (samples).
    shift : int
        Largest re-alignment tried (samples, in sub-sample steps).
    fs : float
        Sampling frequency (Hz), for the clustering pace.

    Notes
    -----
    Spikes are given with :attr:`context` extra samples on each side of the window, so that
    they can be compared with the templates (``n_pts`` long) at sub-sample shifts
    (:mod:`.waveform_shifts`).

    Examples
    --------
    >>> sorter = OnlineSorter(n_channels=1, n_pts=16, shift=2, fs=30000.0)
    >>> width = 16 + 2 * sorter.context
    >>> t = np.exp(-0.5 * ((np.arange(width) - 6 - sorter.context) / 2.0) ** 2)
    >>> rng = np.random.default_rng(0)
    >>> waves = (-60 * t + rng.normal(0, 3, (60, width))).astype(np.float32)
    >>> rows = np.zeros(60, np.intp)
    >>> labels = sorter.assign(rows, waves, np.arange(60), np.array([3.0]))
    >>> fix = sorter.maintain(np.array([3.0]), n_samples=30000)
    >>> int(sorter.n_units[0]), len(fix.seq)
    (1, 60)
    """

    def __init__(self, n_channels: int, n_pts: int, shift: int, fs: float) -> None:
        self._n = n_channels
        self._len = length = n_pts
        self._shift = shift
        self._cluster_every = max(1, round(CLUSTER_EVERY_S * fs))
        self._templates: F32 = np.zeros((n_channels, MAX_UNITS, length), dtype=np.float32)
        self._n_units = np.zeros(n_channels, dtype=np.intp)
        self._seen = np.zeros((n_channels, MAX_UNITS), dtype=np.int64)
        self._pool_wave: dict[int, deque[F32]] = {}
        self._pool_seq: dict[int, deque[int]] = {}
        self._pool_new = np.zeros(n_channels, dtype=np.int64)
        self._attempts = np.zeros(n_channels, dtype=np.int64)
        self._due: deque[int] = deque()
        self._queued = np.zeros(n_channels, dtype=bool)
        self._since_cluster = self._cluster_every

    @property
    def n_units(self) -> IP:
        """Templates per channel (read-only view)."""
        v = self._n_units.view()
        v.setflags(write=False)
        return v

    @property
    def length(self) -> int:
        """Template length (``n_pts``)."""
        return self._len

    @property
    def context(self) -> int:
        """Samples the sorter needs on each side of a spike's window."""
        return context(self._shift)

    def template(self, row: int, label: int) -> F32:
        """The template of unit ``label`` (1-based) on ``row`` (a copy), ``n_pts`` long."""
        return self._templates[row, label - 1].copy()

    def clear_templates(self) -> None:
        """Forget every template and pool (``rebase``)."""
        self._templates[:] = 0.0
        self._n_units[:] = 0
        self._seen[:] = 0
        self.clear_pools()

    def clear_pools(self) -> None:
        """Forget the unassigned spikes (their stored copies are gone)."""
        self._pool_wave.clear()
        self._pool_seq.clear()
        self._pool_new[:] = 0
        self._attempts[:] = 0
        self._due.clear()
        self._queued[:] = False

    def assign(self, rows: IP, waves: F32, seqs: I64, sigma: F64) -> I32:
        """Label a batch of spikes (0 = no template close enough) and learn from them.

        Parameters
        ----------
        rows : ndarray of intp, shape (N,)
            Channel row of each spike.
        waves : ndarray of float32, shape (N, n_pts + 2 * context)
            Waveforms with :attr:`context` samples before and after the window (µV).
        seqs : ndarray of int, shape (N,)
            Sequence numbers (used to relabel later).
        sigma : ndarray of float64, shape (n_channels,)
            Noise SD per channel (µV).

        Returns
        -------
        ndarray of int32, shape (N,)
        """
        n = rows.shape[0]
        labels = np.zeros(n, dtype=np.int32)
        if n == 0:
            return labels
        has = self._n_units[rows] > 0
        if has.any():
            idx = np.flatnonzero(has)
            labels[idx] = self._match(rows[idx], waves[idx], sigma)
        for i in np.flatnonzero(labels == 0).tolist():
            self._pool_add(int(rows[i]), waves[i], int(seqs[i]))
        return labels

    def maintain(self, sigma: F64, n_samples: int) -> Relabel:
        """Advance the stream clock by ``n_samples``; maybe cluster one channel's pool."""
        self._since_cluster += n_samples
        if self._since_cluster < self._cluster_every or not self._due:
            return _no_relabel()
        self._since_cluster = 0
        row = self._due.popleft()
        self._queued[row] = False
        return self._discover(row, float(sigma[row]))

    # --- internals ----------------------------------------------------------------------------

    def _score(self, rows: IP, waves: F32, sigma: F64) -> tuple[I32, IP, F32]:
        """Nearest template of each spike: ``(label or 0, best shift, shifted windows)``."""
        wins = shifted_windows(waves, self._len, self._shift)  # (N, M, n)
        n_units = self._n_units[rows]
        k_max = int(n_units.max())
        tmpl = self._templates[rows, :k_max]  # (N, K, n)
        # |w - t|^2 = |w|^2 - 2 w.t + |t|^2, without the (N, K, M, n) difference array
        cross = np.einsum("nsl,nkl->nks", wins, tmpl)
        score = np.einsum("nsl,nsl->ns", wins, wins)[:, None, :] - 2.0 * cross
        score += np.einsum("nkl,nkl->nk", tmpl, tmpl)[:, :, None]
        score /= (self._len * sigma[rows] ** 2)[:, None, None]
        score[np.arange(k_max)[None, :] >= n_units[:, None]] = np.inf
        flat = score.reshape(score.shape[0], -1).argmin(axis=1)
        k, s = np.divmod(flat, n_shifts(self._shift))
        best = score[np.arange(rows.size), k, s]
        labels = np.where(best <= ASSIGN_MAX_RESIDUAL, k + 1, 0).astype(np.int32)
        return labels, s, wins

    def _match(self, rows: IP, waves: F32, sigma: F64) -> I32:
        labels, s, wins = self._score(rows, waves, sigma)
        hit = np.flatnonzero(labels)
        if hit.size:
            r, u = rows[hit], labels[hit].astype(np.intp) - 1
            np.add.at(self._seen, (r, u), 1)
            rate = 1.0 / np.minimum(self._seen[r, u], TEMPLATE_MEMORY)
            step = rate[:, None] * (wins[hit, s[hit]] - self._templates[r, u])
            np.add.at(self._templates, (r, u), step.astype(np.float32))
        return labels

    def _pool_add(self, row: int, wave: F32, seq: int) -> None:
        waves = self._pool_wave.get(row)
        if waves is None:
            waves = self._pool_wave[row] = deque(maxlen=POOL_MAX)
            self._pool_seq[row] = deque(maxlen=POOL_MAX)
        waves.append(wave.copy())
        self._pool_seq[row].append(seq)
        self._pool_new[row] += 1
        due = len(waves) >= POOL_MIN and (
            self._attempts[row] == 0 or self._pool_new[row] >= POOL_STEP
        )
        if due and not self._queued[row]:
            self._queued[row] = True
            self._due.append(row)

    def _discover(self, row: int, sigma: float) -> Relabel:
        waves_q, seqs_q = self._pool_wave[row], self._pool_seq[row]
        waves = np.stack(list(waves_q))
        seqs = np.fromiter(seqs_q, dtype=np.int64, count=len(seqs_q))
        self._pool_new[row] = 0
        self._attempts[row] += 1
        if not np.isfinite(sigma) or sigma <= 0:
            return _no_relabel()
        found = find_clusters(
            shifted_windows(waves, self._len, self._shift),
            sigma,
            self._shift,
            min_size=MIN_CLUSTER,
            merge_dprime=MERGE_DPRIME,
            max_residual=ASSIGN_MAX_RESIDUAL,
            seed=int(row) * 1009 + int(self._attempts[row]),
        )
        taken = np.zeros(len(seqs), dtype=bool)
        labels = np.zeros(len(seqs), dtype=np.int32)
        limit = (MERGE_DPRIME * sigma) ** 2
        for cluster in found:
            label = self._existing_label(row, cluster.template, limit)
            if label == 0:
                if self._n_units[row] >= MAX_UNITS:
                    continue
                label = int(self._n_units[row]) + 1
                self._templates[row, label - 1] = cluster.template
                self._n_units[row] = label
            self._seen[row, label - 1] += cluster.members.size
            taken[cluster.members] = True
            labels[cluster.members] = label
        if self._n_units[row] and not taken.all():
            # pool spikes that arrived before their unit's template existed
            rest = np.flatnonzero(~taken)
            sig = np.full(self._n, sigma)
            got = self._score(np.full(rest.size, row, dtype=np.intp), waves[rest], sig)[0]
            labels[rest] = got
            taken[rest] = got > 0
        if not taken.any():
            return _no_relabel()
        keep = np.flatnonzero(~taken).tolist()
        self._pool_wave[row] = deque((waves_q[i] for i in keep), maxlen=POOL_MAX)
        self._pool_seq[row] = deque((seqs_q[i] for i in keep), maxlen=POOL_MAX)
        return Relabel(seqs[taken], labels[taken], np.full(int(taken.sum()), row, dtype=np.intp))

    def _existing_label(self, row: int, template: F32, limit: float) -> int:
        best, label = limit, 0
        for u in range(int(self._n_units[row])):
            d2 = template_distance2(template, self._templates[row, u], self._shift)
            if d2 < best:
                best, label = d2, u + 1
        return label


def _no_relabel() -> Relabel:
    return Relabel(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.intp))
