"""Transpose channel-major float32 blocks into the sample-major XDAT layout, fast.

numpy has no vectorised transpose: ``dst[...] = src.T`` runs a scalar strided loop (3-6 GB/s on
the development machine), about as slow as the ``write`` it feeds. OpenBLAS's ``somatcopy``
transposes with SIMD (5-13 GB/s there, with a few µs of ctypes overhead per call), and numpy's
own wheels ship OpenBLAS (``numpy.libs/libscipy_openblas64_*``). When
that library is found and passes a bit-for-bit self-test, :func:`transpose_into` calls it through
ctypes (which releases the GIL); otherwise it falls back to a tiled numpy copy. Both give the same
bits, with one exception: ``somatcopy`` multiplies by 1.0, which turns a *signalling* NaN into the
quiet NaN with the same payload (numpy and acquisition hardware never produce signalling NaNs).

Set ``RADIENS_XDAT_TRANSPOSE=numpy`` in the environment to disable the OpenBLAS kernel.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["TransposeKernel", "select_kernel", "transpose_into"]

TransposeKernel = Literal["openblas", "numpy"]

# Tile of the numpy fallback: 64 samples x 256 channels (64 KiB) keeps the strided copy in
# cache; about 1.3x faster than one whole-block copy for 1024 channels.
_TILE_SAMPLES = 64
_TILE_CHANNELS = 256
_FLOAT32 = np.dtype("=f4")  # native byte order only
# cblas enums
_ROW_MAJOR = 101
_TRANS = 112

_Somatcopy = Callable[..., None]
_somatcopy: _Somatcopy | None = None
_searched = False  # whether _load_somatcopy() ran
_kernel: TransposeKernel | None = None  # chosen on first use


def transpose_into(dst: npt.NDArray[np.float32], src: npt.NDArray[Any]) -> None:
    """Copy ``src.T`` into ``dst``.

    Parameters
    ----------
    dst : ndarray of float32, shape (n, n_channels)
        For example a slice of a staging buffer.
    src : ndarray, shape (n_channels, n)
        Any real dtype and strides. The fast path needs native float32 for both and contiguous
        rows (``strides[1] == 4``); anything else is copied by numpy, with casting.

    Examples
    --------
    >>> src = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> dst = np.empty((3, 2), np.float32)
    >>> transpose_into(dst, src)
    >>> dst.tolist()
    [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    """
    n_ch, n = src.shape
    if (
        (_kernel or select_kernel()) == "openblas"
        and src.dtype == _FLOAT32
        and dst.dtype == _FLOAT32
        and dst.flags.writeable
        and n_ch
        and n
        and src.strides[1] == 4
        and dst.strides[1] == 4
        and src.strides[0] % 4 == 0
        and dst.strides[0] % 4 == 0
        and src.strides[0] >= 4 * n
        and dst.strides[0] >= 4 * n_ch
    ):
        assert _somatcopy is not None
        # ndarray.ctypes.data is the cheapest way to the data pointer (about 1 us)
        _somatcopy(
            _ROW_MAJOR,
            _TRANS,
            n_ch,
            n,
            1.0,
            src.ctypes.data,
            src.strides[0] // 4,
            dst.ctypes.data,
            dst.strides[0] // 4,
        )
        return
    _transpose_tiled(dst, src)


def select_kernel(kernel: TransposeKernel | None = None) -> TransposeKernel:
    """Choose the transpose kernel: ``None`` picks the fastest that passes the self-test.

    Parameters
    ----------
    kernel : {'openblas', 'numpy'}, optional
        Force a kernel (tests and benchmarks compare them). ``'openblas'`` raises
        :class:`RuntimeError` when the OpenBLAS kernel is not available.

    Returns
    -------
    {'openblas', 'numpy'}
        The kernel now in use.

    Examples
    --------
    >>> select_kernel("numpy")
    'numpy'
    >>> select_kernel() in ("openblas", "numpy")
    True
    """
    global _kernel, _somatcopy, _searched
    if kernel not in (None, "openblas", "numpy"):
        raise ValueError(f"kernel must be 'openblas', 'numpy' or None, not {kernel!r}")
    if kernel is None and os.environ.get("RADIENS_XDAT_TRANSPOSE", "") == "numpy":
        kernel = "numpy"
    if kernel != "numpy" and not _searched:
        _somatcopy = _load_somatcopy()
        _searched = True
    if kernel == "openblas" and _somatcopy is None:
        raise RuntimeError(
            "the OpenBLAS transpose kernel (numpy's bundled OpenBLAS) is not available"
        )
    _kernel = "numpy" if kernel == "numpy" or _somatcopy is None else "openblas"
    return _kernel


def _transpose_tiled(dst: npt.NDArray[np.float32], src: npt.NDArray[Any]) -> None:
    n_ch, n = src.shape
    for s in range(0, n, _TILE_SAMPLES):
        d = dst[s : s + _TILE_SAMPLES]
        part = src[:, s : s + _TILE_SAMPLES]
        for c in range(0, n_ch, _TILE_CHANNELS):
            np.copyto(
                d[:, c : c + _TILE_CHANNELS], part[c : c + _TILE_CHANNELS].T, casting="unsafe"
            )


def _load_somatcopy() -> _Somatcopy | None:
    """numpy's bundled OpenBLAS ``cblas_somatcopy`` (64-bit integers), if it is sound."""
    package = Path(np.__file__).resolve().parent
    candidates = sorted(package.parent.glob("numpy.libs/libscipy_openblas64_*")) + sorted(
        package.glob(".dylibs/libscipy_openblas64_*")
    )
    for path in candidates:
        try:
            fn = ctypes.CDLL(str(path)).scipy_cblas_somatcopy64_
        except (OSError, AttributeError):
            continue
        fn.restype = None
        fn.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int64,
            ctypes.c_int64,
            ctypes.c_float,
            ctypes.c_void_p,
            ctypes.c_int64,
            ctypes.c_void_p,
            ctypes.c_int64,
        ]
        if _self_test(fn):
            return fn
    return None


def _self_test(fn: _Somatcopy) -> bool:
    """True when ``fn`` transposes bit for bit like numpy, strided operands included."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, (40, 77), dtype=np.uint32)
    exponent = (bits >> 23) & 0xFF
    signalling = (exponent == 0xFF) & (bits & 0x7FFFFF != 0) & (bits & 0x400000 == 0)
    bits[signalling] |= 0x400000  # only quiet NaNs: somatcopy quiets signalling ones
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-40], np.float32)
    bits[0, : special.size] = special.view(np.uint32)
    src = bits.view(np.float32)[3:37, 5:70]  # strided rows, as a slice of a larger block
    dst_full = np.full((80, 50), -1.0, np.float32)
    dst = dst_full[2:67, 1:35]
    try:
        fn(
            _ROW_MAJOR,
            _TRANS,
            src.shape[0],
            src.shape[1],
            1.0,
            src.__array_interface__["data"][0],
            src.strides[0] // 4,
            dst.__array_interface__["data"][0],
            dst.strides[0] // 4,
        )
    except Exception:
        return False
    outside = np.ones(dst_full.shape, bool)
    outside[2:67, 1:35] = False
    return bool(
        np.array_equal(dst.view(np.uint32), src.T.view(np.uint32))
        and np.all(dst_full[outside] == -1.0)
    )
