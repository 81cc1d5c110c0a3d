"""Re-referencing of in-memory blocks (pure numpy): paired difference, virtual reference, CAR.

Blocks are channel-major ``(n_channels, n_samples)``. Each function takes the rows it applies to
(the amplifier channels, as the hub's pipeline passes them) and returns a new array; rows not
named are copied unchanged, so digital and analog-in channels pass through.

Examples
--------
>>> import numpy as np
>>> x = np.arange(12, dtype=np.float32).reshape(3, 4)
>>> common_average_reference(x)[:, 0]
array([-4.,  0.,  4.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from radiens_async.errors import InvalidArgument

__all__ = ["common_average_reference", "paired_difference", "virtual_reference"]

Block = npt.NDArray[np.float32]


def _rows(rows: Sequence[int] | None, n: int) -> npt.NDArray[np.intp]:
    if rows is None:
        return np.arange(n, dtype=np.intp)
    idx = np.asarray(rows, dtype=np.intp).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise InvalidArgument(f"row indices must be in [0, {n}), got {idx.min()}..{idx.max()}")
    return idx


def _row(name: str, row: int, n: int) -> int:
    if isinstance(row, bool) or not isinstance(row, int | np.integer) or not 0 <= row < n:
        raise InvalidArgument(f"{name} must be a row index in [0, {n}), got {row!r}")
    return int(row)


def paired_difference(block: Block, source_row: int, ref_row: int) -> Block:
    """The source row becomes ``source - reference``; the reference row is zeroed.

    Parameters
    ----------
    block : ndarray, shape (n_channels, n_samples)
        float32 samples.
    source_row, ref_row : int
        Rows of ``block``; must differ.

    Returns
    -------
    ndarray of float32
        A new array; every other row is unchanged.

    Raises
    ------
    InvalidArgument
        If a row is out of range or both rows are the same.

    Examples
    --------
    >>> import numpy as np
    >>> paired_difference(np.array([[5.0, 6.0], [1.0, 1.0]], np.float32), 0, 1)
    array([[4., 5.],
           [0., 0.]], dtype=float32)
    """
    n = block.shape[0]
    src = _row("source channel", source_row, n)
    ref = _row("reference channel", ref_row, n)
    if src == ref:
        raise InvalidArgument(f"source and reference channel are the same ({src})")
    out = np.array(block, dtype=np.float32, copy=True)
    np.subtract(block[src], block[ref], out=out[src])
    out[ref] = 0.0
    return out


def virtual_reference(block: Block, ref_row: int, rows: Sequence[int] | None = None) -> Block:
    """Every row in ``rows`` becomes ``row - reference``; the reference row is zeroed.

    Parameters
    ----------
    block : ndarray, shape (n_channels, n_samples)
        float32 samples.
    ref_row : int
        The reference row (normally one of ``rows``).
    rows : sequence of int, optional
        Rows to re-reference (default all).

    Returns
    -------
    ndarray of float32

    Raises
    ------
    InvalidArgument
        If a row is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> virtual_reference(np.array([[5.0], [1.0], [2.0]], np.float32), 1)[:, 0]
    array([4., 0., 1.], dtype=float32)
    """
    n = block.shape[0]
    ref = _row("reference channel", ref_row, n)
    idx = _rows(rows, n)
    out = np.array(block, dtype=np.float32, copy=True)
    out[idx] -= block[ref]  # ``out`` is a copy: the input's reference row stays intact
    out[ref] = 0.0
    return out


def common_average_reference(block: Block, rows: Sequence[int] | None = None) -> Block:
    """Subtract the mean of ``rows`` (per sample) from each of them.

    The documented intent: each channel minus the *mean* of the amplifier channels (the old
    client's docstring says "sum"; the newer one and the usual definition say mean).

    Parameters
    ----------
    block : ndarray, shape (n_channels, n_samples)
        float32 samples.
    rows : sequence of int, optional
        The rows that form the average and are re-referenced (default all).

    Returns
    -------
    ndarray of float32

    Raises
    ------
    InvalidArgument
        If a row is out of range or ``rows`` is empty.

    Examples
    --------
    >>> import numpy as np
    >>> common_average_reference(np.array([[1.0, 2.0], [3.0, 6.0]], np.float32))
    array([[-1., -2.],
           [ 1.,  2.]], dtype=float32)
    """
    idx = _rows(rows, block.shape[0])
    if idx.size == 0:
        raise InvalidArgument("common average reference needs at least one channel")
    out = np.array(block, dtype=np.float32, copy=True)
    if np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
        part = out[int(idx[0]) : int(idx[0]) + idx.size]  # a view: no gather/scatter copies
        part -= part.mean(axis=0, dtype=np.float64).astype(np.float32)
    else:
        out[idx] -= block[idx].mean(axis=0, dtype=np.float64).astype(np.float32)
    return out
