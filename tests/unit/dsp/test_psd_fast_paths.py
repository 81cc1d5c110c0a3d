"""The fast paths of dsp.psd: polyphase decimation and chunks on threads, against scipy."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.signal

from radiens_async.dsp.psd import (
    _ResampledReader,
    psd_of_reader,
    resample_rows,
    welch_psd_chunked,
)
from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import FftWindow


@pytest.mark.parametrize(
    ("down", "n", "n_ch"),
    [(15, 1, 2), (15, 301, 3), (15, 100_003, 5), (2, 300_001, 3), (16, 20_000, 70), (7, 45, 1),
     (3, 9_999, 64)],
)  # fmt: skip
def test_decimation_equals_resample_poly(down: int, n: int, n_ch: int) -> None:
    """Every length (one tile or many, one row block or many) equals scipy's resample_poly."""
    x = np.random.default_rng(down + n).normal(0, 20, (n_ch, n))
    ref = scipy.signal.resample_poly(x, 1, down, axis=-1)
    got = resample_rows(x, 1, down)
    assert got.shape == ref.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_other_ratios_and_float32_input() -> None:
    x32 = np.random.default_rng(3).normal(0, 20, (2, 5000)).astype(np.float32)
    x = x32.astype(np.float64)
    np.testing.assert_array_equal(
        resample_rows(x32, 2, 25), scipy.signal.resample_poly(x, 2, 25, axis=-1)
    )
    # a ratio that reduces to a decimation takes the fast path and still equals scipy
    np.testing.assert_allclose(
        resample_rows(x, 2, 30), scipy.signal.resample_poly(x, 1, 15, axis=-1), atol=1e-11
    )


@pytest.mark.parametrize(
    ("x", "up", "down"),
    [(np.zeros(100), 1, 15), (np.zeros((2, 3, 4)), 1, 2), (np.zeros((2, 100)), 0, 15),
     (np.zeros((2, 100)), 1, 2.5)],
)  # fmt: skip
def test_resample_rows_bad_input(x: np.ndarray, up: int, down: float) -> None:
    with pytest.raises(InvalidArgument):
        resample_rows(x, up, down)  # type: ignore[arg-type]


def test_decimated_windows_equal_the_whole_signal() -> None:
    """Windows with margins through the polyphase path equal slices of resample_poly."""
    x = np.random.default_rng(4).normal(size=(3, 45_001))
    whole = scipy.signal.resample_poly(x, 1, 15, axis=-1)
    win = _ResampledReader(lambda a, b: x[:, a:b], x.shape[1], 1, 15)
    assert win.n_out == whole.shape[1]
    for o0, o1 in [(0, 10), (5, 200), (1000, 2000), (whole.shape[1] - 7, whole.shape[1])]:
        np.testing.assert_allclose(win(o0, o1), whole[:, o0:o1], rtol=0, atol=1e-12)


def test_threads_do_not_change_the_result() -> None:
    """Chunks on 2 threads are summed in order: bit-identical to 1 thread, equal to welch."""
    x = np.random.default_rng(5).normal(0, 10, (4, 50_000))
    seen: set[str] = set()

    def read(a: int, b: int) -> np.ndarray:
        seen.add(threading.current_thread().name)
        return x[:, a:b]

    args = (4, 50_000, 1000.0, 1000, 50, "hamming", 8000)
    f1, p1 = welch_psd_chunked(read, *args, workers=1)
    _, p2 = welch_psd_chunked(read, *args, workers=2)
    np.testing.assert_array_equal(p1, p2)
    assert any(name.startswith("psd") for name in seen)
    f, p = scipy.signal.welch(x, 1000.0, window="hamming", nperseg=1000, noverlap=50)
    np.testing.assert_array_equal(f1, f)
    np.testing.assert_allclose(p2, p, rtol=1e-12)


def test_a_failing_chunk_fails_the_psd() -> None:
    """A read error in a worker thread reaches the caller (and nothing hangs)."""
    x = np.random.default_rng(6).normal(size=(2, 60_000))

    def read(a: int, b: int) -> np.ndarray:
        if a > 20_000:
            raise OSError("disk gone")
        return x[:, a:b]

    with pytest.raises(OSError, match="disk gone"):
        psd_of_reader(read, 2, 60_000, 30000.0, 2000.0, (1, 300), chunk_values=10_000,
                      workers=2)  # fmt: skip


def test_psd_64_channels_resampled_equals_scipy() -> None:
    """The documented default (30 kHz -> 2000 Hz, Hamming 1 %) on many channels and chunks."""
    rng = np.random.default_rng(8)
    n, fs = 90_000, 30000.0
    x = (rng.normal(0, 20, (64, n)) + 30 * np.sin(2 * np.pi * 60 * np.arange(n) / fs)).astype(
        np.float32
    )
    r = psd_of_reader(lambda a, b: x[:, a:b], 64, n, fs, 2000.0, (1, 300),
                      window=FftWindow.HAMMING_p01, chunk_values=1 << 20)  # fmt: skip
    y = scipy.signal.resample_poly(x.astype(np.float64), 1, 15, axis=-1)
    f, p = scipy.signal.welch(y, 2000.0, window="hamming", nperseg=2000, noverlap=20)
    keep = (f >= 1) & (f <= 300)
    np.testing.assert_allclose(r.psd, p[:, keep], rtol=1e-6)
    assert np.max(np.abs(r.psd - p[:, keep]) / p[:, keep]) < 1e-12
