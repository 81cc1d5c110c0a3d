"""One interface over a linked dataset and the live Allego cache: :class:`SignalView`.

A view is a snapshot of what can be read: sample positions ``0 .. n_samples`` (position 0 is
sample index ``first_sample``, at ``t0_sec`` of stream time), the channels in data-column order,
and a ``read(start, stop, columns)`` function. Signals, PSD and signal metrics work on views, so
the same code serves datasets and the live stream. :func:`resolve_window` applies the documented
time-range selector (TrsMode) and :func:`resolve_columns` the signal selector.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.formats.xdat_metadata import SignalKind, XdatChannel
from radiens_async.hub.datasets.describe import channel_metadata_of
from radiens_async.hub.datasets.source import Columns
from radiens_async.models.channel_metadata import ChannelMetadata
from radiens_async.utils.enums import TrsMode

__all__ = [
    "ALL_SITES",
    "KINDS",
    "LIVE_DATASET_ID",
    "ChannelPick",
    "LiveCacheAdapter",
    "LocalFile",
    "SignalView",
    "resolve_columns",
    "resolve_window",
]

LIVE_DATASET_ID = "Live Signals"
KINDS: tuple[SignalKind, ...] = ("amp", "ain", "din", "dout")
ALL_SITES, SELECTED_SITES = -2, -3
_DECIMALS = 6  # seconds x fs is rounded to this many decimals before truncation


@dataclass(frozen=True)
class LocalFile:
    """Where a view's samples lie on disk: a headerless float32 ``(n_rows, n_cols)`` file whose
    row 0 is position 0 (an XDAT data file); lets a client on the same machine map it.
    ``file_size`` and ``mtime_ns`` identify the version of the file the view describes."""

    path: str
    n_rows: int
    n_cols: int
    file_size: int
    mtime_ns: int


@dataclass(frozen=True)
class SignalView:
    """Readable samples of a dataset or of the live cache (see the module docstring)."""

    dataset_id: str
    fs: float
    first_sample: int
    n_samples: int
    t0_sec: float
    channels: list[XdatChannel]
    channel_metadata: ChannelMetadata
    read: Callable[[int, int, Columns], npt.NDArray[np.float32]]
    walltime: datetime | None = None
    is_live: bool = False
    version: int = 0
    local_file: LocalFile | None = None

    def sec_of(self, position: int) -> float:
        """Stream time of a sample position."""
        return self.t0_sec + position / self.fs

    def describe_range(self) -> str:
        return f"[{self.sec_of(0):.6g}, {self.sec_of(self.n_samples):.6g}) s"


def resolve_window(
    view: SignalView,
    mode: TrsMode | int,
    sec: Sequence[float] = (),
    timestamp: Sequence[int] = (),
) -> tuple[int, int]:
    """Sample positions ``[p0, p1)`` selected by a time range and a TrsMode.

    Parameters
    ----------
    view : SignalView
        What is readable.
    mode : TrsMode
        SUBSET ``[start, end)``; TO_HEAD ``[start, head)``; FROM_HEAD the last ``sec[0]`` seconds.
    sec : sequence of float
        Seconds of stream time (``[start, end]``; ``[duration]`` or ``[duration, anything]``
        for FROM_HEAD). Positions are ``trunc((t - t0) * fs)``.
    timestamp : sequence of int
        Sample indices ``[start, end]``; wins over ``sec`` (not for FROM_HEAD).

    Returns
    -------
    (int, int)
        Positions, ``0 <= p0 < p1 <= n_samples``.

    Raises
    ------
    InvalidArgument
        A reversed or empty range, one outside the data, or a malformed request.
    """
    mode = TrsMode.parse(int(mode))
    n = view.n_samples
    if n == 0:
        raise FailedPrecondition(f"{view.dataset_id} holds no samples yet")

    def pos(t: float) -> int:
        if not math.isfinite(t):
            raise InvalidArgument(f"time range values must be finite, got {list(sec)}")
        return math.trunc(round((t - view.t0_sec) * view.fs, _DECIMALS))

    if mode == TrsMode.FROM_HEAD:
        if not sec:
            raise InvalidArgument("FROM_HEAD needs a duration: time_range=[duration_s, ...]")
        dur = float(sec[0])
        if not math.isfinite(dur) or dur <= 0:
            raise InvalidArgument(f"FROM_HEAD duration must be a positive number, got {dur}")
        p0, p1 = n - round(dur * view.fs), n
        if p0 < 0:
            raise InvalidArgument(
                f"the last {dur:g} s reach before the data {view.describe_range()}"
            )
        return p0, p1
    if len(timestamp) == 2:
        p0, p1 = int(timestamp[0]) - view.first_sample, int(timestamp[1]) - view.first_sample
        shown = [int(timestamp[0]) / view.fs, int(timestamp[1]) / view.fs]
    elif len(sec) >= 1 and (len(sec) == 2 or mode == TrsMode.TO_HEAD):
        p0 = pos(float(sec[0]))
        p1 = pos(float(sec[1])) if len(sec) == 2 and mode == TrsMode.SUBSET else n
        shown = [float(s) for s in sec]
    elif not sec and not timestamp:
        return 0, n
    else:
        raise InvalidArgument(
            f"time range must be [start, end], got {list(sec) or list(timestamp)}"
        )
    if mode == TrsMode.TO_HEAD:
        p1 = n
        if not 0 <= p0 < n:
            raise InvalidArgument(
                f"time range start {shown[0]} s is outside the data of {view.dataset_id}"
                f" {view.describe_range()}"
            )
    if p1 < p0:
        raise InvalidArgument(f"time range {shown} is reversed (end before start)")
    if p1 == p0:
        raise InvalidArgument(f"time range {shown} holds no samples")
    if p0 < 0 or p1 > n:
        raise InvalidArgument(
            f"time range {shown} s is outside the data of {view.dataset_id} {view.describe_range()}"
        )
    return p0, p1


@dataclass(frozen=True)
class ChannelPick:
    """Selected data columns (amp rows first, then ain, din, dout) and their metadata."""

    columns: npt.NDArray[np.intp]
    n_per_type: tuple[int, int, int, int]
    channel_metadata: ChannelMetadata
    ntv_idxs: dict[SignalKind, list[int]] = field(default_factory=dict)

    def slice_or_columns(self) -> Columns:
        c = self.columns
        if c.size and np.array_equal(c, np.arange(c[0], c[0] + c.size)):
            return slice(int(c[0]), int(c[0]) + c.size)
        return c


def resolve_columns(
    view: SignalView,
    selection: Mapping[SignalKind, Sequence[int]] | None,
    default_kinds: Sequence[SignalKind] = KINDS,
) -> ChannelPick:
    """Data columns of a signal selection (native indices per type).

    Parameters
    ----------
    view : SignalView
    selection : dict, optional
        ``{'amp': [...], 'ain': [...], ...}`` native indices; ``-2`` (all) or ``-3`` (selected)
        pick every channel of the type. None selects every channel of ``default_kinds``.
    default_kinds : sequence of str
        Signal types selected when ``selection`` is None.

    Raises
    ------
    InvalidArgument
        An index that is not a channel of its type, or an empty selection.
    """
    by_kind: dict[SignalKind, dict[int, int]] = {k: {} for k in KINDS}
    for col, ch in enumerate(view.channels):
        by_kind[ch.signal_type][_ntv(view, col)] = col
    wanted: Mapping[SignalKind, Sequence[int]] = (
        {k: [ALL_SITES] for k in default_kinds} if selection is None else selection
    )
    columns: list[int] = []
    counts: list[int] = []
    ntv_out: dict[SignalKind, list[int]] = {}
    for kind in KINDS:
        idxs = [int(i) for i in wanted.get(kind, ())]
        have = by_kind[kind]
        if any(i in (ALL_SITES, SELECTED_SITES) for i in idxs):
            picked = list(have.items())
        else:
            unknown = [i for i in idxs if i not in have]
            if unknown:
                raise InvalidArgument(
                    f"{kind} native index {unknown[:5]} is not a channel of {view.dataset_id}"
                    f" (its {kind} channels: {_span(sorted(have))})"
                )
            picked = [(i, have[i]) for i in idxs]
        ntv_out[kind] = [i for i, _ in picked]
        columns.extend(c for _, c in picked)
        counts.append(len(picked))
    if not columns:
        if selection is None:
            raise InvalidArgument(f"{view.dataset_id} has no {'/'.join(default_kinds)} channels")
        raise InvalidArgument("empty channel selection: no channel of any type was selected")
    cm = view.channel_metadata
    meta = ChannelMetadata(
        channels=tuple(cm.channels[c] for c in columns),
        fs=cm.fs,
        dataset_uid=cm.dataset_uid,
        source_label=cm.source_label,
        neighbor_max_radius_um=cm.neighbor_max_radius_um,
        sensors=cm.sensors,
    )
    return ChannelPick(
        np.asarray(columns, np.intp), (counts[0], counts[1], counts[2], counts[3]), meta, ntv_out
    )


def _ntv(view: SignalView, col: int) -> int:
    return view.channel_metadata.channels[col].ntv_key_idx


def _span(values: list[int]) -> str:
    if not values:
        return "none"
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}..{values[-1]}"
    return str(values[:8])


class LiveCacheAdapter:
    """The live Allego cache as a :class:`SignalView` (read-only; the daq code is untouched).

    Parameters
    ----------
    device : AllegoDevice
        The hub's device; its ``cache``, ``fs`` and ``layout`` are read at each snapshot.
    """

    def __init__(self, device: object) -> None:
        self.device = device
        # the channel table of the last layout seen: a layout is replaced, never mutated, so
        # it is rebuilt only when the device is reconfigured, not at every snapshot
        self._table: tuple[object, float, list[XdatChannel], ChannelMetadata] | None = None

    def _channels(self, layout: object, fs: float) -> tuple[list[XdatChannel], ChannelMetadata]:
        from radiens_async.hub.daq.allego_device import xdat_channels

        table = self._table
        if table is None or table[0] is not layout or table[1] != fs:
            channels = xdat_channels(layout)  # type: ignore[arg-type]
            meta = channel_metadata_of(channels, fs, LIVE_DATASET_ID, LIVE_DATASET_ID)
            table = self._table = (layout, fs, channels, meta)
        return table[2], table[3]

    def view(self) -> SignalView:
        """A snapshot of what the cache holds now.

        Raises
        ------
        FailedPrecondition
            When Allego is not streaming (no cache).
        """
        dev = self.device
        cache = getattr(dev, "cache", None)
        if cache is None:
            raise FailedPrecondition("Allego is not streaming: there are no live signals")
        fs = float(dev.fs)  # type: ignore[attr-defined]
        layout = dev.layout  # type: ignore[attr-defined]
        channels, channel_metadata = self._channels(layout, fs)
        oldest, head = cache.oldest, cache.head

        def read(start: int, stop: int, columns: Columns) -> npt.NDArray[np.float32]:
            rows = np.arange(cache.n_channels, dtype=np.intp)[columns]
            window = cache.read(oldest + start, oldest + stop, rows)
            if window.first_sample != oldest + start or window.n_samples != stop - start:
                raise FailedPrecondition(
                    "the live cache moved past the requested window while it was read;"
                    " ask for a more recent window"
                )
            return np.ascontiguousarray(window.data, dtype=np.float32)

        return SignalView(
            dataset_id=LIVE_DATASET_ID,
            fs=fs,
            first_sample=oldest,
            n_samples=head - oldest,
            t0_sec=oldest / fs,
            channels=channels,
            channel_metadata=channel_metadata,
            read=read,
            is_live=True,
        )
