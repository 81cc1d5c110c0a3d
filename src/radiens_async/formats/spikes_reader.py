"""``.spikes`` reader: memory-maps a set and selects spikes by time, channel and label.

The reader trusts ``n_spikes`` in the metadata and ignores bytes beyond it, so a set that is still
being written (or whose writer was killed) opens with the spikes the last metadata rewrite
describes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from radiens_async.errors import FormatError
from radiens_async.formats.spikes_metadata import (
    BINARY_DTYPES,
    SpikesFileMetadata,
    SpikesPaths,
    load_spikes_metadata,
    spikes_paths,
)

__all__ = ["ChannelFilter", "SpikesReader", "TimeRange"]

#: ``(t_start, t_stop)`` in seconds of stream time.
TimeRange = tuple[float, float] | list[float]
#: Native (ntv) channel indices: one int or several.
ChannelFilter = int | Iterable[int] | npt.NDArray[np.integer[Any]] | None

# Timestamps are checked for order in chunks of this many spikes when a set is opened.
_CHECK_CHUNK = 1 << 20


class SpikesReader:
    """Read a ``.spikes`` set without loading it into memory.

    Parameters
    ----------
    path : str or Path
        ``<dir>/<base>.spikes.json``, ``<dir>/<base>.spikes``, ``<dir>/<base>`` or the
        recording's ``<dir>/<base>.xdat`` (see :func:`spikes_paths`).

    Raises
    ------
    FormatError
        If the metadata file is missing, not JSON, or has a missing, mistyped or inconsistent
        key; if a binary is missing or shorter than ``n_spikes`` needs; or if the timestamps
        decrease or disagree with ``timestamp_range``.

    Notes
    -----
    Selections take ``time_range`` in seconds of stream time (spike ``s`` is at ``s / fs``; the
    window is ``[round(t_start * fs), round(t_stop * fs))`` in samples) and ``channels`` as
    native (ntv) channel indices. Results are in file order, i.e. by non-decreasing sample index.

    Examples
    --------
    >>> with SpikesReader("/data/allego_0.xdat") as spikes:  # doctest: +SKIP
    ...     ts = spikes.timestamps(time_range=(0.0, 1.0), channels=[3, 4], labeled_only=True)
    ...     wf = spikes.waveforms(channels=3, max_per_channel=100)
    ...     wf.shape
    (100, 60)
    """

    def __init__(self, path: str | Path) -> None:
        self.paths: SpikesPaths = spikes_paths(path)
        self._metadata = load_spikes_metadata(self.paths.json)
        md = self._metadata
        n, n_pts = md.n_spikes, md.n_pts
        arrays: list[npt.NDArray[Any]] = []
        for tag, path_ in zip(BINARY_DTYPES, self.paths[1:], strict=True):
            dtype = BINARY_DTYPES[tag]
            shape = (n, n_pts) if tag == "waveform" else (n,)
            need = int(np.prod(shape, dtype=object)) * dtype.itemsize
            _check_size(path_, need, tag, md)
            if n == 0:
                arrays.append(np.empty(shape, dtype))
                continue
            try:
                arrays.append(np.memmap(path_, dtype, "r", shape=shape))
            except (OSError, ValueError) as exc:
                raise FormatError(f"{path_}: cannot map the {tag} file ({exc})") from exc
        self._arrays: tuple[npt.NDArray[Any], ...] | None = tuple(arrays)
        if n:
            self._check_timestamps(arrays[0])

    # ---------------------------------------------------------------- properties
    @property
    def metadata(self) -> SpikesFileMetadata:
        """The parsed ``.spikes.json``."""
        return self._metadata

    @property
    def fs(self) -> float:
        """Sampling rate in Hz."""
        return self._metadata.fs

    @property
    def n_spikes(self) -> int:
        """Number of spikes in the set."""
        return self._metadata.n_spikes

    @property
    def n_pts(self) -> int:
        """Points per waveform."""
        return self._metadata.n_pts

    @property
    def pre_pts(self) -> int:
        """Points of each waveform before the spike's sample index."""
        return self._metadata.pre_pts

    @property
    def time_range(self) -> tuple[float, float]:
        """``[t_start, t_stop]`` in seconds: the span that was searched for spikes."""
        return self._metadata.time_range

    @property
    def labels(self) -> npt.NDArray[np.int32]:
        """Unit label of every spike, 0 = unlabeled (read-only memory map)."""
        return self._mapped()[2]

    @property
    def channels(self) -> npt.NDArray[np.int32]:
        """Native (ntv) channel index of every spike (read-only memory map)."""
        return self._mapped()[1]

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._arrays is None

    # ---------------------------------------------------------------- selection
    def select(
        self,
        time_range: TimeRange | None = None,
        channels: ChannelFilter = None,
        *,
        labeled_only: bool = False,
        max_per_channel: int | None = None,
    ) -> npt.NDArray[np.intp]:
        """Return the positions (in file order) of the spikes that match every filter.

        Parameters
        ----------
        time_range : tuple of float, optional
            ``(t_start, t_stop)`` in seconds of stream time, half-open; default all.
        channels : int or iterable of int, optional
            Native channel indices; default all.
        labeled_only : bool
            Keep only spikes with a non-zero label.
        max_per_channel : int, optional
            Keep at most this many spikes per channel (the earliest ones).

        Returns
        -------
        ndarray of intp
            Increasing spike positions.

        Raises
        ------
        ValueError
            If the reader is closed, ``time_range`` is not two finite, ordered numbers, a
            channel is not an integer, or ``max_per_channel`` is negative.

        Examples
        --------
        >>> spikes.select((1.0, 2.0), channels=[0, 1], labeled_only=True)  # doctest: +SKIP
        array([ 17,  18,  25])
        """
        sel = self._selection(time_range, channels, labeled_only, max_per_channel)
        if isinstance(sel, slice):
            return np.arange(sel.start, sel.stop, dtype=np.intp)
        return sel

    def timestamps(
        self,
        time_range: TimeRange | None = None,
        channels: ChannelFilter = None,
        labeled_only: bool = False,
    ) -> npt.NDArray[np.int64]:
        """Return the sample index of the selected spikes.

        Parameters
        ----------
        time_range, channels, labeled_only
            As in :meth:`select`.

        Returns
        -------
        ndarray of int64
            A new array, non-decreasing.

        Raises
        ------
        ValueError
            As in :meth:`select`.

        Examples
        --------
        >>> spikes.timestamps(time_range=(0.0, 0.5), channels=3)  # doctest: +SKIP
        array([ 1201,  9044, 13377])
        """
        ts = self._mapped()[0]
        sel = self._selection(time_range, channels, labeled_only, None)
        return np.array(ts[sel], dtype=np.int64)

    def waveforms(
        self,
        time_range: TimeRange | None = None,
        channels: ChannelFilter = None,
        max_per_channel: int | None = None,
        *,
        labeled_only: bool = False,
    ) -> npt.NDArray[np.float32]:
        """Return the waveforms of the selected spikes.

        Parameters
        ----------
        time_range, channels, max_per_channel, labeled_only
            As in :meth:`select`.

        Returns
        -------
        ndarray of float32, shape (total_spikes, n_pts)
            µV, one row per spike in file order (a new array).

        Raises
        ------
        ValueError
            As in :meth:`select`.

        Examples
        --------
        >>> spikes.waveforms(max_per_channel=1000).shape  # doctest: +SKIP
        (5210, 60)
        """
        wf = self._mapped()[3]
        sel = self._selection(time_range, channels, labeled_only, max_per_channel)
        return np.array(wf[sel], dtype=np.float32)

    def spike_timestamps_table(
        self, time_range: TimeRange | None = None, channels: ChannelFilter = None
    ) -> dict[str, npt.NDArray[Any]]:
        """Return labeled spikes as ``get_spike_timestamps`` documents them.

        Parameters
        ----------
        time_range, channels
            As in :meth:`select`.

        Returns
        -------
        dict
            ``{'timestamps': float64[N], 'labels': int32[N], 'dset_idxs': int32[N]}``: one entry
            per labeled spike (each spike has one, primary, site), in file order. Timestamps are
            sample indices; ``dset_idxs`` is the dataset index of the spike's channel, taken from
            the metadata's channel table (the ntv index when the channel is not in it).

        Raises
        ------
        ValueError
            As in :meth:`select`.

        Examples
        --------
        >>> table = spikes.spike_timestamps_table()  # doctest: +SKIP
        >>> table["timestamps"].dtype, table["labels"].dtype, table["dset_idxs"].dtype
        ... # doctest: +SKIP
        (dtype('float64'), dtype('int32'), dtype('int32'))
        """
        ts, ch, lab, _ = self._mapped()
        sel = self._selection(time_range, channels, True, None)
        return {
            "timestamps": np.array(ts[sel], dtype=np.float64),
            "labels": np.array(lab[sel], dtype=np.int32),
            "dset_idxs": self._dset_idxs(np.asarray(ch[sel])),
        }

    def _selection(
        self,
        time_range: TimeRange | None,
        channels: ChannelFilter,
        labeled_only: bool,
        max_per_channel: int | None,
    ) -> slice | npt.NDArray[np.intp]:
        ts, ch, lab, _ = self._mapped()
        i0, i1 = 0, self._metadata.n_spikes
        if time_range is not None:
            s0, s1 = self._sample_window(time_range)
            i0 = int(np.searchsorted(ts, s0, side="left"))
            i1 = max(i0, int(np.searchsorted(ts, s1, side="left")))
        wanted = None if channels is None else _channel_list(channels)
        if max_per_channel is not None and (
            isinstance(max_per_channel, bool)
            or not isinstance(max_per_channel, int | np.integer)
            or max_per_channel < 0
        ):
            raise ValueError(
                f"max_per_channel must be a non-negative int or None, not {max_per_channel!r}"
            )
        if wanted is None and not labeled_only and max_per_channel is None:
            return slice(i0, i1)
        keep = np.ones(i1 - i0, dtype=bool)
        if wanted is not None:
            keep &= np.isin(ch[i0:i1], wanted)
        if labeled_only:
            keep &= lab[i0:i1] != 0
        idx = np.flatnonzero(keep) + i0
        if max_per_channel is not None:
            idx = idx[_first_per_group(np.asarray(ch[idx]), int(max_per_channel))]
        return idx.astype(np.intp, copy=False)

    def _sample_window(self, time_range: TimeRange) -> tuple[int, int]:
        try:
            t0, t1 = (float(t) for t in time_range)
            s0, s1 = round(t0 * self.fs), round(t1 * self.fs)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(
                f"time_range must be two finite numbers (t_start, t_stop), not {time_range!r}"
            ) from None
        if s1 < s0:
            raise ValueError(f"time_range {list(time_range)} has t_stop < t_start")
        return s0, s1

    def _dset_idxs(self, ch: npt.NDArray[Any]) -> npt.NDArray[np.int32]:
        table = [c for c in self._metadata.channels if c.dset_idx is not None]
        out = ch.astype(np.int32)
        if not table or not out.size:
            return out
        ntv = np.array([c.ntv_idx for c in table], np.int64)
        dset = np.array([c.dset_idx for c in table], np.int32)
        order = np.argsort(ntv)
        ntv, dset = ntv[order], dset[order]
        pos = np.clip(np.searchsorted(ntv, ch), 0, ntv.size - 1)
        hit = ntv[pos] == ch
        out[hit] = dset[pos[hit]]
        return out

    def _mapped(self) -> tuple[npt.NDArray[Any], ...]:
        if self._arrays is None:
            raise ValueError(f"SpikesReader({self.paths.json.name}) is closed")
        return self._arrays

    def _check_timestamps(self, ts: npt.NDArray[np.int64]) -> None:
        md = self._metadata
        assert md.timestamp_range is not None  # n_spikes > 0, checked by the model
        first, last = int(ts[0]), int(ts[-1])
        if (first, last) != md.timestamp_range:
            raise FormatError(
                f"{self.paths.timestamp}: holds sample indices {first}..{last} but"
                f" {self.paths.json.name} says timestamp_range = {list(md.timestamp_range)}"
            )
        for start in range(0, ts.shape[0], _CHECK_CHUNK):
            chunk = ts[start : start + _CHECK_CHUNK + 1]
            bad = np.flatnonzero(np.diff(chunk) < 0)
            if bad.size:
                i = start + int(bad[0])
                raise FormatError(
                    f"{self.paths.timestamp}: sample indices decrease at spike {i + 1}"
                    f" ({int(ts[i])} then {int(ts[i + 1])})"
                )

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Release the memory maps. Arrays returned earlier stay valid (they are copies).

        Examples
        --------
        >>> spikes.close()  # doctest: +SKIP
        """
        self._arrays = None

    def __enter__(self) -> SpikesReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        md = self._metadata
        return (
            f"SpikesReader({str(self.paths.json)!r}, fs={md.fs:g}, n_spikes={md.n_spikes},"
            f" n_pts={md.n_pts})"
        )


def _channel_list(channels: int | Iterable[int] | npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    try:
        if isinstance(channels, int | np.integer | np.ndarray):
            arr = np.asarray(channels).reshape(-1)
        else:
            arr = np.asarray(list(channels)).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(
            f"channels must be native channel indices (ints), not {channels!r}"
        ) from None
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"channels must be native channel indices (ints), not {channels!r}")
    return arr.astype(np.int64)


def _first_per_group(groups: npt.NDArray[Any], cap: int) -> npt.NDArray[np.intp]:
    """Positions (increasing) of the first ``cap`` members of each group value."""
    if not groups.size:
        return np.empty(0, np.intp)
    order = np.argsort(groups, kind="stable")
    ordered = groups[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rank = np.arange(ordered.size) - np.repeat(starts, np.diff(np.r_[starts, ordered.size]))
    return np.sort(order[rank < cap])


def _check_size(path: Path, need: int, what: str, md: SpikesFileMetadata) -> None:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise FormatError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise FormatError(f"{path}: cannot stat the {what} file ({exc})") from None
    if size < need:
        raise FormatError(
            f"{path}: {what} file is truncated: {size} bytes, n_spikes={md.n_spikes}"
            f" (n_pts={md.n_pts}) needs {need}"
        )
