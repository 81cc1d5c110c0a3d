from __future__ import annotations

import numpy as np
import pytest

from radiens_async.hub.spikes.online_sorter import CLUSTER_EVERY_S, POOL_MIN, OnlineSorter
from radiens_async.hub.spikes.spike_clustering import find_clusters
from radiens_async.hub.spikes.waveform_shifts import (
    STEPS_PER_SAMPLE,
    context,
    shifted_windows,
    template_distance2,
)

FS = 30000.0
N_PTS = 45
PRE = 15
SHIFT = 2
CONTEXT = context(SHIFT)  # what the sorter wants on each side of the window
WIDTH = N_PTS + 2 * CONTEXT
PEAK = PRE + CONTEXT
SIGMA = 4.0

# (trough µV, trough width, repolarisation µV) of three units
UNITS = {1: (-60.0, 2.5, 15.0), 2: (-60.0, 5.0, 30.0), 3: (-130.0, 3.0, 25.0)}


def waveform(unit: int, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """A spike as the detector cuts it: centred on the sampled trough (noise included)."""
    depth, width, repol = UNITS[unit]
    t = np.arange(WIDTH + 4) - PEAK - 2 - jitter
    shape = depth * np.exp(-0.5 * (t / width) ** 2) + repol * np.exp(-0.5 * ((t - 12) / 6) ** 2)
    noisy = shape + rng.normal(0.0, SIGMA, WIDTH + 4)
    trough = PEAK + 1 + int(np.argmin(noisy[PEAK + 1 : PEAK + 4]))  # PEAK + 2, +-1
    return noisy[trough - PEAK : trough - PEAK + WIDTH].astype(np.float32)


def batch(units: list[int], rng: np.random.Generator) -> np.ndarray:
    """Raw spikes with a random sub-sample phase (the sampled trough may also be one off)."""
    return np.stack([waveform(u, rng.uniform(-0.5, 0.5), rng) for u in units])


def windows(waves: np.ndarray) -> np.ndarray:
    """What the clustering sees: every spike's window at every sub-sample shift."""
    return shifted_windows(waves, N_PTS, SHIFT)


def test_clusters_three_units_despite_jitter() -> None:
    rng = np.random.default_rng(0)
    truth = rng.permutation(np.repeat([1, 2, 3], 40))
    found = find_clusters(
        windows(batch(truth.tolist(), rng)),
        SIGMA,
        SHIFT,
        min_size=10,
        merge_dprime=6.0,
        max_residual=3.0,
    )
    assert len(found) == 3
    for c in found:
        _, counts = np.unique(truth[c.members], return_counts=True)
        assert counts.max() / counts.sum() >= 0.95
        assert counts.max() >= 36
    assert {int(np.unique(truth[c.members])[0]) for c in found} == {1, 2, 3}


def test_one_jittered_unit_is_one_cluster() -> None:
    rng = np.random.default_rng(1)
    found = find_clusters(
        windows(batch([3] * 80, rng)), SIGMA, SHIFT, min_size=10, merge_dprime=6.0, max_residual=3.0
    )
    assert len(found) == 1 and found[0].members.size >= 76
    assert found[0].template.shape == (N_PTS,)
    assert -140 < found[0].template.min() < -115


def test_shifted_windows_interpolate_between_samples() -> None:
    t = np.arange(WIDTH, dtype=np.float64)
    w = np.sin(t / 3.0)[None].astype(np.float32)
    out = shifted_windows(w, N_PTS, SHIFT)
    assert out.shape == (1, 2 * SHIFT * STEPS_PER_SAMPLE + 1, N_PTS)
    for k in range(out.shape[1]):
        s = -SHIFT + k / STEPS_PER_SAMPLE
        want = np.sin((np.arange(N_PTS) + CONTEXT + s) / 3.0)
        np.testing.assert_allclose(out[0, k], want, atol=2e-3)


def test_template_distance_tolerates_sub_sample_shifts() -> None:
    x = np.arange(40.0)
    a = -np.exp(-0.5 * ((x - 20) / 2.0) ** 2)
    for s in (0.25, 0.5, 1.0, 1.75):
        b = -np.exp(-0.5 * ((x - 20 - s) / 2.0) ** 2)
        assert template_distance2(a, b, 2) < 1e-3 * float(a @ a)
    assert template_distance2(a, -a, 2) > float(a @ a)


def test_sorter_discovers_units_and_labels_them_consistently() -> None:
    rng = np.random.default_rng(2)
    sorter = OnlineSorter(2, N_PTS, SHIFT, FS)
    sigma = np.full(2, SIGMA)
    truth: list[tuple[int, int]] = []  # (row, unit) per seq
    labels: list[int] = []
    seq = 0
    for _ in range(120):
        units = rng.choice([1, 2, 3], size=3).tolist()
        rows = np.array([0 if u in (1, 2) else 1 for u in units], np.intp)
        got = sorter.assign(rows, batch(units, rng), np.arange(seq, seq + 3), sigma)
        labels += got.tolist()
        truth += list(zip(rows.tolist(), units, strict=True))
        seq += 3
        fix = sorter.maintain(sigma, n_samples=int(FS))  # one clustering per call
        for s, lab in zip(fix.seq.tolist(), fix.label.tolist(), strict=True):
            labels[s] = lab
    assert sorter.n_units.tolist() == [2, 1]
    lab = np.array(labels)
    for row, unit in ((0, 1), (0, 2), (1, 3)):
        mine = lab[[i for i, t in enumerate(truth) if t == (row, unit)]]
        values, counts = np.unique(mine, return_counts=True)
        assert values[np.argmax(counts)] > 0
        assert counts.max() / mine.size >= 0.95, (row, unit, dict(zip(values, counts, strict=True)))
    on_row0 = {
        int(np.bincount(lab[[i for i, t in enumerate(truth) if t == (0, u)]]).argmax())
        for u in (1, 2)
    }
    assert len(on_row0) == 2  # two different labels for the two units of channel 0


def test_discovery_is_paced_by_stream_time() -> None:
    rng = np.random.default_rng(3)
    sorter = OnlineSorter(1, N_PTS, SHIFT, FS)
    sigma = np.full(1, SIGMA)
    sorter.assign(
        np.zeros(POOL_MIN, np.intp), batch([3] * POOL_MIN, rng), np.arange(POOL_MIN), sigma
    )
    every = round(CLUSTER_EVERY_S * FS)
    # a new sorter may cluster at once; afterwards only every CLUSTER_EVERY_S of samples
    assert sorter.maintain(sigma, 1).seq.size == POOL_MIN
    sorter.clear_templates()
    sorter.assign(
        np.zeros(POOL_MIN, np.intp), batch([3] * POOL_MIN, rng), np.arange(POOL_MIN), sigma
    )
    assert sorter.maintain(sigma, every - 2).seq.size == 0
    assert sorter.maintain(sigma, 1).seq.size == 0
    assert sorter.maintain(sigma, 1).seq.size == POOL_MIN


@pytest.mark.parametrize("clear", ["templates", "pools"])
def test_clearing(clear: str) -> None:
    rng = np.random.default_rng(4)
    sorter = OnlineSorter(1, N_PTS, SHIFT, FS)
    sigma = np.full(1, SIGMA)
    sorter.assign(np.zeros(60, np.intp), batch([3] * 60, rng), np.arange(60), sigma)
    sorter.maintain(sigma, int(FS))
    assert sorter.n_units.tolist() == [1]
    if clear == "templates":
        sorter.clear_templates()
        assert sorter.n_units.tolist() == [0]
        assert sorter.assign(
            np.zeros(1, np.intp), batch([3], rng), np.arange(1), sigma
        ).tolist() == [0]
    else:
        sorter.clear_pools()
        assert sorter.assign(
            np.zeros(1, np.intp), batch([3], rng), np.arange(1), sigma
        ).tolist() == [1]
