"""XDAT writer: appends blocks to a new file set and keeps its metadata readable at all times.

Two threads share the work. The caller's thread transposes each channel-major block into a
preallocated sample-major staging buffer (the file's layout); a full buffer goes to the writer's
own I/O thread, which writes it with one unbuffered ``write`` per file while the caller fills the
next buffer. So transposing and writing overlap, and the writer keeps pace with a plain
``file.write`` of already interleaved bytes. The I/O thread also rewrites the metadata, atomically
(temp file + ``os.replace``) and only after the binaries it describes: a reader opening the set at
any moment, or after the writing process was killed, sees a consistent prefix.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

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
from radiens_async.formats.xdat_transpose import transpose_into

__all__ = ["XdatWriter"]

# Each staging buffer holds this much (at least one sample): large enough that a write's fixed
# cost vanishes, small enough that the buffer stays in cache between the transpose that fills it
# and the write that empties it. 1 MiB x 4 kept pace with plain writes (2 MiB x 4 and 512 KiB x 8
# did as well; 4 and 8 MiB buffers were slower).
_STAGING_BYTES = 1 << 20
# Buffers in the ring: one being filled, the rest queued for or being written by the I/O thread.
# When all are queued the caller waits (back-pressure; a sample is never dropped).
_N_BUFFERS = 4
_JSON_SEPARATORS = (",", ":")
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
_clock = time.monotonic  # the metadata schedule's clock (tests replace it)

# A job for the I/O thread: (buffer or None, samples in it, file position of its first sample,
# rewrite the metadata afterwards, event to set when done or None). None stops the thread.
_Job = tuple[npt.NDArray[np.float32] | None, int, int, bool, threading.Event | None]


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
        since the last rewrite (default 0.5 s). Samples appended since then are invisible to
        readers and lost if the process dies.
    extras : dict, optional
        Further metadata keys to store (see :attr:`XdatMetadata.extras`).
    fsync : bool
        Also ``fsync`` the binaries before each metadata rewrite, and the metadata before it
        replaces the old one, so that a power cut (not only a crash of this process) loses at
        most the last ``flush_interval_s`` too. Done in the I/O thread. Default False.

    Raises
    ------
    ValueError
        If the base name is empty or contains ``.``, ``fs`` is not positive, ``channels`` is
        empty, ``first_sample`` is negative, ``start_time`` is naive or ``extras`` cannot be
        encoded as JSON.
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

    The writer starts one daemon I/O thread per set, which ends in :meth:`close`; always close
    the writer (or use it in a ``with`` block). The writer itself is not thread-safe: call it
    from one thread at a time (the hub calls it from its recorder thread, fed by a queue, so
    acquisition never waits on the disk). :meth:`append` returns once the block is copied into
    a staging buffer; it waits for the disk only when every staging buffer is queued for
    writing. An error of the I/O thread (disk full ...) is raised as :class:`OSError` by the
    next :meth:`append`, :meth:`flush` or :meth:`close`; the set on disk then holds what its
    metadata describes.

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
        flush_interval_s: float = 0.5,
        extras: dict[str, Any] | None = None,
        fsync: bool = False,
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
        if not (isinstance(flush_interval_s, int | float) and flush_interval_s > 0):
            raise ValueError(f"flush_interval_s must be positive, not {flush_interval_s!r}")
        if start_time is None:
            start_time = datetime.now().astimezone()
        elif start_time.tzinfo is None or start_time.utcoffset() is None:
            raise ValueError("start_time must be timezone-aware")
        self.paths: XdatPaths = _check_target(path_base)

        self._fs = float(fs)
        self._n_ch = len(channels)
        self._start_time = start_time
        self._first = first_sample
        self._flush_interval = float(flush_interval_s)
        self._fsync = bool(fsync)
        try:  # encodes everything but the status once, before anything is created
            self._json = _MetadataText(fs=self._fs, channels=channels, extras=extras or {})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"extras must be JSON-serialisable: {exc}") from None

        cap = max(1, _STAGING_BYTES // (4 * self._n_ch))
        self._cap = cap
        # caller's side
        self._cur: npt.NDArray[np.float32] = np.empty((cap, self._n_ch), np.float32)
        self._free: queue.SimpleQueue[npt.NDArray[np.float32]] = queue.SimpleQueue()
        for _ in range(_N_BUFFERS - 1):
            self._free.put(np.empty((cap, self._n_ch), np.float32))
        self._staged = 0  # samples in self._cur
        self._submitted = 0  # samples handed to the I/O thread
        self._meta_due = _clock() + self._flush_interval
        self._closed = False
        # I/O thread's side (read by the caller only to report)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ts = np.empty(cap, np.int64)
        self._ramp = np.arange(cap, dtype=np.int64)
        self._on_disk = 0  # samples whose data and timestamps were written
        self._described = -1  # n_samples in the metadata file on disk
        self._io_error: BaseException | None = None

        fds: list[int] = []
        created: list[Path] = []
        try:
            for path in (self.paths.data, self.paths.timestamp):
                fds.append(os.open(path, _CREATE_FLAGS | os.O_EXCL, 0o666))
                created.append(path)
            if self.paths.json.exists():
                raise FileExistsError(f"{self.paths.json} already exists; not overwriting it")
            self._write_metadata(0)
            created.append(self.paths.json)
            self._data_fd, self._ts_fd = fds
            self._thread = threading.Thread(
                target=self._io_loop, name=f"xdat-writer-{self.paths.json.name}", daemon=True
            )
            self._thread.start()
        except BaseException:
            for fd in fds:
                os.close(fd)
            for path in created:
                path.unlink(missing_ok=True)
            raise

    # ---------------------------------------------------------------- state
    @property
    def n_channels(self) -> int:
        """Number of channels (data columns)."""
        return self._n_ch

    @property
    def n_samples(self) -> int:
        """Samples appended so far (including those not yet written to disk)."""
        return self._submitted + self._staged

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
        return self._closed

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
            The block is copied before this returns: the caller may reuse it.
        first_sample : int, optional
            Sample index of the block's first sample. When given it must equal
            :attr:`next_sample`; the check makes a gap or overlap an error instead of a silent
            shift.

        Raises
        ------
        ValueError
            If the writer is closed, the block has the wrong shape or a non-real dtype, or
            ``first_sample`` is not :attr:`next_sample`. Nothing is written then.
        OSError
            If writing an earlier block failed (disk full ...).

        Notes
        -----
        Cost: one transposing copy into the staging buffer (a few GB/s) and a queue hand-off
        every 1 MiB; the writes and the metadata rewrites run in the I/O thread.

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
        ValueError, OSError
            As in :meth:`append`.

        Examples
        --------
        >>> w.append_sample_major(np.zeros((30, w.n_channels), np.float32))  # doctest: +SKIP
        """
        arr = self._checked(block, first_sample, channel_major=False)
        self._stage_block(arr, channel_major=False)

    def flush(self) -> None:
        """Write every appended sample and rewrite the metadata to describe them (atomically).

        Returns when both are done. Not an ``fsync`` unless the writer was created with
        ``fsync=True``: without it the data is safe from a crash of this process, not from a
        power cut.

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
            raise ValueError(f"XdatWriter({self.paths.json.name}) is closed")
        self._flush()

    def close(self) -> None:
        """Flush, write the final metadata, stop the I/O thread and close the files. Idempotent.

        Raises
        ------
        OSError
            If writing failed (the files are closed all the same).

        Examples
        --------
        >>> w.close()  # doctest: +SKIP
        """
        if self._closed:
            return
        try:
            self._flush()
        finally:
            self._closed = True
            self._jobs.put(None)
            self._thread.join()
            os.close(self._data_fd)
            os.close(self._ts_fd)
            self._free = queue.SimpleQueue()  # release the staging buffers
            self._cur = np.empty((0, self._n_ch), np.float32)

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

    # ---------------------------------------------------------------- caller's side
    def _checked(
        self, block: npt.ArrayLike, first_sample: int | None, *, channel_major: bool
    ) -> npt.NDArray[Any]:
        if self._closed:
            raise ValueError(f"XdatWriter({self.paths.json.name}) is closed")
        arr = block if type(block) is np.ndarray else np.asarray(block)
        axis = 0 if channel_major else 1
        if arr.ndim != 2 or arr.shape[axis] != self._n_ch:
            want = "(n_channels, n)" if channel_major else "(n, n_channels)"
            raise ValueError(
                f"block must have shape {want} with n_channels={self._n_ch}, got {arr.shape}"
            )
        if arr.dtype.kind not in "fiub":
            raise ValueError(f"block must hold real numbers, not {arr.dtype}")
        if first_sample is not None and first_sample != self.next_sample:
            kind = "gap" if first_sample > self.next_sample else "overlap"
            raise ValueError(
                f"block starts at sample {first_sample}, expected {self.next_sample}"
                f" ({kind} of {abs(first_sample - self.next_sample)} samples); samples must be"
                " contiguous"
            )
        self._raise_if_failed()
        return arr

    def _stage_block(self, arr: npt.NDArray[Any], *, channel_major: bool) -> None:
        n = arr.shape[1] if channel_major else arr.shape[0]
        cap = self._cap
        done = 0
        while done < n:
            lo = self._staged
            take = min(n - done, cap - lo)
            dst = self._cur[lo : lo + take]
            if channel_major:
                transpose_into(dst, arr[:, done : done + take])
            else:
                np.copyto(dst, arr[done : done + take], casting="unsafe")
            self._staged = lo + take
            done += take
            if self._staged == cap:
                self._submit(meta=False)
        if _clock() >= self._meta_due:
            self._submit(meta=True)

    def _submit(self, *, meta: bool, done: threading.Event | None = None) -> None:
        """Hand the staged samples (if any) to the I/O thread and take a free buffer."""
        self._raise_if_failed()
        n = self._staged
        buf = self._cur if n else None
        self._jobs.put((buf, n, self._submitted, meta, done))
        self._submitted += n
        self._staged = 0
        if meta:
            self._meta_due = _clock() + self._flush_interval
        if buf is not None:
            while True:
                try:
                    self._cur = self._free.get(timeout=1.0)
                    break
                except queue.Empty:
                    self._check_thread()

    def _flush(self) -> None:
        done = threading.Event()
        self._submit(meta=True, done=done)
        while not done.wait(1.0):
            self._check_thread()
        self._raise_if_failed()

    def _check_thread(self) -> None:
        if not self._thread.is_alive():  # only at interpreter shutdown
            raise OSError(f"the I/O thread of XdatWriter({self.paths.json.name}) has stopped")

    def _raise_if_failed(self) -> None:
        exc = self._io_error
        if exc is None:
            return
        message = (
            f"writing {self.paths.json.parent / self.paths.json.stem} failed ({exc}); the set"
            f" holds the {max(self._described, 0)} samples its metadata describes"
        )
        if isinstance(exc, OSError) and exc.errno is not None:
            raise OSError(exc.errno, message) from exc
        raise OSError(message) from exc

    # ---------------------------------------------------------------- I/O thread
    def _io_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            buf, n, pos, meta, done = job
            try:
                if self._io_error is None:
                    if buf is not None:
                        self._write_samples(buf, n, pos)
                    if meta:
                        self._write_metadata(self._on_disk)
            except BaseException as exc:  # reported to the caller by its next call
                self._io_error = exc
            finally:
                if buf is not None:
                    self._free.put(buf)
                if done is not None:
                    done.set()

    def _write_samples(self, buf: npt.NDArray[np.float32], n: int, pos: int) -> None:
        _write_all(self._data_fd, buf[:n].data.cast("B"))
        ts = self._ts[:n]
        np.add(self._ramp[:n], self._first + pos, out=ts)
        _write_all(self._ts_fd, ts.data.cast("B"))
        self._on_disk = pos + n

    def _write_metadata(self, n: int) -> None:
        """Describe the first ``n`` samples; called only once they are written."""
        if n == self._described:
            return
        if self._fsync and n:
            os.fsync(self._data_fd)
            os.fsync(self._ts_fd)
        text = self._json.text(n, self._first, self._start_time).encode()
        tmp = self.paths.json.with_name(f".{self.paths.json.name}.partial")
        fd = os.open(tmp, _CREATE_FLAGS | os.O_TRUNC, 0o666)
        try:
            try:
                _write_all(fd, memoryview(text))
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.paths.json)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if self._fsync:
            _fsync_directory(self.paths.json.parent)
        self._described = n

    def _metadata_for(self, n: int) -> XdatMetadata:
        doc = json.loads(self._json.text(n, self._first, self._start_time))
        return XdatMetadata.from_json_dict(doc, source=self.paths.json)


class _MetadataText:
    """The metadata document as JSON text; everything but ``status`` is encoded only once.

    The channel map of a 1024-channel recording takes milliseconds to encode; the ``status``
    object, the only part that changes while recording, takes microseconds.
    """

    def __init__(self, *, fs: float, channels: list[XdatChannel], extras: dict[str, Any]) -> None:
        self._fs = fs
        self._n_ch = len(channels)
        extra_status = extras.get("status")
        self._extra_status: dict[str, Any] = (
            dict(extra_status) if isinstance(extra_status, dict) else {}
        )
        sapiens_base: dict[str, Any] = {"biointerface_map": biointerface_map_json(channels)}
        extra_base = extras.get("sapiens_base")
        if isinstance(extra_base, dict):
            sapiens_base = {**extra_base, **sapiens_base}
        rest: dict[str, Any] = {"sapiens_base": sapiens_base}
        for key, value in extras.items():
            rest.setdefault(key, value)
        rest.pop("status", None)
        tail = json.dumps(rest, separators=_JSON_SEPARATORS)[1:-1]
        self._tail = f",{tail}}}" if tail else "}"

    def text(self, n: int, first: int, start_time: datetime) -> str:
        t0 = first / self._fs
        status = status_json(
            self._fs, n, self._n_ch, (t0, t0 + n / self._fs), (first, first + n - 1), start_time
        )
        if self._extra_status:
            status = {**self._extra_status, **status}
        return '{"status":' + json.dumps(status, separators=_JSON_SEPARATORS) + self._tail


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
