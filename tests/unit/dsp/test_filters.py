"""DSP kernels against scipy/numpy references, and their refusals of bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from radiens_async.dsp.decimation import decimate, decimated_length, pick_every
from radiens_async.dsp.filters import (
    anti_alias_sos,
    apply_sos,
    band_pass_sos,
    band_stop_sos,
    butterworth_sos,
    high_pass_sos,
    low_pass_sos,
    notch_sos,
    settle_samples,
)
from radiens_async.errors import InvalidArgument

FS = 30000.0


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(1).normal(0, 50, (3, 20_000)).astype(np.float32)


def test_designs_match_scipy_butterworth_and_iirnotch() -> None:
    np.testing.assert_allclose(low_pass_sos(750, FS), signal.butter(4, 750, fs=FS, output="sos"))
    np.testing.assert_allclose(
        high_pass_sos(20, FS), signal.butter(4, 20, "highpass", fs=FS, output="sos")
    )
    np.testing.assert_allclose(
        band_pass_sos(300, 6000, FS), signal.butter(2, [300, 6000], "bandpass", fs=FS, output="sos")
    )
    np.testing.assert_allclose(
        band_stop_sos(750, 2000, FS), signal.butter(2, [750, 2000], "bandstop", fs=FS, output="sos")
    )
    b, a = signal.iirnotch(50.0, 50.0 / 2.0, fs=FS)
    np.testing.assert_allclose(notch_sos(50, 2, FS), signal.tf2sos(b, a))


def test_frequency_responses_do_what_their_names_say() -> None:
    def gain(sos: np.ndarray, f: float) -> float:
        _, h = signal.sosfreqz(sos, worN=[f], fs=FS)
        return float(abs(h[0]))

    assert gain(low_pass_sos(750, FS), 100) > 0.99 and gain(low_pass_sos(750, FS), 5000) < 1e-3
    assert gain(high_pass_sos(300, FS), 5) < 1e-3 and gain(high_pass_sos(300, FS), 3000) > 0.99
    bp = band_pass_sos(300, 6000, FS)
    assert gain(bp, 1500) > 0.99 and gain(bp, 20) < 1e-2
    assert gain(band_stop_sos(750, 2000, FS), 1225) < 1e-2
    notch = notch_sos(50, 2, FS)
    assert gain(notch, 50) < 1e-6 and gain(notch, 51) == pytest.approx(1 / np.sqrt(2), abs=0.05)
    assert gain(notch, 200) > 0.99


def test_apply_sos_is_zero_phase_sosfiltfilt_or_causal_sosfilt(x: np.ndarray) -> None:
    sos = band_pass_sos(300, 6000, FS)
    np.testing.assert_allclose(apply_sos(sos, x), signal.sosfiltfilt(sos, x, axis=-1))
    np.testing.assert_allclose(apply_sos(sos, x, zero_phase=False), signal.sosfilt(sos, x, axis=-1))


def test_settle_samples_is_long_enough_for_chunks_to_equal_the_whole(x: np.ndarray) -> None:
    sos = high_pass_sos(150, FS)
    margin = settle_samples(sos)
    assert margin < 8000
    whole = signal.sosfiltfilt(sos, x[0].astype(np.float64))
    lo, hi = 8000, 12000
    part = signal.sosfiltfilt(sos, x[0, lo - margin : hi + margin].astype(np.float64))
    err = np.max(np.abs(part[margin:-margin] - whole[lo:hi]))
    assert err < 1e-4 * np.sqrt(np.mean(whole**2))
    assert settle_samples(high_pass_sos(20, FS)) > margin


@pytest.mark.parametrize("factor", [2, 3, 10])
def test_decimate_matches_scipy_decimate(x: np.ndarray, factor: int) -> None:
    got = decimate(x, factor)
    want = signal.decimate(x.astype(np.float64), factor, ftype="iir", zero_phase=True, axis=-1)
    assert got.shape == want.shape == (3, decimated_length(x.shape[1], factor))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-3)
    np.testing.assert_array_equal(pick_every(x, factor), x[:, ::factor])
    np.testing.assert_allclose(
        anti_alias_sos(factor), signal.cheby1(8, 0.05, 0.8 / factor, output="sos")
    )


@pytest.mark.parametrize(
    ("make", "args"),
    [
        (low_pass_sos, (15000.0, FS)),
        (low_pass_sos, (16000.0, FS)),
        (high_pass_sos, (0.0, FS)),
        (high_pass_sos, (-5.0, FS)),
        (high_pass_sos, (float("nan"), FS)),
        (low_pass_sos, ("750", FS)),
        (low_pass_sos, (750.0, 0.0)),
        (band_pass_sos, (6000.0, 300.0, FS)),
        (band_pass_sos, (300.0, 300.0, FS)),
        (band_stop_sos, (300.0, 15000.0, FS)),
        (notch_sos, (50.0, -2.0, FS)),
        (notch_sos, (50.0, 0.0, FS)),
        (notch_sos, (15000.0, 2.0, FS)),
        (anti_alias_sos, (1,)),
        (anti_alias_sos, (2.5,)),
        (anti_alias_sos, (True,)),
        (butterworth_sos, ("lowpass", [300.0, 6000.0], FS)),
        (butterworth_sos, ("bandpass", [300.0], FS)),
        (butterworth_sos, ("notch", [50.0], FS)),
        (butterworth_sos, ("highpass", [20000.0], FS)),
    ],
)
def test_bad_designs_raise_invalid_argument(make: object, args: tuple[object, ...]) -> None:
    with pytest.raises(InvalidArgument):
        make(*args)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("btype", "edges", "order"),
    [
        ("lowpass", [750.0], 4),
        ("highpass", [20.0], 4),
        ("bandpass", [300.0, 6000.0], 2),
        ("bandstop", [750.0, 2000.0], 2),
    ],
)
def test_butterworth_sos_is_scipy_butter_with_the_documented_order(
    btype: str, edges: list[float], order: int
) -> None:
    want = signal.butter(order, edges if len(edges) > 1 else edges[0], btype, fs=FS, output="sos")
    np.testing.assert_allclose(butterworth_sos(btype, edges, FS), want)
