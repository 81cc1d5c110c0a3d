"""SpikeFeeder: each block reaches the engine once, in order; a backlog is merged, jumps not."""

from __future__ import annotations

import threading

import numpy as np

from radiens_async.hub.daq.spike_feeder import MAX_MERGED_SAMPLES, SpikeFeeder


class RecordingEngine:
    """Stands in for SpikeEngine: records each call; the first call blocks until released.

    ``detect`` reports one spike for blocks whose first value is in ``spiky``.
    """

    def __init__(self, spiky: frozenset[int] = frozenset()) -> None:
        self.calls: list[tuple[int, np.ndarray]] = []
        self.events: list[str] = []
        self.release = threading.Event()
        self.spiky = spiky

    def detect(self, rows: np.ndarray, first: int) -> int:
        if not self.calls:
            self.release.wait(5)
        self.calls.append((first, rows.copy()))
        found = int(int(rows[0, 0]) in self.spiky)
        self.events.append(f"detect {first} {found}")
        return found

    def maintain(self, n_samples: int) -> None:
        self.events.append(f"maintain {n_samples}")


def test_backlog_is_merged_in_order_and_jumps_split_calls() -> None:
    engine = RecordingEngine()
    hooks: list[int] = []
    feeder = SpikeFeeder(engine, n_amp=2, on_processed=lambda: None)  # type: ignore[arg-type]
    feeder.after_process = (lambda: hooks.append(1),)
    blocks = []
    start = 0
    for k in range(40):
        block = np.full((3, 30), k, np.float32)  # row 2 is not an amplifier row
        if k == 25:
            start += 1000  # a jump in the stream
        blocks.append((block, start))
        feeder.offer(block, start)
        start += 30
    engine.release.set()
    feeder.stop()
    firsts = [first for first, _ in engine.calls]
    assert firsts[0] == 0 and 750 + 1000 in firsts  # the jump starts a call of its own
    seen = np.concatenate([rows for _, rows in engine.calls], axis=1)
    assert seen.shape == (2, 40 * 30)
    np.testing.assert_array_equal(seen[0], np.repeat(np.arange(40), 30))
    assert all(rows.shape[1] <= MAX_MERGED_SAMPLES + 30 for _, rows in engine.calls)
    assert len(engine.calls) < 40  # the backlog was merged
    assert len(hooks) == len(engine.calls)
    for first, rows in engine.calls:  # each call is contiguous
        k0 = int(rows[0, 0])
        assert first == blocks[k0][1]


def test_streams_are_woken_only_by_new_spikes_and_before_the_sorter_upkeep() -> None:
    engine = RecordingEngine(spiky=frozenset({1, 3}))
    engine.release.set()
    feeder = SpikeFeeder(
        engine,  # type: ignore[arg-type]
        n_amp=1,
        on_processed=lambda: engine.events.append("wake"),
    )
    for k in range(5):
        feeder.offer(np.full((1, 30), k, np.float32), 30 * k)
        while len(engine.calls) <= k:  # one block at a time: no merging
            threading.Event().wait(0.001)
    feeder.stop()
    assert engine.events == [
        "detect 0 0", "maintain 30",
        "detect 30 1", "wake", "maintain 30",
        "detect 60 0", "maintain 30",
        "detect 90 1", "wake", "maintain 30",
        "detect 120 0", "maintain 30",
    ]  # fmt: skip
