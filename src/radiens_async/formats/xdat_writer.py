"""XDAT writer: appends blocks to a new file set and keeps its metadata readable at all times.

Samples go through one staging buffer (sample-major, a few MiB) and leave it in large unbuffered
writes; the metadata is rewritten atomically (temp file + ``os.replace``) after the binaries it
describes, so a reader opening the set at any moment, or after the writing process was killed,
sees a consistent prefix.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat_metadata import (
    XdatChannel,
    XdatMetadata,
    XdatPaths,
    biointerface_map_json,
    status_json,
    xdat_paths,
)

__all__ = ["XdatWriter"]

_STAGING_BYTES = 4 << 20  # large writes without holding much more than a few ms of data
# Transpose tile: 64 samples x 256 channels (64 KiB) keeps numpy's strided copy in cache; about
# 1.5x faster than one whole-block copy for 1024 channels.
_TILE_SAMPLES = 64
_TILE_CHANNELS = 256


class XdatWriter:
    """Write a new XDAT file set block by block.

    Parameters
    ----------
    path_base : str or Path
        ``<dir>/<base>`` (``<dir>/<base>.xdat`` and ``<dir>/<base>.xdat.json`` are accepted too).
        The base name must be non-empty and contain no ``.`` (readers name the binaries after
        the part before the first ``.``).
    fs : float
        Sampling rate in Hz.
    channels : sequence of XdatChannel
        One per data column, in column order.
    start_time : datetime, optional
        Wall-clock time of the first sample, timezone-aware; default now (local time).
    first_sample : int
        Sample index (stream time x fs) of the first sample; ``t_range`` starts at
        ``first_sample / fs``.
    flush_interval_s : float
        The metadata is rewritten when an :meth:`append` finds that this much time has passed
        since the last rewrite. At most this much data (plus one block) is invisible to readers
        and lost if the process dies.
    extras : dict, optional
        Further metadata keys to store (see :attr:`XdatMetadata.extras`).

    Raises
    ------
    ValueError
        If the base name is empty or contains ``.``, ``fs`` is not positive, ``channels`` is
        empty, ``first_sample`` is negative or ``start_time`` is naive.
    FileNotFoundError, NotADirectoryError, PermissionError
        If the directory does not exist, is not a directory, or is not writable.
    FileExistsError
        If any file of the set already exists (a recording is never overwritten).

    Notes
    -----
    Nothing is created when the constructor raises. Values are stored as given (already scaled):
    amplifier channels in µV, analog in in V, digital in/out as 0/1.

    Samples are contiguous: :meth:`append` refuses a block whose ``first_sample`` is not the
    next expected index, so a recording can never hide a gap or an overlap.

    Not thread-safe: call it from one thread (a recorder thread fed by a queue, so acquisition
    never waits on the disk).

    Examples
    --------
    >>> chans = [XdatChannel(name=f"A-{i:03d}", ntv_name=f"A-{i:03d}", signal_type="amp",
    ...                      ntv_idx=i, sys_idx=i) for i in range(32)]
    >>> with XdatWriter("/tmp/rec/allego_0", 30000.0, chans) as w:  # doctest: +SKIP
    ...     w.append(np.zeros((32, 300), np.float32))
    ...     w.n_samples
    300
    """

    def __init__(
        self,
        path_base: str | Path,
        fs: float,
        channels: Sequence[XdatChannel],
        start_time: datetime | None = None,
        first_sample: int = 0,
        *,
        flush_interval_s: float = 1.0,
        extras: dict[str, Any] | None = None,
    ) -> None:
        if (
            isinstance(fs, bool)
            or not isinstance(fs, int | float)
            or not (math.isfinite(fs) and fs > 0)
        ):
            raise ValueError(f"fs must be a positive number of Hz, not {fs!r}")
        channels = list(channels)
        if not channels or not all(isinstance(ch, XdatChannel) for ch in channels):
            raise ValueError("channels must be a non-empty sequence of XdatChannel")
        if isinstance(first_sample, bool) or not isinstance(first_sample, int) or first_sample < 0:
            raise ValueError(f"first_sample must be a non-negative int, not {first_sample!r}")
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be positive, not {flush_interval_s!r}")
        if start_time is None:
            start_time = datetime.now().astimezone()
        elif start_time.tzinfo is None or start_time.utcoffset() is None:
            raise ValueError("start_time must be timezone-aware")
        self.paths: XdatPaths = _check_target(path_base)

        self._fs = float(fs)
        self._channels = channels
        self._n_ch = len(channels)
        self._start_time = start_time
        self._first = first_sample
        self._flush_interval = flush_interval_s
        self._extras = dict(extras or {})
        self._bmap = biointerface_map_json(channels)
        # validates the whole description once, before anything is created
        self._metadata_for(0)

        cap = max(1, _STAGING_BYTES // (4 * self._n_ch))
        self._stage = np.empty((cap, self._n_ch), np.float32)
        self._stage_ts = np.empty(cap, np.int64)
        self._ramp = np.arange(cap, dtype=np.int64)
        self._staged = 0  # samples in the staging buffer
        self._written = 0  # samples handed to the OS
        self._described = -1  # n_samples in the metadata file on disk

        self._data_file: BinaryIO | None = None
        self._ts_file: BinaryIO | None = None
        created: list[Path] = []
        try:
            for attr, path in (("_data_file", self.paths.data), ("_ts_file", self.paths.timestamp)):
                setattr(self, attr, open(path, "xb", buffering=0))  # noqa: SIM115 - closed in close()
                created.append(path)
            if self.paths.json.exists():
                raise FileExistsError(f"{self.paths.json} already exists; not overwriting it")
            self._write_metadata()
            created.append(self.paths.json)
        except BaseException:
            for f in (self._data_file, self._ts_file):
                if f is not None:
                    f.close()
            for path in created:
                path.unlink(missing_ok=True)
            self._data_file = self._ts_file = None
            raise
        self._last_meta = time.monotonic()

    # ---------------------------------------------------------------- state
    @property
    def n_channels(self) -> int:
        """Number of channels (data columns)."""
        return self._n_ch

    @property
    def n_samples(self) -> int:
        """Samples appended so far (including those not yet written to disk)."""
        return self._written + self._staged

    @property
    def next_sample(self) -> int:
        """Sample index the next appended block must start at."""
        return self._first + self.n_samples

    @property
    def fs(self) -> float:
        """Sampling rate in Hz."""
        return self._fs

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._data_file is None

    @property
    def metadata(self) -> XdatMetadata:
        """The metadata describing every sample appended so far."""
        return self._metadata_for(self.n_samples)

    # ---------------------------------------------------------------- writing
    def append(self, block: npt.ArrayLike, first_sample: int | None = None) -> None:
        """Append a channel-major block ``(n_channels, n)``, as the hub's live stream delivers it.

        Parameters
        ----------
        block : array_like, shape (n_channels, n)
            Values already scaled (µV, V, 0/1). Converted to float32; float32 input is cheapest.
        first_sample : int, optional
            Sample index of the block's first sample. When given it must equal
            :attr:`next_sample`; the check makes a gap or overlap an error instead of a silent
            shift.

        Raises
        ------
        ValueError
            If the writer is closed, the block has the wrong shape or a non-real dtype, or
            ``first_sample`` is not :attr:`next_sample`. Nothing is written then.

        Notes
        -----
        Cost: one transposing copy into the staging buffer (about as fast as a memcpy for blocks
        of a few hundred KiB) and, every few MiB, one ``write`` per file; the metadata rewrite
        (a few ms for 1000 channels) happens at most once per ``flush_interval_s``.

        Examples
        --------
        >>> w.append(np.zeros((w.n_channels, 30), np.float32), first_sample=w.next_sample)
        ... # doctest: +SKIP
        """
        arr = self._checked(block, first_sample, channel_major=True)
        self._stage_block(arr, channel_major=True)

    def append_sample_major(self, block: npt.ArrayLike, first_sample: int | None = None) -> None:
        """Append a sample-major block ``(n, n_channels)`` (the file's layout; no transpose).

        Parameters
        ----------
        block : array_like, shape (n, n_channels)
            Values already scaled.
        first_sample : int, optional
            As in :meth:`append`.

        Raises
        ------
        ValueError
            As in :meth:`append`.

        Examples
        --------
        >>> w.append_sample_major(np.zeros((30, w.n_channels), np.float32))  # doctest: +SKIP
        """
        arr = self._checked(block, first_sample, channel_major=False)
        self._stage_block(arr, channel_major=False)

    def flush(self) -> None:
        """Write staged samples and rewrite the metadata to describe them (atomically).

        Not an ``fsync``: the data is safe from a crash of this process, not from a power cut.

        Raises
        ------
        ValueError
            If the writer is closed.

        Examples
        --------
        >>> w.flush()  # doctest: +SKIP
        """
        self._open_files()
        self._drain()
        if self._described != self._written:
            self._write_metadata()
        self._last_meta = time.monotonic()

    def close(self) -> None:
        """Flush, write the final metadata and close the files. Idempotent.

        Examples
        --------
        >>> w.close()  # doctest: +SKIP
        """
        if self._data_file is None:
            return
        try:
            self.flush()
        finally:
            for f in (self._data_file, self._ts_file):
                if f is not None:
                    f.close()
            self._data_file = self._ts_file = None

    def __enter__(self) -> XdatWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"XdatWriter({str(self.paths.json)!r}, fs={self._fs:g},"
            f" n_channels={self._n_ch}, n_samples={self.n_samples}, {state})"
        )

    # ---------------------------------------------------------------- internals
    def _open_files(self) -> tuple[BinaryIO, BinaryIO]:
        if self._data_file is None or self._ts_file is None:
            raise ValueError(f"XdatWriter({self.paths.json.name}) is closed")
        return self._data_file, self._ts_file

    def _checked(
        self, block: npt.ArrayLike, first_sample: int | None, *, channel_major: bool
    ) -> npt.NDArray[Any]:
        self._open_files()
        arr = np.asarray(block)
        axis = 0 if channel_major else 1
        if arr.ndim != 2 or arr.shape[axis] != self._n_ch:
            want = "(n_channels, n)" if channel_major else "(n, n_channels)"
            raise ValueError(
                f"block must have shape {want} with n_channels={self._n_ch}, got {arr.shape}"
            )
        if not (
            np.issubdtype(arr.dtype, np.floating)
            or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == np.bool_
        ):
            raise ValueError(f"block must hold real numbers, not {arr.dtype}")
        if first_sample is not None and first_sample != self.next_sample:
            kind = "gap" if first_sample > self.next_sample else "overlap"
            raise ValueError(
                f"block starts at sample {first_sample}, expected {self.next_sample}"
                f" ({kind} of {abs(first_sample - self.next_sample)} samples); samples must be"
                " contiguous"
            )
        return arr

    def _stage_block(self, arr: npt.NDArray[Any], *, channel_major: bool) -> None:
        n = arr.shape[1] if channel_major else arr.shape[0]
        cap = self._stage.shape[0]
        done = 0
        while done < n:
            take = min(n - done, cap - self._staged)
            lo, hi = self._staged, self._staged + take
            if channel_major:
                _transpose_into(self._stage[lo:hi], arr[:, done : done + take])
            else:
                np.copyto(self._stage[lo:hi], arr[done : done + take], casting="unsafe")
            np.add(self._ramp[:take], self._first + self.n_samples, out=self._stage_ts[lo:hi])
            self._staged = hi
            done += take
            if self._staged == cap:
                self._drain()
        if time.monotonic() - self._last_meta >= self._flush_interval:
            self.flush()

    def _drain(self) -> None:
        if not self._staged:
            return
        data_file, ts_file = self._open_files()
        _write_all(data_file, self._stage[: self._staged].data.cast("B"))
        _write_all(ts_file, self._stage_ts[: self._staged].data.cast("B"))
        self._written += self._staged
        self._staged = 0

    def _metadata_for(self, n: int) -> XdatMetadata:
        doc = self._json_for(n)
        return XdatMetadata.from_json_dict(doc, source=self.paths.json)

    def _json_for(self, n: int) -> dict[str, Any]:
        t0 = self._first / self._fs
        doc: dict[str, Any] = {
            "status": status_json(
                self._fs,
                n,
                self._n_ch,
                (t0, t0 + n / self._fs),
                (self._first, self._first + n - 1),
                self._start_time,
            ),
            "sapiens_base": {"biointerface_map": self._bmap},
        }
        for key, value in self._extras.items():
            if key in doc and isinstance(value, dict):
                doc[key] = {**value, **doc[key]}
            else:
                doc.setdefault(key, value)
        return doc

    def _write_metadata(self) -> None:
        n = self._written
        text = json.dumps(self._json_for(n), separators=(",", ":"))
        tmp = self.paths.json.with_name(f".{self.paths.json.name}.partial")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.paths.json)
        self._described = n


def _transpose_into(dst: npt.NDArray[np.float32], src: npt.NDArray[Any]) -> None:
    """``dst[...] = src.T`` tile by tile (dst is (n, n_ch), src is (n_ch, n))."""
    n_ch, n = src.shape
    for s in range(0, n, _TILE_SAMPLES):
        d = dst[s : s + _TILE_SAMPLES]
        part = src[:, s : s + _TILE_SAMPLES]
        for c in range(0, n_ch, _TILE_CHANNELS):
            np.copyto(
                d[:, c : c + _TILE_CHANNELS], part[c : c + _TILE_CHANNELS].T, casting="unsafe"
            )


def _write_all(f: BinaryIO, view: memoryview) -> None:
    while view:
        written = f.write(view)
        if written is None:  # non-blocking file: cannot happen for regular files
            continue
        view = view[written:]


def _check_target(path_base: str | Path) -> XdatPaths:
    if str(path_base).endswith(("/", os.sep)) or Path(path_base).is_dir():
        raise ValueError(f"{str(path_base)!r} is a directory: the XDAT base name is empty")
    paths = xdat_paths(path_base)
    stem = paths.json.name[: -len(".xdat.json")]
    if "." in stem:
        raise ValueError(f"XDAT base name {stem!r} must not contain '.'")
    directory = paths.json.parent
    if not directory.exists():
        raise FileNotFoundError(f"directory {directory} does not exist")
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"directory {directory} is not writable")
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} already exists; an XDAT set is never overwritten")
    return paths
