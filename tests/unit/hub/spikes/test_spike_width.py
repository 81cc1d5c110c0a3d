"""The live detector's spike-width criterion: measurement, filtering, engine calls, snapshots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.spikes.spike_detector import (
    DetectedSpikes,
    SpikeDetector,
    half_peak_width_pts,
)
from radiens_async.hub.spikes.spike_engine import SpikeEngine
from radiens_async.hub.spikes.spike_params import DetectionParams, default_params
from radiens_async.hub.workspaces import instrument_snapshot

FS = 30000.0
N_CH = 4
EXTRA = 4


def reference_width_pts(w: np.ndarray, at: int) -> int:
    """Plain-loop reference: walk out from the peak while the value keeps half the peak."""
    peak = float(w[at])
    sign = -1.0 if peak < 0 else 1.0
    half = abs(peak) / 2.0
    lo = at
    while lo - 1 >= 0 and w[lo - 1] * sign >= half:
        lo -= 1
    hi = at
    while hi + 1 < w.size and w[hi + 1] * sign >= half:
        hi += 1
    return hi - lo + 1


@pytest.mark.parametrize("sigma", [0.8, 1.5, 2.0, 3.0, 4.5])
def test_width_of_a_gaussian_is_its_half_maximum_run(sigma: float) -> None:
    t = np.arange(-40, 41)
    bump = np.exp(-0.5 * (t / sigma) ** 2)
    waves = np.stack([-100.0 * bump, 60.0 * bump]).astype(np.float32)
    # exp(-t^2 / 2 sigma^2) >= 1/2  <=>  |t| <= sigma * sqrt(2 ln 2)
    want = 2 * math.floor(sigma * math.sqrt(2.0 * math.log(2.0))) + 1
    assert half_peak_width_pts(waves, 40).tolist() == [want, want]


def test_width_matches_the_reference_on_random_waveforms() -> None:
    rng = np.random.default_rng(3)
    waves = rng.normal(0.0, 1.0, (500, 61)).astype(np.float32)
    waves = np.cumsum(waves, axis=1).astype(np.float32)  # smooth enough for long runs
    got = half_peak_width_pts(waves, 20)
    want = [reference_width_pts(w, 20) for w in waves]
    assert got.tolist() == want
    assert len(set(want)) > 5  # the sample covers many different widths


def test_an_opposite_lobe_is_not_part_of_the_width() -> None:
    w = np.array([[0.0, 70.0, -100.0, -60.0, 10.0]], dtype=np.float32)
    assert half_peak_width_pts(w, 2).tolist() == [2]  # |70| >= 50 but of the other sign


# --- the detector -----------------------------------------------------------------------------


def make_signal(n: int, spikes: list[tuple[int, int, float, float]], seed: int = 0) -> np.ndarray:
    """Noise plus Gaussian spikes ``(sample, channel, amplitude, sigma in samples)``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 5.0, (N_CH, n))
    t = np.arange(-30, 31)
    for s, ch, amp, sigma in spikes:
        x[ch, s - 30 : s + 31] += amp * np.exp(-0.5 * (t / sigma) ** 2)
    return x.astype(np.float32)


def run(x: np.ndarray, params: DetectionParams) -> list[DetectedSpikes]:
    det = SpikeDetector(FS, x.shape[0], extra_pts=EXTRA)
    return [det.process(x[:, k : k + 30], k, params) for k in range(0, x.shape[1], 30)]


def flat(out: list[DetectedSpikes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.concatenate([d.sample_index for d in out]),
        np.concatenate([d.row for d in out]),
        np.concatenate([d.waveform_ext for d in out]),
    )


@pytest.fixture(scope="module")
def mixed() -> np.ndarray:
    """Narrow (sigma 1) and wide (sigma 5) spikes alternating on every channel."""
    spikes = [
        (4000 + 131 * k, k % N_CH, -150.0, 1.0 if (k // N_CH) % 2 else 5.0) for k in range(160)
    ]
    return make_signal(26000, spikes)


def test_spikes_outside_the_range_are_dropped_and_those_inside_kept(mixed: np.ndarray) -> None:
    base = default_params(N_CH, FS)
    t0, ch0, w0 = flat(run(mixed, base))
    width_s = half_peak_width_pts(w0, EXTRA + base.pre_pts) / FS
    assert t0.size >= 150 and width_s.min() < 0.0003 < width_s.max()  # both kinds found
    lo, hi = 0.0003, 0.002  # only the wide ones, on channels 1 and 2
    rows = np.array([1, 2])
    params = base.with_spike_width(rows, lo, hi)
    t, ch, w = flat(run(mixed, params))
    limited = np.isin(ch0, rows)
    keep = ~limited | ((width_s >= lo) & (width_s <= hi))
    assert 0 < (~keep).sum() < limited.sum()
    np.testing.assert_array_equal(t, t0[keep])
    np.testing.assert_array_equal(ch, ch0[keep])
    np.testing.assert_array_equal(w, w0[keep])


def test_the_default_and_an_explicit_open_range_change_nothing(mixed: np.ndarray) -> None:
    base = default_params(N_CH, FS)
    assert not base.width_limited.any()
    t0, ch0, w0 = flat(run(mixed, base))
    t, ch, w = flat(run(mixed, base.with_spike_width(np.arange(N_CH), 0.0, math.inf)))
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(ch, ch0)
    np.testing.assert_array_equal(w, w0)


def test_a_range_given_in_whole_samples_keeps_that_width(mixed: np.ndarray) -> None:
    base = default_params(N_CH, FS)
    _, _, w0 = flat(run(mixed, base))
    k = int(np.bincount(half_peak_width_pts(w0, EXTRA + base.pre_pts)).argmax())
    params = base.with_spike_width(np.arange(N_CH), k / FS, k / FS)
    _, _, w = flat(run(mixed, params))
    assert w.shape[0] > 0
    assert set(half_peak_width_pts(w, EXTRA + base.pre_pts).tolist()) == {k}


# --- the engine -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        [math.nan, 0.001],
        [0.0, math.nan],
        [0.001, 0.0005],  # min > max
        [-0.0001, 0.001],
        [math.inf, math.inf],
        [0.0, -math.inf],
        [0.001],
        [0.0, 0.001, 0.002],
        "0.001",
        [True, 0.001],
        None,
    ],
)
def test_bad_widths_are_refused_and_change_nothing(bad: object) -> None:
    engine = SpikeEngine(FS, N_CH, None)
    engine.set_spike_width([0.0001, 0.001], [2])
    before = engine.params
    with pytest.raises(InvalidArgument, match="spike_width_sec"):
        engine.set_spike_width(bad, None)  # type: ignore[arg-type]
    assert engine.params is before


def test_an_unknown_channel_is_refused_and_changes_nothing() -> None:
    engine = SpikeEngine(FS, N_CH, None, ntv_idxs=[10, 11, 12, 13])
    before = engine.params
    with pytest.raises(InvalidArgument, match="unknown amplifier channel"):
        engine.set_spike_width([0.0001, 0.001], [10, 99])
    assert engine.params is before


def test_engine_sets_per_channel_and_initialize_restores_the_default() -> None:
    engine = SpikeEngine(FS, N_CH, None, ntv_idxs=[10, 11, 12, 13])
    engine.set_spike_width([0.0002, math.inf], [11, 13])
    engine.set_spike_width([0, 0.001], [12])
    assert engine.params.spike_width_s.tolist() == [
        [0.0, math.inf],
        [0.0002, math.inf],
        [0.0, 0.001],
        [0.0002, math.inf],
    ]
    engine.initialize()
    assert engine.params.spike_width_s.tolist() == [[0.0, math.inf]] * N_CH


def test_dropped_spikes_are_neither_stored_nor_counted(mixed: np.ndarray) -> None:
    def feed(engine: SpikeEngine) -> None:
        for k in range(0, mixed.shape[1], 30):
            engine.process(mixed[:, k : k + 30], k)

    wide = SpikeEngine(FS, N_CH, None, sorting=False)
    feed(wide)
    narrow = SpikeEngine(FS, N_CH, None, sorting=False)
    narrow.set_spike_width([0.0, 1.0 / FS], [0])  # nothing is a single sample wide
    feed(narrow)
    a, b = wide.counts()["spike_count"], narrow.counts()["spike_count"]
    assert a[0] > 0 and b[0] == 0
    np.testing.assert_array_equal(a[1:], b[1:])
    assert 0 not in narrow.read(0, 10_000).channel.tolist()
    assert len(narrow.read(0, 10_000)) == int(b.sum())


# --- workspace snapshots ----------------------------------------------------------------------


def test_snapshots_keep_the_width_and_old_ones_restore_the_default(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    engine = device.spike_engine
    engine.set_spike_width([0.0001, 0.0009], [0, 1])
    engine.set_spike_width([0.0003, math.inf], [5])
    snap = instrument_snapshot.capture(device)
    assert snap["sorter"]["spike_width_s"][5] == [0.0003, None]  # strict JSON: no infinity
    engine.initialize()
    instrument_snapshot.apply_restore(device, instrument_snapshot.prepare_restore(device, snap))
    w = device.spike_engine.params.spike_width_s
    assert w[0].tolist() == w[1].tolist() == [0.0001, 0.0009]
    assert w[5].tolist() == [0.0003, math.inf] and w[2].tolist() == [0.0, math.inf]
    old = {**snap, "sorter": {k: v for k, v in snap["sorter"].items() if k != "spike_width_s"}}
    instrument_snapshot.apply_restore(device, instrument_snapshot.prepare_restore(device, old))
    assert not device.spike_engine.params.width_limited.any()


def test_a_snapshot_with_a_bad_width_is_refused(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    snap = instrument_snapshot.capture(device)
    snap["sorter"]["spike_width_s"][3] = [0.002, 0.001]
    with pytest.raises(InvalidArgument, match="spike widths"):
        instrument_snapshot.prepare_restore(device, snap)
    snap["sorter"]["spike_width_s"] = snap["sorter"]["spike_width_s"][:-1]
    with pytest.raises(InvalidArgument, match="spike widths"):
        instrument_snapshot.prepare_restore(device, snap)
