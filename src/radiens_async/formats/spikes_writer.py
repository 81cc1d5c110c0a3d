"""``.spikes`` writer: appends batches of spikes to a new set and keeps it readable at all times.

Each :meth:`SpikesWriter.append` writes its batch straight to the four binaries (a few ``write``
calls; spikes arrive at kilobytes per second, so no staging thread is needed). The metadata is
rewritten atomically (temp file + ``os.replace``) and only after the binaries it describes, so a
reader opening the set at any moment, or after the writing process was killed, sees a consistent
prefix: the metadata never claims a spike that is not on disk.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic_core import PydanticSerializationError

from radiens_async._version import __version__
from radiens_async.formats.spikes_metadata import (
    BINARY_DTYPES,
    INT32_MAX,
    SPIKES_SUFFIX,
    SpikesChannel,
    SpikesFileMetadata,
    SpikesPaths,
    SpikesProvenance,
    SpikesUnit,
    check_channels,
    spikes_paths,
)

__all__ = ["LIVE_SORTER_PROVENANCE", "SpikesWriter"]

#: ``provenance.source`` of the sets the hub's live sorter writes.
LIVE_SORTER_PROVENANCE = "radiens-async live sorter"
_INT64_MAX = 2**63 - 1


class SpikesWriter:
    """Write a new ``.spikes`` set batch by batch.

    Parameters
    ----------
    path_base : str or Path
        ``<dir>/<base>``; ``<dir>/<base>.spikes``, ``<dir>/<base>.spikes.json`` and the
        recording's ``<dir>/<base>.xdat`` are accepted too (the set is then written next to the
        recording, under its base name). The base name must be non-empty and contain no ``.``.
    fs : float
        Sampling rate (Hz) of the recording whose sample indices the spikes carry.
    n_pts : int
        Points per waveform (>= 1).
    pre_pts : int
        Points of each waveform before the spike's sample index (``0 <= pre_pts < n_pts``).
    channels : sequence of SpikesChannel, optional
        The channels spikes may be on (with names, dataset indices and sites). When given,
        :meth:`append` refuses spikes on any other channel.
    units : sequence of SpikesUnit, optional
        The units behind the labels; can be replaced later with :meth:`set_units`.
    source_recording : str, optional
        Base name of the recording the spikes come from. Default: the base name when
        ``path_base`` names an ``.xdat`` recording, else none.
    provenance : str
        ``provenance.source`` (default :data:`LIVE_SORTER_PROVENANCE`).
    provenance_details : dict, optional
        JSON-serialisable details stored in ``provenance.details``.
    start_sample : int
        First sample index searched for spikes (``time_range`` starts at ``start_sample / fs``).
        Spikes before it are refused.
    flush_interval_s : float
        The metadata is rewritten when an :meth:`append` finds that this much time has passed
        since the last rewrite (default 0.5 s; at most 1 s).
    extras : dict, optional
        Free JSON stored as the metadata's ``extras``.

    Raises
    ------
    ValueError
        If an argument is out of range, or the base name is empty or contains ``.``.
    FileNotFoundError, NotADirectoryError, PermissionError
        If the directory does not exist, is not a directory, or is not writable.
    FileExistsError
        If any file of the set already exists (a set is never overwritten).

    Notes
    -----
    Nothing is created when the constructor raises. The writer is not thread-safe: call it from
    one thread (the hub calls it from its sorter's writer thread). There is no ``fsync``: a
    crash of the process loses at most the spikes appended within the last ``flush_interval_s``;
    a power cut may lose more.

    Examples
    --------
    >>> with SpikesWriter("/data/allego_0.xdat", 30000.0, n_pts=60, pre_pts=20) as w:
    ... # doctest: +SKIP
    ...     w.append([1200, 1530], channel=[3, 7], label=[1, 0],
    ...              waveform=np.zeros((2, 60), np.float32))
    ...     w.n_spikes
    2
    """

    def __init__(
        self,
        path_base: str | Path,
        fs: float,
        n_pts: int,
        pre_pts: int,
        *,
        channels: Sequence[SpikesChannel] | None = None,
        units: Sequence[SpikesUnit] | None = None,
        source_recording: str | None = None,
        provenance: str = LIVE_SORTER_PROVENANCE,
        provenance_details: dict[str, Any] | None = None,
        start_sample: int = 0,
        flush_interval_s: float = 0.5,
        extras: dict[str, Any] | None = None,
    ) -> None:
        if not _is_number(fs) or not (math.isfinite(fs) and fs > 0):
            raise ValueError(f"fs must be a positive number of Hz, not {fs!r}")
        if not _is_int(n_pts) or not 1 <= n_pts <= 1 << 20:
            raise ValueError(f"n_pts must be an int in [1, 2**20], not {n_pts!r}")
        if not _is_int(pre_pts) or not 0 <= pre_pts < n_pts:
            raise ValueError(f"pre_pts must be an int in [0, n_pts={n_pts}), not {pre_pts!r}")
        if not _is_int(start_sample) or not 0 <= start_sample <= _INT64_MAX:
            raise ValueError(f"start_sample must be a non-negative int, not {start_sample!r}")
        if not _is_number(flush_interval_s) or not 0 < flush_interval_s <= 1:
            raise ValueError(f"flush_interval_s must be in (0, 1] s, not {flush_interval_s!r}")
        channel_list = check_channels(channels)
        self.paths: SpikesPaths = _check_target(path_base)
        if source_recording is None and Path(path_base).name.endswith((".xdat", ".xdat.json")):
            source_recording = self.paths.json.name.split(".")[0]

        self._fs = float(fs)
        self._n_pts = int(n_pts)
        self._start = int(start_sample)
        self._stop = self._start  # one past the last sample searched
        self._flush_interval = float(flush_interval_s)
        self._known_channels = (
            np.array(sorted(ch.ntv_idx for ch in channel_list), np.int64) if channel_list else None
        )
        # validates the whole description once, before anything is created
        self._metadata = SpikesFileMetadata(
            fs=self._fs,
            n_spikes=0,
            n_pts=self._n_pts,
            pre_pts=int(pre_pts),
            time_range=(self._start / self._fs, self._start / self._fs),
            timestamp_range=None,
            source_recording=source_recording,
            provenance=SpikesProvenance(
                source=provenance,
                created=datetime.now().astimezone(),
                software=f"radiens-async {__version__}",
                details=dict(provenance_details or {}),
            ),
            channels=channel_list,
            units=_check_units(units),
            extras=dict(extras or {}),
        )
        try:
            self._metadata.to_json()
        except PydanticSerializationError as exc:
            raise ValueError(f"provenance_details and extras must be JSON data ({exc})") from None

        self._n = 0  # spikes written to every binary
        self._first: int | None = None
        self._last: int | None = None
        self._described = -1  # n_spikes of the metadata on disk
        self._meta_due = time.monotonic() + self._flush_interval
        self._closed = False
        self._error: OSError | None = None

        fds: list[int] = []
        created: list[Path] = []
        try:
            for path in self.paths[1:]:
                fds.append(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                created.append(path)
            if self.paths.json.exists():
                raise FileExistsError(f"{self.paths.json} already exists; not overwriting it")
            self._write_metadata(complete=False)
            created.append(self.paths.json)
        except BaseException:
            for fd in fds:
                os.close(fd)
            for path in created:
                path.unlink(missing_ok=True)
            raise
        self._fds = fds

    # ---------------------------------------------------------------- state
    @property
    def fs(self) -> float:
        """Sampling rate in Hz."""
        return self._fs

    @property
    def n_pts(self) -> int:
        """Points per waveform."""
        return self._n_pts

    @property
    def n_spikes(self) -> int:
        """Spikes appended so far (all of them are on disk; see :meth:`flush` for the metadata)."""
        return self._n

    @property
    def last_sample(self) -> int | None:
        """Sample index of the last spike appended (``None`` before the first)."""
        return self._last

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    @property
    def metadata(self) -> SpikesFileMetadata:
        """The metadata describing every spike appended so far."""
        return self._current(complete=self._closed and self._error is None)

    # ---------------------------------------------------------------- writing
    def append(
        self,
        sample_index: npt.ArrayLike,
        channel: npt.ArrayLike,
        label: npt.ArrayLike,
        waveform: npt.ArrayLike,
        *,
        until_sample: int | None = None,
    ) -> None:
        """Append a batch of spikes.

        Parameters
        ----------
        sample_index : array_like of int, shape (n,)
            Sample index of each spike; non-decreasing, and not before the last spike appended
            earlier (nor before ``start_sample``).
        channel : int or array_like of int, shape (n,)
            Native index of each spike's amplifier channel (a scalar applies to all).
        label : int or array_like of int, shape (n,)
            Unit label of each spike, 0 for unlabeled (a scalar applies to all).
        waveform : array_like, shape (n, n_pts)
            Waveforms in µV; stored as float32.
        until_sample : int, optional
            The sorter has searched every sample before this index: extends ``time_range`` even
            when the batch is empty. ``time_range`` never shrinks, and always covers the last
            spike.

        Raises
        ------
        ValueError
            If the writer is closed, an array has the wrong shape or dtype, the sample indices
            decrease, a channel is not among ``channels`` or a value is out of range. Nothing is
            written then.
        OSError
            If writing failed (now or in an earlier call). The set then holds the spikes
            written before the failing batch.

        Examples
        --------
        >>> w.append(np.array([30000]), channel=4, label=2,
        ...          waveform=np.zeros((1, w.n_pts), np.float32))  # doctest: +SKIP
        """
        if self._closed:
            raise ValueError(f"SpikesWriter({self.paths.json.name}) is closed")
        if self._error is not None:
            raise OSError(f"an earlier write to {self.paths.json.name} failed: {self._error}")
        ts = _int_column(sample_index, "sample_index", None)
        n = ts.shape[0]
        ch = _int_column(channel, "channel", n)
        lab = _int_column(label, "label", n)
        wf = np.asarray(waveform)
        if n == 0 and wf.size == 0:
            wf = np.empty((0, self._n_pts), np.float32)
        if wf.shape != (n, self._n_pts):
            raise ValueError(
                f"waveform must have shape (n_spikes, n_pts) = {(n, self._n_pts)}, got {wf.shape}"
            )
        if wf.dtype.kind not in "fiu":
            raise ValueError(f"waveform must hold real numbers, not {wf.dtype}")
        stop = self._checked_stop(until_sample, ts)
        if n:
            self._check_values(ts, ch, lab)
            self._write_batch(
                ts.astype(BINARY_DTYPES["timestamp"]),
                ch.astype(BINARY_DTYPES["channel"]),
                lab.astype(BINARY_DTYPES["label"]),
                np.ascontiguousarray(wf, dtype=BINARY_DTYPES["waveform"]),
            )
            if self._first is None:
                self._first = int(ts[0])
            self._last = int(ts[-1])
        self._stop = stop
        if time.monotonic() >= self._meta_due:
            self._flush_metadata()

    def relabel(self, spike_index: npt.ArrayLike, label: npt.ArrayLike) -> None:
        """Replace the labels of spikes already written (an online sorter's late decisions).

        Parameters
        ----------
        spike_index : array_like of int, shape (n,)
            Positions of the spikes in the set (0 = the first spike written), increasing.
        label : int or array_like of int, shape (n,)
            Their new unit labels (0 = unlabeled).

        Raises
        ------
        ValueError
            If the writer is closed, a position is not of a written spike or not increasing,
            or a label is out of range. Nothing is changed then.
        OSError
            If writing failed.

        Examples
        --------
        >>> w.relabel([0, 5], [2, 2])  # doctest: +SKIP
        """
        if self._closed:
            raise ValueError(f"SpikesWriter({self.paths.json.name}) is closed")
        if self._error is not None:
            raise OSError(f"an earlier write to {self.paths.json.name} failed: {self._error}")
        idx = _int_column(spike_index, "spike_index", None)
        lab = _int_column(label, "label", idx.shape[0])
        if idx.size == 0:
            return
        if int(idx[0]) < 0 or int(idx[-1]) >= self._n or (np.diff(idx) <= 0).any():
            raise ValueError(f"spike_index must increase within the {self._n} spikes written")
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi > INT32_MAX:
            raise ValueError(f"label values must be in [0, 2**31 - 1], got {lo}..{hi}")
        dtype = BINARY_DTYPES["label"]
        values = lab.astype(dtype)
        fd = self._fds[list(BINARY_DTYPES).index("label")]
        # runs of consecutive positions go out in one write each
        breaks = np.flatnonzero(np.diff(idx) != 1) + 1
        try:
            for run_idx, run_val in zip(
                np.split(idx, breaks), np.split(values, breaks), strict=True
            ):
                view = np.ascontiguousarray(run_val).data.cast("B")
                offset = int(run_idx[0]) * dtype.itemsize
                while view:
                    done = os.pwrite(fd, view, offset)
                    view, offset = view[done:], offset + done
        except OSError as exc:
            self._error = exc
            raise

    def set_units(self, units: Sequence[SpikesUnit]) -> None:
        """Replace the units table; written with the next metadata rewrite.

        Parameters
        ----------
        units : sequence of SpikesUnit

        Raises
        ------
        ValueError
            If the writer is closed or an item is not a SpikesUnit.

        Examples
        --------
        >>> w.set_units([SpikesUnit(label=1, channel=4)])  # doctest: +SKIP
        """
        if self._closed:
            raise ValueError(f"SpikesWriter({self.paths.json.name}) is closed")
        self._metadata = self._metadata.model_copy(update={"units": _check_units(units)})

    def flush(self) -> None:
        """Rewrite the metadata now (atomically) so that it describes every appended spike.

        Raises
        ------
        ValueError
            If the writer is closed.
        OSError
            If writing failed.

        Examples
        --------
        >>> w.flush()  # doctest: +SKIP
        """
        if self._closed:
            raise ValueError(f"SpikesWriter({self.paths.json.name}) is closed")
        if self._error is not None:
            raise OSError(f"an earlier write to {self.paths.json.name} failed: {self._error}")
        self._flush_metadata()

    def close(self) -> None:
        """Write the final metadata (``complete`` true) and close the files. Idempotent.

        After a failed write the final metadata describes the spikes written before the failure
        and keeps ``complete`` false.

        Raises
        ------
        OSError
            If the final metadata cannot be written (the files are closed all the same).

        Examples
        --------
        >>> w.close()  # doctest: +SKIP
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._write_metadata(complete=self._error is None)
        finally:
            for fd in self._fds:
                os.close(fd)

    def __enter__(self) -> SpikesWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"SpikesWriter({str(self.paths.json)!r}, fs={self._fs:g}, n_pts={self._n_pts},"
            f" n_spikes={self._n}, {state})"
        )

    # ---------------------------------------------------------------- internals
    def _checked_stop(self, until_sample: int | None, ts: npt.NDArray[Any]) -> int:
        stop = self._stop
        if until_sample is not None:
            if not _is_int(until_sample) or not 0 <= until_sample <= _INT64_MAX:
                raise ValueError(f"until_sample must be a non-negative int, not {until_sample!r}")
            stop = max(stop, int(until_sample))
        if ts.shape[0]:
            last = int(ts[-1])
            if last >= _INT64_MAX:
                raise ValueError(f"sample_index {last} is out of range")
            stop = max(stop, last + 1)
        return stop

    def _check_values(
        self, ts: npt.NDArray[Any], ch: npt.NDArray[Any], lab: npt.NDArray[Any]
    ) -> None:
        floor = self._start if self._last is None else self._last
        first = int(ts[0])
        if first < floor:
            what = "start_sample" if self._last is None else "the last spike appended"
            raise ValueError(
                f"sample_index {first} is before {what} ({floor}); spikes must be appended in"
                " non-decreasing sample order"
            )
        steps = np.flatnonzero(np.diff(ts) < 0)
        if steps.size:
            i = int(steps[0])
            raise ValueError(
                f"sample_index decreases within the batch ({int(ts[i])} then {int(ts[i + 1])}"
                f" at position {i + 1}); spikes must be in non-decreasing sample order"
            )
        for name, values in (("channel", ch), ("label", lab)):
            lo, hi = int(values.min()), int(values.max())
            if lo < 0 or hi > INT32_MAX:
                raise ValueError(f"{name} values must be in [0, 2**31 - 1], got {lo}..{hi}")
        if self._known_channels is not None:
            unknown = np.setdiff1d(ch, self._known_channels)
            if unknown.size:
                raise ValueError(
                    f"channel(s) {unknown[:5].tolist()} are not among the writer's channels"
                )

    def _write_batch(self, *arrays: npt.NDArray[Any]) -> None:
        try:
            for fd, arr in zip(self._fds, arrays, strict=True):
                _write_all(fd, arr.data.cast("B"))
        except OSError as exc:
            self._error = exc
            # cut every binary back to the spikes before this batch, so that they stay aligned
            for fd, dtype in zip(self._fds, BINARY_DTYPES.values(), strict=True):
                per_spike = dtype.itemsize * (self._n_pts if dtype.kind == "f" else 1)
                # if this fails too, the metadata still describes only the earlier spikes
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self._n * per_spike)
            raise OSError(
                exc.errno,
                f"writing {self.paths.json.parent / self.paths.json.name} failed ({exc}); the"
                f" set holds the {self._described} spikes its metadata describes",
            ) from exc
        self._n += arrays[0].shape[0]

    def _flush_metadata(self) -> None:
        try:
            self._write_metadata(complete=False)
        except OSError as exc:
            self._error = exc
            raise
        self._meta_due = time.monotonic() + self._flush_interval

    def _current(self, *, complete: bool) -> SpikesFileMetadata:
        fs = self._fs
        ts_range = None if self._first is None else (self._first, self._last)
        return self._metadata.model_copy(
            update={
                "n_spikes": self._n,
                "time_range": (self._start / fs, self._stop / fs),
                "timestamp_range": ts_range,
                "complete": complete,
            }
        )

    def _write_metadata(self, *, complete: bool) -> None:
        """Describe the spikes written so far; called only after they are written."""
        text = self._current(complete=complete).to_json().encode()
        tmp = self.paths.json.with_name(f".{self.paths.json.name}.partial")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(fd, memoryview(text))
        finally:
            os.close(fd)
        os.replace(tmp, self.paths.json)
        self._described = self._n


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _int_column(values: npt.ArrayLike, name: str, n: int | None) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if n is not None and arr.ndim == 0:
        arr = np.broadcast_to(arr, (n,))
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        want = "(n,)" if n is None else f"({n},) or a scalar"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.shape[0] and arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, not {arr.dtype}")
    if arr.shape[0] and arr.dtype.kind == "u" and int(arr.max()) > _INT64_MAX:
        raise ValueError(f"{name} values must fit in int64")
    return arr.astype(np.int64, copy=False) if arr.shape[0] else np.empty(0, np.int64)


def _check_units(units: Sequence[SpikesUnit] | None) -> list[SpikesUnit]:
    out = list(units or [])
    if not all(isinstance(u, SpikesUnit) for u in out):
        raise ValueError("units must be a sequence of SpikesUnit")
    return out


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


def _check_target(path_base: str | Path) -> SpikesPaths:
    if str(path_base).endswith(("/", os.sep)) or Path(path_base).is_dir():
        raise ValueError(f"{str(path_base)!r} is a directory: the spikes base name is empty")
    name = Path(path_base).name
    for suffix in (SPIKES_SUFFIX + ".json", SPIKES_SUFFIX, ".xdat.json", ".xdat"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if not name:
        raise ValueError(f"{str(path_base)!r}: the spikes base name is empty")
    if "." in name:
        raise ValueError(f"spikes base name {name!r} must not contain '.'")
    paths = spikes_paths(path_base)
    directory = paths.json.parent
    if not directory.exists():
        raise FileNotFoundError(f"directory {directory} does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"directory {directory} is not writable")
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} already exists; a spikes set is never overwritten")
    return paths
