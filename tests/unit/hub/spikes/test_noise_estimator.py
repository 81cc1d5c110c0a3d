from __future__ import annotations

import numpy as np

from radiens_async.hub.spikes.noise_estimator import MAD_TO_SD, NoiseEstimator

FS = 30000.0


def _feed(est: NoiseEstimator, x: np.ndarray, block: int = 240) -> None:
    for k in range(0, x.shape[0], block):
        est.update(x[k : k + block])


def test_warm_up_is_the_exact_mad() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, [2.0, 7.0, 11.0], (3000, 3)).astype(np.float32)
    est = NoiseEstimator(3, FS, warmup_s=0.1)
    assert not est.ready and np.isnan(est.sd_uv).all()
    _feed(est, x[:2999])
    assert not est.ready
    est.update(x[2999:])
    assert est.ready
    np.testing.assert_allclose(est.sd_uv, np.median(np.abs(x), axis=0) * MAD_TO_SD, rtol=1e-6)


def test_tracks_a_change_of_noise_level() -> None:
    rng = np.random.default_rng(1)
    est = NoiseEstimator(2, FS, tau_s=0.5)
    _feed(est, rng.normal(0.0, 4.0, (int(0.5 * FS), 2)).astype(np.float32))
    np.testing.assert_allclose(est.sd_uv, 4.0, rtol=0.05)
    _feed(est, rng.normal(0.0, [8.0, 2.0], (int(3.0 * FS), 2)).astype(np.float32))
    np.testing.assert_allclose(est.sd_uv, [8.0, 2.0], rtol=0.05)


def test_spikes_barely_move_the_estimate() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 5.0, (int(3 * FS), 1)).astype(np.float32)
    x[::200] -= 150.0  # 0.5 % of the samples are large spikes
    est = NoiseEstimator(1, FS)
    _feed(est, x)
    assert abs(est.sd_uv[0] - 5.0) < 0.2
    assert np.std(x) > 10.0  # the plain SD would be far off


def test_restart_and_dead_channels() -> None:
    est = NoiseEstimator(2, FS, warmup_s=0.01)
    x = np.zeros((600, 2), np.float32)
    x[:, 1] = np.random.default_rng(3).normal(0, 3, 600)
    _feed(est, x, 30)
    assert est.ready and est.sd_uv[0] > 0 and np.isfinite(est.sd_uv).all()
    est.restart()
    assert not est.ready and np.isnan(est.sd_uv).all()
