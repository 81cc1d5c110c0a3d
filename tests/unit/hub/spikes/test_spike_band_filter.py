from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from radiens_async.hub.spikes.spike_band_filter import (
    DEFAULT_BAND_HZ,
    BlockBandpass,
    block_matrix,
    spike_band_sos,
)


def _chunked(f: BlockBandpass, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    out = np.empty((x.shape[1], x.shape[0]), np.float32)
    k = 0
    for n in sizes:
        f.filter_into(x[:, k : k + n], out[k : k + n])
        k += n
    assert k == x.shape[1]
    return out.T


@pytest.mark.parametrize("sizes", [[30] * 200, [1] * 50 + [7, 24, 25, 49, 1000, 4845], [6000]])
def test_equals_sosfilt_whatever_the_block_sizes(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(0.0, 20.0, (5, 6000)) + np.linspace(-200, 300, 5)[:, None]).astype(np.float32)
    f = BlockBandpass(30000.0, 5)
    f.reset(x[:, 0])
    got = _chunked(f, x, sizes)
    zi = signal.sosfilt_zi(f.sos)[:, None, :] * x[:, 0].astype(np.float64)[None, :, None]
    want, _ = signal.sosfilt(f.sos, x.astype(np.float64), axis=1, zi=zi)
    np.testing.assert_allclose(got, want, atol=2e-3 * np.abs(want).max())


def test_steady_state_start_has_no_step_transient() -> None:
    f = BlockBandpass(30000.0, 2)
    x = np.full((2, 300), 500.0, np.float32)
    f.reset(x[:, 0])
    out = _chunked(f, x, [30] * 10)
    assert np.abs(out).max() < 1e-2
    f.reset()  # from rest, the same offset is a step: the high-pass rings
    assert np.abs(_chunked(f, x, [300])).max() > 100


def test_block_matrix_reproduces_sosfilt_state() -> None:
    sos = spike_band_sos(30000.0)
    m = block_matrix(sos, 10)
    rng = np.random.default_rng(1)
    x, zi = rng.normal(size=10), rng.normal(size=(sos.shape[0], 2))
    y, zf = signal.sosfilt(sos, x, zi=zi)
    np.testing.assert_allclose(m @ np.r_[x, zi.ravel()], np.r_[y, zf.ravel()], atol=1e-12)


def test_band_top_is_lowered_for_low_sampling_rates() -> None:
    assert spike_band_sos(30000.0).shape == (2, 6)  # 1st-order high-pass + 2nd-order low-pass
    hp = spike_band_sos(1000.0)  # 0.45 * fs = 450 Hz is too close to 300 Hz: high-pass only
    assert hp.shape == (1, 6)
    _, h = signal.sosfreqz(hp, worN=[50.0, 450.0], fs=1000.0)
    assert abs(h[0]) < 0.2 < 0.8 < abs(h[1])
    assert DEFAULT_BAND_HZ == (300.0, 3000.0)


def test_filters_every_channel_independently() -> None:
    f = BlockBandpass(30000.0, 3)
    x = np.zeros((3, 600), np.float32)
    x[1, 100] = 1000.0
    out = _chunked(f, x, [30] * 20)
    assert np.abs(out[[0, 2]]).max() == 0.0
    assert np.abs(out[1]).max() > 10
