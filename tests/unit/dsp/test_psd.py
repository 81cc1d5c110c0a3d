"""dsp.psd against scipy.signal.welch (same window, overlap and resolution)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from radiens_async.dsp.psd import (
    _ResampledReader,
    psd_of_block,
    psd_of_reader,
    segment_plan,
    welch_psd,
    window_spec,
)
from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import FftWindow

RTOL = 1e-6


def _signals(n_ch: int = 6, n: int = 20_000, fs: float = 2000.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(n) / fs
    x = rng.normal(0, 20, (n_ch, n))
    x += 50 * np.sin(2 * np.pi * 60 * t) + 3.0  # a line and an offset (removed by detrend)
    return x


def _close(ours: np.ndarray, ref: np.ndarray) -> None:
    # relative to each channel's peak: the DC bin of a detrended signal is ~1e-30 (round-off)
    scale = np.abs(ref).max(axis=-1, keepdims=True)
    assert np.max(np.abs(ours - ref) / scale) < RTOL


@pytest.mark.parametrize("window", list(FftWindow))
@pytest.mark.parametrize("resolution", [None, 0.5, 2.0, 7.3])
def test_welch_equals_scipy(window: FftWindow, resolution: float | None) -> None:
    fs = 2000.0
    x = _signals(fs=fs)
    name, overlap = window_spec(window)
    nperseg, noverlap = segment_plan(x.shape[1], fs, resolution, overlap)
    f, p = welch_psd(x, fs, nperseg, noverlap, name)
    f_ref, p_ref = scipy.signal.welch(x, fs, window=name, nperseg=nperseg, noverlap=noverlap)
    np.testing.assert_array_equal(f, f_ref)
    _close(p, p_ref)


def test_float32_input_matches_float64_reference() -> None:
    x = _signals()
    _, p = welch_psd(x.astype(np.float32), 2000.0, 2000, 20)
    _, p_ref = scipy.signal.welch(
        x.astype(np.float32).astype(np.float64), 2000.0, window="hamming", nperseg=2000, noverlap=20
    )
    _close(p, p_ref)


def test_psd_of_block_range_and_resampling() -> None:
    fs = 30000.0
    n = 60_000
    rng = np.random.default_rng(3)
    t = np.arange(n) / fs
    x = rng.normal(0, 5, (3, n)) + 100 * np.sin(2 * np.pi * 120 * t)
    r = psd_of_block(x, fs, samp_freq=2000.0, freq_range=(1, 300), window=FftWindow.HAMMING_p05)
    assert r.fs == 2000.0 and r.freq_bin_width == 1.0
    assert r.freqs[0] == 1.0 and r.freqs[-1] == 300.0 and r.psd.shape == (3, 300)
    # the same estimate as resample_poly then welch
    y = scipy.signal.resample_poly(x, 1, 15, axis=-1)
    f_ref, p_ref = scipy.signal.welch(y, 2000.0, window="hamming", nperseg=2000, noverlap=100)
    keep = (f_ref >= 1) & (f_ref <= 300)
    _close(r.psd, p_ref[:, keep])
    assert r.freqs[np.argmax(r.psd[0])] == 120.0


def test_psd_collapse_is_mean_density() -> None:
    x = _signals()
    full = psd_of_block(x, 2000.0, None, (10, 100))
    one = psd_of_block(x, 2000.0, None, (10, 100), collapse_freq=True)
    assert one.psd.shape == (x.shape[0], 1) and one.freq_bin_width == 90.0
    np.testing.assert_allclose(one.psd[:, 0], full.psd.mean(axis=1), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"freq_range": (1, 1001)}, "Nyquist"),
        ({"freq_range": (300, 1)}, "low < high"),
        ({"freq_range": (-1, 10)}, "low < high"),
        ({"freq_resolution": 0.0}, "positive"),
        ({"samp_freq": -5.0}, "positive"),
        ({"freq_range": (0.1, 0.2), "freq_resolution": 10.0}, "no frequency bin"),
    ],
)
def test_psd_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        psd_of_block(_signals(), 2000.0, **{"samp_freq": None, **kwargs})  # type: ignore[arg-type]


def test_welch_bad_plan() -> None:
    with pytest.raises(InvalidArgument):
        welch_psd(np.zeros((1, 10)), 1.0, 20, 0)
    with pytest.raises(InvalidArgument):
        welch_psd(np.zeros(10), 1.0, 5, 0)


@pytest.mark.parametrize(
    ("fs", "samp_freq", "n"),
    [(30000.0, 2000.0, 61_234), (25000.0, 2000.0, 50_011), (2000.0, None, 20_001),
     (10000.0, 3000.0, 33_333)],
)  # fmt: skip
@pytest.mark.parametrize("chunk_values", [3000, 40_000, 1 << 24])
def test_chunked_equals_whole_signal(
    fs: float, samp_freq: float | None, n: int, chunk_values: int
) -> None:
    """Read in chunks with margins, the PSD equals resample_poly + welch of the whole signal."""
    rng = np.random.default_rng(11)
    x = rng.normal(0, 10, (3, n)).astype(np.float32)
    reads: list[tuple[int, int]] = []

    def read(a: int, b: int) -> np.ndarray:
        assert 0 <= a < b <= n
        reads.append((a, b))
        return x[:, a:b]

    r = psd_of_reader(read, 3, n, fs, samp_freq, (1, 299), window=FftWindow.HAMMING_p05,
                      freq_resolution=2.0, chunk_values=chunk_values)  # fmt: skip
    rate = fs if samp_freq is None else samp_freq
    y = x.astype(np.float64)
    if samp_freq is not None:
        from fractions import Fraction

        q = Fraction(samp_freq / fs).limit_denominator(1000)
        y = scipy.signal.resample_poly(y, q.numerator, q.denominator, axis=-1)
    nper = round(rate / 2.0)
    f, p = scipy.signal.welch(y, rate, window="hamming", nperseg=nper, noverlap=nper * 5 // 100)
    keep = (f >= 1) & (f <= 299)
    np.testing.assert_array_equal(r.freqs, f[keep])
    np.testing.assert_allclose(r.psd, p[:, keep], rtol=1e-9)
    if chunk_values < 10_000:
        assert len(reads) > 3  # really read in chunks


def test_resampled_windows_equal_the_whole_signal() -> None:
    x = np.random.default_rng(2).normal(size=(2, 9_999))
    whole = scipy.signal.resample_poly(x, 2, 25, axis=-1)
    win = _ResampledReader(lambda a, b: x[:, a:b], x.shape[1], 2, 25)
    assert win.n_out == whole.shape[1]
    for o0, o1 in [(0, 10), (5, 200), (300, 500), (whole.shape[1] - 7, whole.shape[1])]:
        np.testing.assert_allclose(win(o0, o1), whole[:, o0:o1], rtol=1e-12, atol=1e-15)
