"""Radiens protocol live samples: ``HDSnapshot2`` <-> float32 blocks, with no per-element work.

``HDSnapshot2.sigs.{amp,ain,din,dout}`` are ``RadixMatrixBytes`` (little-endian float32,
``shape [n_channels, n_samples]``, C order); ``sigs.tR.timestamp`` holds the sample indices of
the range served ``[first, stop)``. Each matrix is read with ``np.frombuffer`` (a read-only view
on the reply's bytes); rows of several signal types are stacked only when more than one type is
asked for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import RadiensError
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.utils.constants import PRIMARY_CACHE_STREAM_GROUP_ID

__all__ = [
    "LiveBlock",
    "RowSelection",
    "radix_matrix_to_array",
    "row_selection",
    "snapshot_request",
    "snapshot_to_block",
]

_TYPE_FIELDS: Final = ("amp", "ain", "din", "dout")  # SignalType order: AMP, AIN, DIN, DOUT
_SELECTOR_FIELDS: Final = ("ampNtvIdxs", "ainNtvIdxs", "dinNtvIdxs", "doutNtvIdxs")


@dataclass(frozen=True, slots=True)
class LiveBlock:
    """Samples ``[first_sample, stop_sample)`` of the live cache, channels x samples."""

    data: npt.NDArray[np.float32]
    first_sample: int
    fs: float

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])

    @property
    def stop_sample(self) -> int:
        return self.first_sample + self.n_samples


@dataclass(frozen=True, slots=True)
class RowSelection:
    """Which channels to read, and how to order the rows the server returns.

    The server returns rows grouped by signal type (amp, ain, din, dout), each in the order of
    the ntv indices asked for; ``order`` (None: already in that order) permutes them into the
    order the caller gave (sys indices).
    """

    ntv: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]
    order: npt.NDArray[np.intp] | None = None

    @property
    def n_rows(self) -> int:
        return sum(len(n) for n in self.ntv)

    def selector(self) -> common_pb2.SigSelector:
        return common_pb2.SigSelector(
            **{field: list(n) for field, n in zip(_SELECTOR_FIELDS, self.ntv, strict=True)}
        )


def row_selection(meta: ChannelMetadata, sys_idxs: Sequence[int] = ()) -> RowSelection:
    """The rows of ``sys_idxs`` (empty: every channel in stream order).

    Raises
    ------
    KeyError
        A sys index that is not a channel of ``meta`` (the caller says which).
    """
    by_sys = {c.sys_key_idx: c for c in meta.channels}
    wanted = list(sys_idxs) if sys_idxs else sorted(by_sys)
    groups: list[list[int]] = [[], [], [], []]
    positions: list[list[int]] = [[], [], [], []]
    for pos, sys_idx in enumerate(wanted):
        ch = by_sys[sys_idx]
        groups[int(ch.chan_type)].append(ch.ntv_key_idx)
        positions[int(ch.chan_type)].append(pos)
    served = [p for group in positions for p in group]  # caller position of each served row
    order = None
    if served != list(range(len(served))):
        order = np.empty(len(served), dtype=np.intp)
        order[np.asarray(served, dtype=np.intp)] = np.arange(len(served), dtype=np.intp)
    ntv = tuple(tuple(g) for g in groups)
    return RowSelection(ntv=(ntv[0], ntv[1], ntv[2], ntv[3]), order=order)


def radix_matrix_to_array(msg: common_pb2.RadixMatrixBytes, n_rows: int) -> npt.NDArray[np.float32]:
    """A matrix as float32 ``(n_rows, n_samples)``, a read-only view on the message bytes.

    Raises
    ------
    RadiensError
        The byte count does not match the shape.
    """
    data = msg.data  # each access of a bytes field makes a new object: read it once
    shape = list(msg.shape)
    if not data:
        return np.zeros((n_rows, 0), dtype=np.float32)
    if len(shape) != 2 or len(data) != shape[0] * shape[1] * 4:
        raise RadiensError(f"malformed RadixMatrixBytes: {len(data)} bytes for shape {shape}")
    return np.frombuffer(data, dtype="<f4").reshape(shape[0], shape[1])


def snapshot_request(
    start_sample: int,
    stop_sample: int | None,
    fs: float,
    rows: RowSelection,
    *,
    early: bool = True,
) -> common_pb2.HDSnapshotRequest2:
    """A ``GetHDSnapshot2`` request of the live cache ``[start_sample, stop_sample)``.

    Ranges travel in seconds (radiens-core: the server derives samples from ``fs``); the start
    is sent half a sample early so that rounding, flooring or ceiling at the server all land on
    the wanted sample or the one before it, never after (the caller drops a repeated sample by
    the reply's timestamps; a later one would read as a gap). ``stop_sample`` None reads to the
    head (``[start, inf]``, radiens-core's to-head form). ``early=False`` asks from a quarter
    sample after ``start`` instead (for the oldest sample held, when the earlier edge is
    refused).
    """
    start_s = (start_sample + (-0.5 if early else 0.25)) / fs
    # the upper edge half a sample late: flooring lands on ``stop``, rounding on it or one
    # more (the caller keeps at most ``stop - start`` samples)
    stop_s = math.inf if stop_sample is None else (stop_sample + 0.5) / fs
    return common_pb2.HDSnapshotRequest2(
        dsourceID=PRIMARY_CACHE_STREAM_GROUP_ID,
        tR=common_pb2.TimeRange(timeRangeSec=[max(start_s, 0.0), stop_s], fs=fs),
        selMode=common_pb2.TRS_SUBSET,
        sigSel=rows.selector(),
        applyDSPstage2=False,
    )


def snapshot_to_block(msg: common_pb2.HDSnapshot2, rows: RowSelection) -> LiveBlock:
    """The samples of a ``GetHDSnapshot2`` reply, rows in the caller's order.

    The first sample is ``sigs.tR.timestamp[0]`` (else derived from ``timeRangeSec[0]``).
    """
    sigs = msg.sigs
    tr = sigs.tR
    fs = tr.fs or sigs.sG.sampFreq
    parts = [
        radix_matrix_to_array(getattr(sigs, field), len(ntv))
        for field, ntv in zip(_TYPE_FIELDS, rows.ntv, strict=True)
        if ntv
    ]
    n_samples = {p.shape[1] for p in parts}
    if len(n_samples) > 1:
        raise RadiensError(f"snapshot signal types differ in length: {sorted(n_samples)}")
    if len(parts) == 1:
        data = parts[0]
    elif parts:
        data = np.concatenate(parts, axis=0)
    else:
        data = np.zeros((0, 0), dtype=np.float32)
    if data.shape[0] != rows.n_rows:
        raise RadiensError(f"snapshot has {data.shape[0]} rows, {rows.n_rows} were asked for")
    if rows.order is not None:
        data = data[rows.order]
    if len(tr.timestamp) >= 1:
        first = int(tr.timestamp[0])
    elif len(tr.timeRangeSec) >= 1 and fs:
        first = round(tr.timeRangeSec[0] * fs)
    else:
        first = 0
    return LiveBlock(data=data, first_sample=first, fs=float(fs))
