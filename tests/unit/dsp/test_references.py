"""Re-referencing and slicing kernels against numpy, and their refusals of bad input."""

from __future__ import annotations

import numpy as np
import pytest

from radiens_async.dsp.references import (
    common_average_reference,
    paired_difference,
    virtual_reference,
)
from radiens_async.dsp.slicing import kept_columns, time_slice_samples
from radiens_async.errors import InvalidArgument


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(2).normal(0, 50, (5, 1000)).astype(np.float32)


def test_car_subtracts_the_mean_of_the_chosen_rows(x: np.ndarray) -> None:
    got = common_average_reference(x, [0, 1, 2, 3])
    want = x[:4] - x[:4].mean(axis=0, dtype=np.float64)
    np.testing.assert_allclose(got[:4], want, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(got[4], x[4])
    scattered = common_average_reference(x, [0, 2, 4])
    np.testing.assert_allclose(
        scattered[[0, 2, 4]], x[[0, 2, 4]] - x[[0, 2, 4]].mean(axis=0), rtol=0, atol=1e-4
    )
    np.testing.assert_array_equal(scattered[[1, 3]], x[[1, 3]])
    assert common_average_reference(x).mean(axis=0) == pytest.approx(0, abs=1e-4)


def test_car_takes_any_range_of_rows_as_the_same_list(x: np.ndarray) -> None:
    for rows in (range(0, 5, 2), range(4, -1, -1), range(1, 4)):
        np.testing.assert_array_equal(
            common_average_reference(x, rows), common_average_reference(x, list(rows))
        )


def test_virtual_reference_leaves_its_input_alone(x: np.ndarray) -> None:
    before = x.copy()
    virtual_reference(x, 2, [0, 1, 2, 3])
    np.testing.assert_array_equal(x, before)


def test_paired_difference_and_virtual_reference(x: np.ndarray) -> None:
    got = paired_difference(x, 3, 1)
    want = x.copy()
    want[3], want[1] = x[3] - x[1], 0.0
    np.testing.assert_array_equal(got, want)
    got = virtual_reference(x, 2, [0, 1, 2, 3])
    want = x.copy()
    want[:4] -= x[2]
    want[2] = 0.0
    np.testing.assert_array_equal(got, want)
    assert not np.shares_memory(got, x)


def test_bad_rows_are_refused(x: np.ndarray) -> None:
    with pytest.raises(InvalidArgument):
        paired_difference(x, 1, 1)
    with pytest.raises(InvalidArgument):
        paired_difference(x, 1, 9)
    with pytest.raises(InvalidArgument):
        virtual_reference(x, -1)
    with pytest.raises(InvalidArgument):
        common_average_reference(x, [])
    with pytest.raises(InvalidArgument):
        common_average_reference(x, [0, 7])


def test_time_slice_samples_uses_absolute_stream_time() -> None:
    assert time_slice_samples(1.5, 2.0, (1.0, 3.0), 1000.0, 2000) == (500, 1000)
    assert time_slice_samples(1.0, 3.0, (1.0, 3.0), 1000.0, 2000) == (0, 2000)
    for bad in [(2.0, 1.5), (0.5, 2.0), (1.5, 3.5), (1.5, 1.5), (float("nan"), 2.0)]:
        with pytest.raises(InvalidArgument):
            time_slice_samples(*bad, (1.0, 3.0), 1000.0, 2000)


def test_kept_columns_removes_listed_system_indices() -> None:
    assert kept_columns([4, 5, 6, 7], [5, 7]) == [0, 2]
    for bad in ([], [9], [5, 5], [4, 5, 6, 7], [True]):
        with pytest.raises(InvalidArgument):
            kept_columns([4, 5, 6, 7], bad)
