"""The spikes recorder: writes the live sorter's spikes as a ``.spikes`` set beside a recording.

While a recording runs with the sorter on, every spike the engine detects in the recorded samples
goes to ``<dir>/<base>.spikes`` (see ``docs/spikes-format.md``). The spike feeder thread calls
:meth:`SpikesRecorder.poll` after each processed block; the recorder copies spikes out of the
engine's store by sequence number and appends them in batches. A spike is written only once it is
``settle_s`` old, because the online sorter may still relabel a fresh spike while it refines its
templates; :meth:`SpikesRecorder.finish` writes the rest when the recording stops. If the writer
falls so far behind that the store dropped spikes (it never should: the store holds minutes), the
gap is logged and counted in :attr:`SpikesRecorder.missed`, and the set still describes exactly
what it holds.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from radiens_async.formats.spikes_file import SpikesChannel, SpikesUnit, SpikesWriter
from radiens_async.hub.spikes.spike_engine import SpikeEngine

log = logging.getLogger(__name__)

DEFAULT_SETTLE_S = 1.0
WRITE_INTERVAL_S = 0.1
READ_BATCH = 65536
FINISH_TIMEOUT_S = 5.0


class SpikesRecorder:
    """Append the engine's spikes in ``[start_sample, stop)`` to a new ``.spikes`` set.

    Parameters
    ----------
    path_base : Path
        The recording's ``<dir>/<base>.xdat``; the set is written beside it under its base name.
    engine : SpikeEngine
        The live detector and sorter (its store is read from the first spike at or after
        ``start_sample`` on).
    start_sample : int
        The recording's first sample; earlier spikes are skipped.
    channels : list of SpikesChannel
        The recording's amplifier channels (see ``channels_from_xdat``).
    settle_s : float
        Age (in stream seconds) a spike must reach before it is written.

    Raises
    ------
    OSError, FileExistsError, ValueError
        As :class:`~radiens_async.formats.spikes_file.SpikesWriter` (nothing is created then).

    Examples
    --------
    >>> rec = SpikesRecorder(Path("/data/allego_0.xdat"), engine, 0, channels)  # doctest: +SKIP
    >>> rec.poll()          # in the spike feeder thread, after each block  # doctest: +SKIP
    >>> rec.finish(stop_sample=90000)  # when the recording stops  # doctest: +SKIP
    """

    def __init__(
        self,
        path_base: Path,
        engine: SpikeEngine,
        start_sample: int,
        channels: list[SpikesChannel],
        settle_s: float = DEFAULT_SETTLE_S,
    ) -> None:
        self.engine = engine
        self.start_sample = int(start_sample)
        self.settle_samples = round(settle_s * engine.fs)
        self.writer = SpikesWriter(
            path_base,
            engine.fs,
            engine.n_pts,
            engine.pre_pts,
            channels=channels,
            start_sample=self.start_sample,
            provenance_details={"sorting": engine.sorting},
        )
        self.missed = 0
        self.error = ""
        # a recording may start at a past sample (a recording trigger's edge): spikes already
        # detected from there on belong in the set too
        self._cursor = engine.seq_at_sample(self.start_sample)
        # sequence number of each spike written, in file order (for the final relabelling)
        self._seqs: list[np.ndarray] = []
        self._epoch = engine.epoch
        self._lock = threading.Lock()
        self._closed = False
        self._next_write = 0.0
        self._done = threading.Event()

    @property
    def path(self) -> Path:
        """The set's ``.spikes`` binary path."""
        return Path(self.writer.paths.json).with_suffix("")

    @property
    def n_spikes(self) -> int:
        return self.writer.n_spikes

    # -- the spike feeder thread ----------------------------------------------------------
    def poll(self) -> None:
        """Write settled spikes (cheap when called often: writes at most every 0.1 s)."""
        now = time.monotonic()
        if now < self._next_write:
            return
        self._next_write = now + WRITE_INTERVAL_S
        with self._lock:
            if self._closed:
                return
            processed = self.engine.processed_until
            self._write_until(max(self.start_sample, processed - self.settle_samples))

    # -- the hub's event loop thread --------------------------------------------------------
    def finish(self, stop_sample: int) -> None:
        """Write every spike before ``stop_sample`` and close the set, in a thread of its own
        (detection may still be a few blocks behind the recording)."""
        threading.Thread(
            target=self._finish, args=(int(stop_sample),), name="radiens-spikes-close", daemon=True
        ).start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the set is closed; True when it is."""
        return self._done.wait(timeout)

    def _finish(self, stop_sample: int) -> None:
        # spikes near the end are published once the engine has seen their whole window
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        margin = self.engine.n_pts
        while self.engine.processed_until < stop_sample + margin and time.monotonic() < deadline:
            if self.engine.epoch != self._epoch:
                break
            time.sleep(0.01)
        with self._lock:
            try:
                if not self._closed:
                    self._write_until(stop_sample)
                    self._final_labels()
                    self.writer.set_units(self._units())
            except Exception as exc:  # the hub must survive a failing disk
                log.exception("writing spikes failed")
                self.error = self.error or f"writing spikes failed: {exc}"
            finally:
                self._close()
        self._done.set()

    # -- helpers (called with the lock held) ---------------------------------------------------
    def _write_until(self, until_sample: int) -> None:
        if self.error or self.engine.epoch != self._epoch:
            return
        try:
            while True:
                batch = self.engine.read(self._cursor, READ_BATCH)
                if batch.missed:
                    self.missed += batch.missed
                    log.warning("%s: %d spikes left the store unwritten", self.path, batch.missed)
                if len(batch) and batch.waveform.shape[1] != self.writer.n_pts:
                    raise ValueError(
                        "the spike window changed during the recording; spikes from sample "
                        f"{int(batch.sample_index[0])} on are not in the set"
                    )
                keep = int(np.searchsorted(batch.sample_index, until_sample, side="left"))
                skip = int(np.searchsorted(batch.sample_index, self.start_sample, side="left"))
                skip = min(skip, keep)
                if keep > skip:
                    self.writer.append(
                        batch.sample_index[skip:keep],
                        batch.channel[skip:keep],
                        batch.label[skip:keep],
                        batch.waveform[skip:keep],
                        until_sample=until_sample,
                    )
                    self._seqs.append(np.arange(batch.seq + skip, batch.seq + keep))
                else:
                    self.writer.append([], [], [], [], until_sample=until_sample)
                self._cursor = batch.seq + keep
                if keep < len(batch) or len(batch) < READ_BATCH:
                    return
        except Exception as exc:
            log.exception("writing spikes failed")
            self.error = f"writing spikes failed: {exc}"
            self._close()

    def _final_labels(self) -> None:
        """Labels as the sorter finally decided them, for every written spike still held
        (a unit discovered late relabels the spikes it had already seen)."""
        if not self._seqs or self.engine.epoch != self._epoch:
            return
        seqs = np.concatenate(self._seqs)
        cursor, end = int(seqs[0]), int(seqs[-1]) + 1
        while cursor < end:
            batch = self.engine.read(cursor, READ_BATCH)
            if not len(batch):
                return
            seq = batch.seq + np.arange(len(batch))
            pos = np.searchsorted(seqs, seq)
            ok = (pos < seqs.size) & (seqs[np.minimum(pos, seqs.size - 1)] == seq)
            self.writer.relabel(pos[ok], batch.label[ok])
            cursor = batch.seq + len(batch)

    def _units(self) -> list[SpikesUnit]:
        return [
            SpikesUnit(label=int(u["label"]), channel=int(u["ntv_idx"]))
            for u in self.engine.units()
        ]

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.writer.close()
            except Exception as exc:
                log.exception("closing the spikes set failed")
                self.error = self.error or f"closing the spikes set failed: {exc}"
