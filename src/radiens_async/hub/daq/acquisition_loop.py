"""The acquisition loop: pulls blocks from a source on the monotonic clock into the signal cache.

It runs in its own thread so that nothing on the hub's event loop (a slow client, a big reply) can
delay acquisition. Block ``k`` is due when its last sample would have left the device,
``t0 + (k + 1) * block / fs``. A late loop never skips a sample: like a driver draining a
device's FIFO, it takes every block that is already due in one step (up to
:data:`MAX_CATCHUP_BLOCKS`). Catching up block by block would repeat the per-block work (and
the hand-offs of the GIL between threads that come with it) exactly when time is short, and a
loop that fell behind on a busy machine could then stay behind for seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from radiens_async.hub.daq.sample_source import SampleSource
from radiens_async.hub.daq.signal_cache import SignalCache

log = logging.getLogger(__name__)

MAX_CATCHUP_BLOCKS = 16
"""A late loop acquires at most this many due blocks at once (the cache's ``max_block``)."""

BlockListener = Callable[[SignalCache], None]
BlockSink = Callable[[npt.NDArray[np.float32], int], None]


class AcquisitionLoop:
    """Paces ``source`` into ``cache`` in blocks of ``block_samples`` at ``fs`` samples/s.

    Parameters
    ----------
    source : SampleSource
        Where the samples come from.
    cache : SignalCache
        Where they go; the loop is its only writer.
    fs : float
        Sampling rate (samples per second).
    block_samples : int
        Samples per block (the stream loop duration times ``fs``). ``cache.max_block`` must be
        at least this; when it holds several blocks, a late loop acquires up to that many
        at once.
    listeners : list of callables
        Called in the acquisition thread after every block with the cache. They must return
        at once (hand work to another thread or loop); they are the subscribers' wake-up call.
    sinks : tuple of callables
        Called in the acquisition thread with every new block (a fresh array they may keep)
        and its first sample index, before the listeners. Replace the tuple (one atomic
        assignment) to add or remove a sink while running. They must return at once: the
        recorder queues the block for its own thread.

    Examples
    --------
    >>> loop = AcquisitionLoop(source, cache, fs=30000.0, block_samples=30)  # doctest: +SKIP
    >>> loop.start(); ...; loop.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        source: SampleSource,
        cache: SignalCache,
        fs: float,
        block_samples: int,
        listeners: list[BlockListener] | None = None,
        sinks: tuple[BlockSink, ...] = (),
    ) -> None:
        self.source = source
        self.cache = cache
        self.fs = fs
        self.block_samples = block_samples
        self.listeners: list[BlockListener] = list(listeners or [])
        self.sinks: tuple[BlockSink, ...] = sinks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.t0_ns = 0
        self.max_lag_s = 0.0
        self.lag_s = 0.0
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start acquiring; the first block is due one block duration from now."""
        if self._thread is not None:
            raise RuntimeError("acquisition loop already started")
        self.t0_ns = time.monotonic_ns()
        self._thread = threading.Thread(target=self._run, name="radiens-acquisition", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the block in progress and wait for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def due_ns(self, block_index: int) -> int:
        """Monotonic time at which the last sample of block ``block_index`` is acquired."""
        return self.t0_ns + round((block_index + 1) * self.block_samples * 1e9 / self.fs)

    def _due_blocks(self, now_ns: int) -> int:
        """How many blocks are due at ``now_ns`` (blocks ``0 .. n - 1``)."""
        return int((now_ns - self.t0_ns) * self.fs / (self.block_samples * 1e9))

    def acquired_ns_of(self, samples: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Monotonic time at which each sample index was acquired (its block's due time)."""
        blocks = np.asarray(samples, dtype=np.int64) // self.block_samples
        return self.t0_ns + np.round((blocks + 1) * (self.block_samples * 1e9 / self.fs)).astype(
            np.int64
        )

    def _run(self) -> None:
        block_index = 0
        step = self.block_samples
        most = max(1, min(MAX_CATCHUP_BLOCKS, self.cache.max_block // step))
        try:
            while not self._stop.is_set():
                due = self.due_ns(block_index)
                now = time.monotonic_ns()
                n_blocks = 1
                if due > now:
                    self.lag_s = 0.0
                    if self._stop.wait((due - now) / 1e9):
                        break
                else:
                    self.lag_s = (now - due) / 1e9
                    self.max_lag_s = max(self.max_lag_s, self.lag_s)
                    n_blocks = max(1, min(most, self._due_blocks(now) - block_index))
                block = self.source.generate(n_blocks * step)
                first = self.cache.head
                self.cache.append(block, acquired_ns=self.due_ns(block_index + n_blocks - 1))
                for sink in self.sinks:
                    sink(block, first)
                for listener in self.listeners:
                    listener(self.cache)
                block_index += n_blocks
        except BaseException as exc:  # the hub must survive; status reports the failure
            log.exception("acquisition loop failed")
            self.error = exc
