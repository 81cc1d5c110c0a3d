"""Sample-wise transforms the file pipeline applies to each chunk (with its margins).

A transform maps a channel-major float32 block ``(n_columns, n)`` to a block of the same shape.
Its :attr:`margin` is how many samples of context it needs on each side for the chunk's core to
equal the whole-signal result; the pipeline reads that much extra and trims it. The rows a
transform touches are fixed when it is built (filters: the analog rows, references: the
amplifier rows), so digital channels pass through untouched.

Examples
--------
>>> import numpy as np
>>> from radiens_async.dsp.filters import band_pass_sos
>>> t = SosFilter(band_pass_sos(300.0, 6000.0, 30000.0), rows=[0, 1])
>>> t.apply(np.zeros((3, 1000), np.float32)).shape
(3, 1000)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from radiens_async.dsp.filters import apply_sos, settle_samples
from radiens_async.dsp.references import (
    common_average_reference,
    paired_difference,
    virtual_reference,
)

__all__ = [
    "ChunkTransform",
    "CommonAverageReference",
    "PairedDifference",
    "SosFilter",
    "VirtualReference",
]

Block = npt.NDArray[np.float32]


class ChunkTransform(Protocol):
    """What the pipeline needs from a transform."""

    @property
    def margin(self) -> int:
        """Samples of context needed on each side of a chunk."""
        ...

    def apply(self, block: Block) -> Block:
        """Transform a channel-major block (a new array of the same shape)."""
        ...


def _contiguous(rows: Sequence[int]) -> slice | None:
    if rows and list(rows) == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return None


@dataclass(frozen=True)
class SosFilter:
    """Zero-phase IIR filter (second-order sections) of the given rows.

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        The filter design.
    rows : sequence of int
        Rows to filter (the analog channels); the others are copied.
    """

    sos: npt.NDArray[np.float64]
    rows: Sequence[int]
    _margin: int = field(init=False, default=0)
    # the rows as a slice when they are contiguous (a view, no gather/scatter copies)
    _select: slice | list[int] = field(init=False, repr=False, compare=False, default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_margin", settle_samples(self.sos))
        rows = list(self.rows)
        object.__setattr__(self, "_select", _contiguous(rows) or rows)

    @property
    def margin(self) -> int:
        return self._margin

    @property
    def min_samples(self) -> int:
        """Shortest signal the zero-phase filter can run on (longer than sosfiltfilt's
        edge padding)."""
        return 3 * (2 * len(self.sos) + 1) + 1

    def apply(self, block: Block) -> Block:
        select = self._select
        if isinstance(select, list) and not select:
            return block
        if select == slice(0, block.shape[0]):
            return apply_sos(self.sos, block).astype(np.float32)
        out = np.array(block, dtype=np.float32, copy=True)
        out[select] = apply_sos(self.sos, block[select])  # cast to float32 on assignment
        return out


@dataclass(frozen=True)
class CommonAverageReference:
    """Each of ``rows`` minus their per-sample mean (the amplifier channels)."""

    rows: Sequence[int]
    margin: int = 0

    def apply(self, block: Block) -> Block:
        return common_average_reference(block, list(self.rows))


@dataclass(frozen=True)
class PairedDifference:
    """Row ``source_row`` becomes source minus reference; ``ref_row`` is zeroed."""

    source_row: int
    ref_row: int
    margin: int = 0

    def apply(self, block: Block) -> Block:
        return paired_difference(block, self.source_row, self.ref_row)


@dataclass(frozen=True)
class VirtualReference:
    """Each of ``rows`` minus ``ref_row``; ``ref_row`` is zeroed."""

    ref_row: int
    rows: Sequence[int]
    margin: int = 0

    def apply(self, block: Block) -> Block:
        return virtual_reference(block, self.ref_row, list(self.rows))
