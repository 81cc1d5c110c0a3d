"""The recorder: writes the live stream to an XDAT file set from a thread of its own.

The acquisition thread hands every block to :meth:`Recorder.offer`, which only appends it to a
queue (the block is a fresh array: nothing is copied) and returns. The recorder thread takes
blocks off the queue and appends them to an :class:`~radiens_async.formats.xdat.XdatWriter`.
So a slow disk never makes acquisition wait and never loses a sample while the queue has room;
the queue is bounded in bytes (``max_queue_bytes``, tens of seconds of data), and a disk that
stays too slow for that long ends the recording with an error in the status. The file set on
disk stays consistent in every case (the writer's metadata never describes more than is written).
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat import XdatWriter
from radiens_async.hub.daq.signal_cache import SignalCache

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE_BYTES = 2 << 30


@dataclass(frozen=True, slots=True)
class RecorderProgress:
    """What the status reports about a recording."""

    samples_written: int
    samples_queued: int
    error: str


class Recorder:
    """Append live blocks to ``writer`` from a dedicated thread.

    Parameters
    ----------
    writer : XdatWriter
        A freshly created writer whose ``first_sample`` is ``start_sample``.
    start_sample : int
        The first sample to record; blocks (or the part of a block) before it are ignored.
    cache : SignalCache
        The live cache, for samples acquired between ``start_sample`` and the first block
        this recorder is offered (it is registered as a sink after the writer is created).
    name : str
        The file set as the status reports it (``<dir>/<base>.xdat``).
    max_queue_bytes : int
        How much data may wait for the disk before the recording fails.

    Examples
    --------
    >>> recorder = Recorder(writer, start_sample=cache.head)  # doctest: +SKIP
    >>> loop.sinks = (*loop.sinks, recorder.offer)  # doctest: +SKIP
    >>> recorder.finish(); recorder.join()  # doctest: +SKIP
    """

    def __init__(
        self,
        writer: XdatWriter,
        start_sample: int,
        cache: SignalCache,
        name: str,
        max_queue_bytes: int = DEFAULT_MAX_QUEUE_BYTES,
    ) -> None:
        self.writer = writer
        self.start_sample = start_sample
        self.cache = cache
        self.name = name
        self.max_queue_bytes = max_queue_bytes
        self._queue: collections.deque[tuple[npt.NDArray[np.float32], int]] = collections.deque()
        self._lock = threading.Lock()  # guards offer() and the queue counters
        self._queued_bytes = 0
        self._queued_samples = 0
        self._next = start_sample  # next sample offer() expects
        self._wake = threading.Event()
        self._finishing = False
        self._accepting = True
        self._written = 0
        self._error = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="radiens-recorder", daemon=True)
        self._thread.start()

    # -- called in the acquisition thread ------------------------------------------------
    def offer(self, block: npt.NDArray[np.float32], first_sample: int) -> None:
        """Queue ``block`` (channels x samples, first sample ``first_sample``); never waits
        on the disk (the lock is only ever held for a few counter updates)."""
        with self._lock:
            self._offer(block, first_sample)

    def _offer(self, block: npt.NDArray[np.float32], first_sample: int) -> None:
        if not self._accepting:
            return
        stop = first_sample + block.shape[1]
        if stop <= self._next:
            return
        if first_sample > self._next:
            # acquired before this sink was registered: still in the cache
            window = self.cache.read(self._next, first_sample)
            if window.missed or window.stop_sample != first_sample:
                self._fail(f"recording lost samples [{self._next}, {first_sample})")
                return
            self._offer(window.data, window.first_sample)
            if self._next != first_sample:
                return
        if first_sample < self._next:
            block = block[:, self._next - first_sample :]
        if self._queued_bytes + block.nbytes > self.max_queue_bytes:
            self._fail(
                f"disk too slow: {self._queued_bytes / 2**20:.0f} MiB waited for it; "
                f"recording stopped at sample {self._next}"
            )
            return
        self._queued_bytes += block.nbytes
        self._queued_samples += block.shape[1]
        self._queue.append((block, self._next))
        self._next = stop
        self._wake.set()

    # -- called in the hub's event loop thread -----------------------------------------------
    def finish(self) -> None:
        """Stop accepting blocks; the thread writes what is queued, then closes the file set."""
        with self._lock:  # after this, no offer() is half-way through
            self._accepting = False
            self._finishing = True
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the file set is closed; True when it is."""
        return self._done.wait(timeout)

    @property
    def progress(self) -> RecorderProgress:
        return RecorderProgress(self._written, self._queued_samples, self._error)

    @property
    def recorded_samples(self) -> int:
        """Samples accepted for the recording (written or waiting for the disk)."""
        return self._next - self.start_sample

    # -- the recorder thread -------------------------------------------------------------
    def _fail(self, message: str) -> None:
        if not self._error:
            self._error = message
            log.error("%s: %s", self.writer.paths.json.name, message)
        self._accepting = False
        self._wake.set()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(0.5)
                self._wake.clear()
                self._drain()
                if self._finishing or not self._accepting:
                    self._drain()  # what came in meanwhile; then close (finished or failed)
                    break
        except BaseException as exc:  # the hub must survive a failing disk
            log.exception("recorder failed")
            if not self._error:
                self._error = f"recording failed: {exc}"
            self._accepting = False
        finally:
            try:
                self.writer.close()
            except Exception as exc:
                log.exception("closing the recording failed")
                if not self._error:
                    self._error = f"closing the recording failed: {exc}"
            self._queue.clear()
            with self._lock:
                self._queued_bytes = self._queued_samples = 0
            self._done.set()

    def _drain(self) -> None:
        while self._queue:
            block, first = self._queue.popleft()
            self.writer.append(block, first)
            self._written += block.shape[1]
            with self._lock:
                self._queued_bytes -= block.nbytes
                self._queued_samples -= block.shape[1]
