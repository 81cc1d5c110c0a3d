from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from radiens_async.hub.spikes.spike_band_filter import spike_band_sos
from radiens_async.hub.spikes.spike_detector import DetectedSpikes, SpikeDetector
from radiens_async.hub.spikes.spike_params import NEG, POS, DetectionParams, default_params

FS = 30000.0
N_CH = 4
NOISE_UV = 5.0
WIDTH_SAMPLES = 3.0


def _bump() -> np.ndarray:
    t = np.arange(-30, 31)
    return np.exp(-0.5 * (t / WIDTH_SAMPLES) ** 2)


def _filtered_offset() -> int:
    """Where the band-passed trough of a negative spike lands, relative to the raw trough."""
    x = np.zeros(400)
    x[100:161] = -_bump()
    return int(np.argmin(signal.sosfilt(spike_band_sos(FS), x))) - 130


def make_signal(n: int, spikes: list[tuple[int, int, float]], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, NOISE_UV, (N_CH, n))
    bump = _bump()
    for t, ch, amp in spikes:
        x[ch, t - 30 : t + 31] += amp * bump
    return x.astype(np.float32)


def run(
    x: np.ndarray, params: DetectionParams, block: int = 30, start: int = 0
) -> tuple[np.ndarray, np.ndarray, list[DetectedSpikes]]:
    det = SpikeDetector(FS, x.shape[0], extra_pts=4)
    out = [det.process(x[:, k : k + block], start + k, params) for k in range(0, x.shape[1], block)]
    return (
        np.concatenate([d.sample_index for d in out]),
        np.concatenate([d.row for d in out]),
        out,
    )


@pytest.fixture(scope="module")
def boundary_case() -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    # spikes every 97 samples: every offset within 1 ms blocks, on rotating channels
    spikes = [(4000 + 97 * k, k % N_CH, -120.0) for k in range(110)]
    return make_signal(15000, spikes), spikes


@pytest.mark.parametrize("block", [30, 1, 37, 4096])
def test_every_spike_is_found_once_wherever_the_block_boundaries_fall(
    boundary_case: tuple[np.ndarray, list[tuple[int, int, float]]], block: int
) -> None:
    x, spikes = boundary_case
    t, ch, out = run(x, default_params(N_CH, FS), block=block)
    assert np.all(np.diff(t) >= 0), "spikes must come out in peak order"
    want_t = np.array([s[0] for s in spikes]) + _filtered_offset()
    want_ch = np.array([s[1] for s in spikes])
    assert t.size == want_t.size
    np.testing.assert_array_equal(ch, want_ch)
    assert np.abs(t - want_t).max() <= 1
    reference, _, _ = run(x, default_params(N_CH, FS), block=30)
    np.testing.assert_array_equal(t, reference)
    for d in out:
        if len(d):
            w = d.waveforms(45)
            assert w.shape[1] == 45
            np.testing.assert_array_equal(np.argmin(w, axis=1), 15)  # the trough is at pre_pts


def test_nothing_is_detected_during_the_noise_warm_up() -> None:
    x = make_signal(6000, [(1000, 0, -200.0), (2900, 1, -200.0), (5000, 2, -200.0)])
    _, ch, _ = run(x, default_params(N_CH, FS))
    assert ch.tolist() == [2]


def test_shadow_suppresses_a_second_crossing_on_the_same_channel_only() -> None:
    x = make_signal(8000, [(5000, 0, -150.0), (5030, 0, -150.0), (5030, 1, -150.0)])
    params = default_params(N_CH, FS)
    assert params.shadow_pts == 45
    t, ch, _ = run(x, params)
    assert sorted(zip(ch.tolist(), (t // 10).tolist(), strict=True)) == [(0, 500), (1, 503)]
    t, ch, _ = run(x, replace(params, shadow_pts=15))
    assert sorted(ch.tolist()) == [0, 0, 1]


def test_positive_threshold_only_when_armed_and_aligned_on_the_maximum() -> None:
    x = make_signal(8000, [(5000, 3, +150.0), (6000, 0, -150.0)])
    params = default_params(N_CH, FS)
    # (the band-pass gives a positive spike a negative after-lobe: keep the negative slot of
    # channel 3 disarmed to see the positive slot alone)
    params = replace(params, thr=params.thr.with_active(np.array([3]), [(NEG, False)]))
    t, ch, _ = run(x, params)
    assert ch.tolist() == [0]
    armed = replace(params, thr=params.thr.with_active(np.arange(N_CH), [(POS, True)]))
    t, ch, out = run(x, armed)
    assert ch.tolist() == [3, 0]
    assert abs(t[0] - 5000 - _filtered_offset()) <= 1
    w = next(d for d in out if len(d)).waveforms(45)
    assert int(np.argmax(w[0])) == 15


def test_one_shadow_for_both_polarities() -> None:
    # a negative spike's positive overshoot ~0.7 ms later is not a second spike
    x = make_signal(8000, [(6000, 0, -150.0)])
    params = default_params(N_CH, FS)
    armed = replace(params, thr=params.thr.with_active(np.arange(N_CH), [(POS, True)]))
    _, ch, _ = run(x, armed)
    assert ch.tolist() == [0]
    _, ch, _ = run(x, replace(armed, shadow_pts=5))
    assert ch.tolist() == [0, 0]


def test_weak_threshold_rejects_artifacts() -> None:
    x = make_signal(8000, [(5000, 2, -900.0), (6000, 2, -150.0)])
    params = default_params(N_CH, FS)
    _, ch, _ = run(x, params)
    assert ch.tolist() == [2, 2]
    weak = params.weak.with_levels(np.arange(N_CH), [(NEG, -400.0)], is_sd=False)
    weak = weak.with_active(np.arange(N_CH), [(NEG, True)])
    t, ch, _ = run(x, replace(params, weak=weak))
    assert ch.tolist() == [2] and abs(t[0] - 6000) < 5


def test_disarmed_channels_and_microvolt_levels() -> None:
    x = make_signal(8000, [(5000, 0, -150.0), (6000, 1, -150.0), (7000, 2, -60.0)])
    params = default_params(N_CH, FS)
    thr = params.thr.with_active(np.array([0]), [(NEG, False)])
    thr = thr.with_levels(np.array([2]), [(NEG, -100.0)], is_sd=False)  # too deep for -60 µV
    _, ch, _ = run(x, replace(params, thr=thr))
    assert ch.tolist() == [1]


def test_a_jump_in_the_sample_index_starts_a_new_segment() -> None:
    x = make_signal(12000, [(5000, 0, -150.0), (11000, 1, -150.0)])
    det = SpikeDetector(FS, N_CH)
    params = default_params(N_CH, FS)
    got = [det.process(x[:, k : k + 30], k, params) for k in range(0, 6000, 30)]
    # the stream resumes 1 s later (e.g. a reconnect); the noise estimate is kept
    got += [det.process(x[:, k : k + 30], k + 30000, params) for k in range(6000, 12000, 30)]
    t = np.concatenate([d.sample_index for d in got])
    assert t.size == 2 and abs(t[1] - 41000) < 5
    assert det.next_sample == 42000


def test_reset_keeps_the_noise_and_detects_from_the_start() -> None:
    x = make_signal(8000, [(300, 0, -150.0), (5000, 1, -150.0)])
    det = SpikeDetector(FS, N_CH)
    params = default_params(N_CH, FS)
    for k in range(0, 8000, 30):
        det.process(x[:, k : k + 30], k, params)
    det.reset()
    t = np.concatenate(
        [det.process(x[:, k : k + 30], k, params).sample_index for k in range(0, 8000, 30)]
    )
    assert t.size == 2 and abs(t[0] - 300) < 5


@pytest.mark.parametrize("post_ms", [1.0, 0.1])  # 0.1 ms: a post window shorter than the search
def test_a_spike_is_released_as_soon_as_its_waveform_is_complete(post_ms: float) -> None:
    """Fed one sample at a time, each spike comes out with its waveform's last context sample
    (``peak + post + extra - 1``), or, when the post window is shorter than the peak search,
    once no later crossing can have an earlier peak (``peak + margin - 1``)."""
    spikes = [(4000 + 211 * k, k % N_CH, -120.0) for k in range(12)]
    x = make_signal(8000, spikes)
    params = default_params(N_CH, FS)
    params = replace(params, post_pts=round(post_ms * FS / 1000))
    det = SpikeDetector(FS, N_CH, extra_pts=4)
    released: list[tuple[int, int]] = []  # (peak, last sample seen when it came out)
    for k in range(x.shape[1]):
        found = det.process(x[:, k : k + 1], k, params)
        released += [(int(p), k) for p in found.sample_index]
    assert len(released) == len(spikes)
    wait = max(params.post_pts + det.extra, params.margin_pts) - 1
    assert [seen - peak for peak, seen in released] == [wait] * len(spikes)
