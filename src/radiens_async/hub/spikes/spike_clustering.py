"""Offline clustering of one channel's unassigned spike waveforms into candidate units.

Used by the online sorter on its small pool of spikes that matched no template. The recipe is
deliberately simple and deterministic:

1. normalise the waveforms by the channel's noise SD and project them, as detected, on their
   first :data:`N_FEATURES` principal components;
2. over-cluster with k-means (k-means++ seeding, best of a few seeded runs);
3. re-align every member on its cluster mean (the best of the sub-sample shifts of
   :mod:`.waveform_shifts`, which undoes the jitter of the detected peak) and recompute the means;
4. merge clusters whose means differ by less than ``merge_dprime`` noise SDs (Euclidean over
   the waveform, best shift), since such units could not be told apart sample by sample anyway;
5. keep the clusters with at least ``min_size`` members whose residual to the mean is below
   ``max_residual`` (per sample, in noise variances).

Waveforms come as ``(P, n_shifts, n_pts)`` arrays from
:func:`~.waveform_shifts.shifted_windows`; the middle shift is the window as detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from radiens_async.hub.spikes.waveform_shifts import template_distance2

N_FEATURES: Final = 3
K_INIT: Final = 6
KMEANS_RUNS: Final = 2
KMEANS_ITERS: Final = 25
PCA_ITERS: Final = 12

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
IP = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Cluster:
    """A candidate unit: its members (indices into the input) and their aligned mean."""

    members: IP
    template: F32
    """Mean of the aligned member windows (µV), ``n_pts`` long."""


def find_clusters(
    windows: F32,
    sigma: float,
    shift: int,
    *,
    min_size: int,
    merge_dprime: float,
    max_residual: float,
    seed: int = 0,
) -> list[Cluster]:
    """Cluster the spikes of one channel.

    Parameters
    ----------
    windows : ndarray of float32, shape (P, n_shifts, n_pts)
        Every spike's window at every shift (µV), see
        :func:`~.waveform_shifts.shifted_windows`.
    sigma : float
        Noise SD of the channel (µV), > 0.
    shift : int
        Largest shift (samples) the windows were made for.
    min_size : int
        Smallest cluster kept.
    merge_dprime : float
        Clusters whose means differ by less than this (noise SDs, Euclidean) are merged.
    max_residual : float
        Members whose mean squared residual to their cluster mean exceeds this many noise
        variances are left out of it.
    seed : int
        Seed of the k-means initialisation.

    Returns
    -------
    list of Cluster
        Largest first; templates are ``n_pts`` long.

    Examples
    --------
    >>> from radiens_async.hub.spikes.waveform_shifts import shifted_windows
    >>> rng = np.random.default_rng(0)
    >>> t = np.exp(-0.5 * ((np.arange(24) - 12) / 2.0) ** 2)
    >>> waves = np.vstack([-40 * t + rng.normal(0, 3, 24) for _ in range(30)]
    ...                   + [-90 * t + rng.normal(0, 3, 24) for _ in range(30)])
    >>> windows = shifted_windows(waves.astype(np.float32), n_pts=16, shift=2)
    >>> found = find_clusters(windows, 3.0, 2, min_size=10, merge_dprime=6.0, max_residual=2.5)
    >>> sorted(len(c.members) for c in found)
    [30, 30]
    """
    p = windows.shape[0]
    if p < min_size:
        return []
    segs = windows.astype(np.float64) / sigma
    base = segs[:, segs.shape[1] // 2]
    feats = _pca(base, N_FEATURES)
    k = max(1, min(K_INIT, p // max(1, min_size // 2)))
    labels = _kmeans(feats, k, np.random.default_rng(seed))

    groups = [np.flatnonzero(labels == j) for j in range(k)]
    groups = [g for g in groups if g.size]
    means = [base[g].mean(axis=0) for g in groups]
    for _ in range(2):
        means = [_realigned_mean(segs[g], m) for g, m in zip(groups, means, strict=True)]
    groups, means = _merge(groups, means, segs, shift, merge_dprime)

    out: list[Cluster] = []
    for g, m in zip(groups, means, strict=True):
        if g.size < min_size:
            continue
        resid = np.min(((segs[g] - m[None, None, :]) ** 2).mean(axis=2), axis=1)
        keep = g[resid <= max_residual]
        if keep.size < min_size:
            continue
        mean = _realigned_mean(segs[keep], m)
        out.append(Cluster(keep.astype(np.intp), (mean * sigma).astype(np.float32)))
    out.sort(key=lambda c: -c.members.size)
    return out


def _pca(x: F64, n: int) -> F64:
    """Scores on the top ``n`` principal axes, by subspace iteration.

    LAPACK's ``eigh`` would do, but OpenBLAS runs it on several threads that then spin for a
    while after every call: on a busy hub that costs more CPU than the clustering itself.
    """
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred
    n = min(n, x.shape[1])
    basis = np.eye(x.shape[1], n) + 0.01  # deterministic start, not orthogonal to any axis
    for _ in range(PCA_ITERS):
        basis = _orthonormal(cov @ basis)
    return np.asarray(centred @ basis, dtype=np.float64)


def _orthonormal(v: F64) -> F64:
    """Gram-Schmidt on the columns of ``v`` (a handful)."""
    out = np.empty_like(v)
    for j in range(v.shape[1]):
        w = v[:, j] - out[:, :j] @ (out[:, :j].T @ v[:, j])
        norm = float(np.sqrt(w @ w))
        out[:, j] = w / norm if norm > 0 else 0.0
    return out


def _kmeans(feats: F64, k: int, rng: np.random.Generator) -> IP:
    if k == 1:
        return np.zeros(feats.shape[0], dtype=np.intp)
    best: IP | None = None
    best_cost = np.inf
    for _ in range(KMEANS_RUNS):
        centres = _kmeans_pp(feats, k, rng)
        labels = np.zeros(feats.shape[0], dtype=np.intp)
        for _ in range(KMEANS_ITERS):
            d2 = ((feats[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            new = np.argmin(d2, axis=1)
            if np.array_equal(new, labels) and _ > 0:
                break
            labels = new
            for j in range(k):
                members = feats[labels == j]
                if members.shape[0]:
                    centres[j] = members.mean(axis=0)
        cost = float(np.min(((feats[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1).sum())
        if cost < best_cost:
            best_cost, best = cost, labels.copy()
    assert best is not None
    return best


def _kmeans_pp(feats: F64, k: int, rng: np.random.Generator) -> F64:
    n = feats.shape[0]
    centres = np.empty((k, feats.shape[1]))
    centres[0] = feats[rng.integers(n)]
    d2 = ((feats - centres[0]) ** 2).sum(axis=1)
    for j in range(1, k):
        total = d2.sum()
        pick = rng.integers(n) if total <= 0 else rng.choice(n, p=d2 / total)
        centres[j] = feats[pick]
        d2 = np.minimum(d2, ((feats - centres[j]) ** 2).sum(axis=1))
    return centres


def _realigned_mean(segs: F64, mean: F64) -> F64:
    """Mean of each member taken at the alignment closest to ``mean``."""
    d = ((segs - mean[None, None, :]) ** 2).sum(axis=2)
    best = np.argmin(d, axis=1)
    return np.asarray(segs[np.arange(segs.shape[0]), best].mean(axis=0), dtype=np.float64)


def _merge(
    groups: list[IP], means: list[F64], segs: F64, shift: int, dprime: float
) -> tuple[list[IP], list[F64]]:
    limit = dprime * dprime
    tags = list(range(len(groups)))  # a merged group gets a new tag; distances are cached by tag
    next_tag = len(groups)
    dist: dict[tuple[int, int], float] = {}
    while len(groups) > 1:
        best = (np.inf, -1, -1)
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                key = (tags[i], tags[j])
                d2 = dist.get(key)
                if d2 is None:
                    d2 = dist[key] = template_distance2(means[i], means[j], shift)
                if d2 < best[0]:
                    best = (d2, i, j)
        d2, i, j = best
        if d2 >= limit:
            break
        g = np.concatenate([groups[i], groups[j]])
        big = means[i] if groups[i].size >= groups[j].size else means[j]
        merged = _realigned_mean(segs[g], big)
        keep = [n for n in range(len(groups)) if n not in (i, j)]
        groups = [groups[n] for n in keep] + [g]
        means = [means[n] for n in keep] + [merged]
        tags = [tags[n] for n in keep] + [next_tag]
        next_tag += 1
    return groups, means
