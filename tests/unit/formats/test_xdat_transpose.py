"""Both transpose kernels give numpy's bits; the writer's output does not depend on the kernel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdat_fixtures import FS, make_channels, random_signals

from radiens_async.formats import xdat_transpose
from radiens_async.formats.xdat import XdatWriter, xdat_paths
from radiens_async.formats.xdat_transpose import select_kernel, transpose_into

KERNELS = ["numpy", "openblas"]


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest) -> Iterator[str]:
    try:
        select_kernel(request.param)
    except RuntimeError:
        pytest.skip("numpy's bundled OpenBLAS is not available here")
    yield request.param
    select_kernel(None)


@settings(max_examples=150, deadline=None)
@given(
    n_ch=st.integers(1, 300),
    n=st.integers(0, 150),
    row_pad=st.integers(0, 5),
    col_step=st.sampled_from([1, 1, 1, 2, -1]),
    dtype=st.sampled_from(["<f4", "<f4", "<f4", ">f4", "<f8", "<i2", "|b1"]),
    dst_pad=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_transpose_matches_numpy(
    n_ch: int, n: int, row_pad: int, col_step: int, dtype: str, dst_pad: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, (n_ch, (n + row_pad) * abs(col_step)), dtype=np.uint32)
    exponent = (bits >> 23) & 0xFF
    bits[(exponent == 0xFF) & (bits & 0x400000 == 0) & (bits & 0x7FFFFF != 0)] |= 0x400000
    with np.errstate(invalid="ignore"):  # NaN and inf cast to integers
        full = bits.view(np.float32).astype(dtype)
    src = full[:, ::col_step][:, :n]
    out_full = np.full((n, n_ch + dst_pad), 5.0, np.float32)
    for name in KERNELS:
        try:
            select_kernel(name)  # type: ignore[arg-type]
        except RuntimeError:
            continue
        try:
            out_full[:] = 5.0
            transpose_into(out_full[:, :n_ch], src)
        finally:
            select_kernel(None)
        expect = src.T.astype(np.float32)
        assert np.array_equal(out_full[:, :n_ch].view(np.uint32), expect.view(np.uint32)), name
        assert np.all(out_full[:, n_ch:] == 5.0)


def test_special_values_keep_their_bits(kernel: str) -> None:
    special = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-40, 3.4e38, -1.5], np.float32
    )
    src = np.resize(special, (64, 33))
    dst = np.empty((33, 64), np.float32)
    transpose_into(dst, src)
    assert np.array_equal(dst.view(np.uint32), src.T.view(np.uint32))


def test_writer_output_does_not_depend_on_the_kernel(tmp_path: Path) -> None:
    chans = make_channels(40, 1, 1, 1)
    data = random_signals(chans, 20_000, seed=9)
    files = []
    for name in KERNELS:
        try:
            select_kernel(name)  # type: ignore[arg-type]
        except RuntimeError:
            continue
        try:
            with XdatWriter(tmp_path / f"k{name}_0", FS, chans) as writer:
                for i in range(0, 20_000, 333):
                    writer.append(data[:, i : i + 333])
        finally:
            select_kernel(None)
        files.append(xdat_paths(tmp_path / f"k{name}_0").data.read_bytes())
    assert files[0] == np.ascontiguousarray(data.T).tobytes()
    assert all(f == files[0] for f in files)


def test_select_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_kernel("numpy") == "numpy"
    with pytest.raises(ValueError, match="kernel must be"):
        select_kernel("fortran")  # type: ignore[arg-type]
    monkeypatch.setenv("RADIENS_XDAT_TRANSPOSE", "numpy")
    assert select_kernel() == "numpy"
    monkeypatch.delenv("RADIENS_XDAT_TRANSPOSE")
    assert select_kernel() in ("openblas", "numpy")
    monkeypatch.setattr(xdat_transpose, "_somatcopy", None)
    monkeypatch.setattr(xdat_transpose, "_searched", True)
    assert select_kernel() == "numpy"
    with pytest.raises(RuntimeError, match="not available"):
        select_kernel("openblas")
    monkeypatch.undo()
    select_kernel(None)


def test_a_kernel_that_fails_the_self_test_is_not_used() -> None:
    def wrong(*args: object) -> None:
        return None  # leaves the output untouched

    def raises(*args: object) -> None:
        raise OSError("boom")

    assert not xdat_transpose._self_test(wrong)
    assert not xdat_transpose._self_test(raises)
