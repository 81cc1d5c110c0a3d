"""Feeds live blocks to the spike engine from a thread of its own.

Like the recorder, the feeder is an acquisition sink: :meth:`SpikeFeeder.offer` only queues the
block. Its thread runs detection and sorting on the amplifier rows, then wakes the spike stream
handlers. Detection that falls far behind (``max_lag_blocks``) drops the oldest queued blocks and
counts them in :attr:`SpikeFeeder.dropped_samples` rather than letting latency grow without bound
(acquisition and recording never wait for it).

Pace: while someone waits for spikes as they happen (a live spike stream), every block is
processed as soon as it arrives. With no such reader the feeder works in batches, at most every
:data:`BACKGROUND_PERIOD_S`: each engine call has a fixed cost (about 0.15 ms at 1024 channels,
so 0.15 core at one call per 1 ms block) which batching leaves to the event loop and the
signal streams; spikes then reach the store up to 10 ms later, which only a reader polling the
tables could notice.

Stage 2: when the stream has a stage-2 DSP group (``stage2`` returns a chain), the amplifier
rows pass through it before detection, with per-row filter state kept across blocks (a new
chain starts from rest). With none, nothing is done beyond one call per block.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from radiens_async.hub.daq.live_dsp_group import ChainState, DspChain
from radiens_async.hub.spikes.spike_engine import SpikeEngine
from radiens_async.hub.thread_priority import lower_current_thread_priority

log = logging.getLogger(__name__)

DEFAULT_MAX_LAG_BLOCKS = 2000  # 2 s of 1 ms blocks (more when a late acquisition loop catches up)
# Detection must keep up (and closed loops wait for it): only slightly below acquisition.
SPIKES_NICENESS = 0
# A backlog is processed in calls of at most this many samples (10 ms at 30 kHz).
MAX_MERGED_SAMPLES = 300
# With no live reader, blocks queue up for this long before they are processed together.
BACKGROUND_PERIOD_S = 0.01


class SpikeFeeder:
    """Run the engine on every block's amplifier rows, in order, off the acquisition thread.

    Parameters
    ----------
    engine : SpikeEngine
        The detector and sorter.
    n_amp : int
        Amplifier rows come first in a block (stream order amp, ain, din, dout).
    on_processed : callable
        Called in the feeder thread when a block added spikes (wakes spike streams), before
        the sorter's upkeep for that block.
    max_lag_blocks : int
        Queued blocks beyond this are dropped (oldest first) and counted.
    has_live_readers : callable
        Whether anyone waits for spikes as they happen; when not, blocks are processed in
        batches every :data:`BACKGROUND_PERIOD_S` (checked on every wake-up).
    stage2 : callable, optional
        Returns the stream's stage-2 :class:`~.live_dsp_group.DspChain` over all stream rows
        (None when there is none); read once per processed block.

    Examples
    --------
    >>> feeder = SpikeFeeder(engine, n_amp=32, on_processed=lambda: None)  # doctest: +SKIP
    >>> loop.sinks = (*loop.sinks, feeder.offer)  # doctest: +SKIP
    >>> feeder.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        engine: SpikeEngine,
        n_amp: int,
        on_processed: Callable[[], None],
        max_lag_blocks: int = DEFAULT_MAX_LAG_BLOCKS,
        has_live_readers: Callable[[], bool] = lambda: True,
        stage2: Callable[[], DspChain | None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.stage2 = stage2
        self._stage2_of: DspChain | None = None  # the chain _stage2_state was built from
        self._stage2_state: ChainState | None = None
        self.has_live_readers = has_live_readers
        self.n_amp = n_amp
        self.on_processed = on_processed
        self.max_lag_blocks = max_lag_blocks
        self.dropped_samples = 0
        # Called in the feeder thread after each block (e.g. the spikes recorder's poll);
        # replace the tuple (one atomic assignment) to add or remove one while running.
        self.after_process: tuple[Callable[[], None], ...] = ()
        self.error = ""
        self._queue: collections.deque[tuple[npt.NDArray[np.float32], int]] = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="radiens-spikes", daemon=True)
        self._thread.start()

    def offer(self, block: npt.NDArray[np.float32], first_sample: int) -> None:
        """Queue a block (called in the acquisition thread; never waits)."""
        self._queue.append((block, first_sample))
        self._wake.set()

    def stop(self) -> None:
        """Process what is queued, then end the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        lower_current_thread_priority(SPIKES_NICENESS)
        try:
            while True:
                self._wake.wait(0.25)
                self._wake.clear()
                if not self.has_live_readers():
                    self._stop.wait(BACKGROUND_PERIOD_S)  # let blocks queue up (stop ends it)
                self._drain()
                if self._stop.is_set():
                    self._drain()
                    break
        except BaseException as exc:  # the hub must survive a failing detector
            log.exception("spike detection failed")
            self.error = f"spike detection failed: {exc}"

    def _merge_backlog(self, rows: npt.NDArray[np.float32], first: int) -> npt.NDArray[np.float32]:
        """Join the blocks that queued up behind ``rows`` (when detection fell behind) into one
        call: the engine's cost per call is mostly fixed, so catching up in bigger steps is
        what lets it keep up at 1024 channels on a busy machine."""
        parts = [rows]
        stop = first + rows.shape[1]
        n = rows.shape[1]
        while self._queue and n < MAX_MERGED_SAMPLES:
            block, start = self._queue[0]
            if start != stop:
                break  # a jump in the stream: the engine must see it as such
            self._queue.popleft()
            parts.append(block[: self.n_amp])
            stop += block.shape[1]
            n += block.shape[1]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def _apply_stage2(
        self, chain: DspChain, rows: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """The amplifier rows through stage 2, continuing the filter state of earlier blocks."""
        if chain is not self._stage2_of or self._stage2_state is None:
            amp = np.arange(self.n_amp, dtype=np.intp)
            # the sorter sees amplifier rows only: steps on analog-in rows are dropped
            self._stage2_state = chain.on_rows(amp).new_state()
            self._stage2_of = chain
        return self._stage2_state.process(rows)

    def _drain(self) -> None:
        while self._queue:
            while len(self._queue) > self.max_lag_blocks:
                block, _ = self._queue.popleft()
                self.dropped_samples += block.shape[1]
            block, first = self._queue.popleft()
            rows = block[: self.n_amp]
            if self._queue:
                rows = self._merge_backlog(rows, first)
            chain = self.stage2()
            if chain is not None:
                rows = self._apply_stage2(chain, rows)
            if self.engine.detect(rows, first):
                self.on_processed()  # wake the streams before the sorter's upkeep
            self.engine.maintain(rows.shape[1])
            for hook in self.after_process:
                hook()
