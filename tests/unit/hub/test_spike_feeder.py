"""SpikeFeeder: each block reaches the engine once, in order; a backlog is merged, jumps not;
with no live spike reader the feeder works in background batches."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.daq.spike_feeder import (
    BACKGROUND_PERIOD_S,
    MAX_MERGED_SAMPLES,
    SpikeFeeder,
)


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


def _offer_paced(feeder: SpikeFeeder, n_blocks: int, first: int = 0) -> None:
    """Offer 1 ms blocks at roughly the acquisition pace."""
    for k in range(n_blocks):
        feeder.offer(np.full((1, 30), first // 30 + k, np.float32), first + 30 * k)
        time.sleep(0.001)


def test_without_live_readers_blocks_are_processed_in_background_batches() -> None:
    engine = RecordingEngine()
    engine.release.set()
    live = False
    feeder = SpikeFeeder(
        engine,  # type: ignore[arg-type]
        n_amp=1,
        on_processed=lambda: None,
        has_live_readers=lambda: live,
    )
    _offer_paced(feeder, 60)
    time.sleep(5 * BACKGROUND_PERIOD_S)
    background_calls = len(engine.calls)
    # ~60 ms of blocks in batches of up to 10 ms (+ the first block, taken when it woke us)
    assert background_calls <= 60 // 3
    live = True  # a spike stream opened: back to block by block
    _offer_paced(feeder, 20, first=60 * 30)
    feeder.stop()
    seen = np.concatenate([rows for _, rows in engine.calls], axis=1)
    np.testing.assert_array_equal(seen[0], np.repeat(np.arange(80), 30))  # all, in order
    live_calls = len(engine.calls) - background_calls
    assert live_calls >= 10  # mostly one call per block (the machine may be busy)


def test_stop_does_not_wait_out_a_background_period() -> None:
    engine = RecordingEngine()
    engine.release.set()
    feeder = SpikeFeeder(
        engine,  # type: ignore[arg-type]
        n_amp=1,
        on_processed=lambda: None,
        has_live_readers=lambda: False,
    )
    feeder.offer(np.zeros((1, 30), np.float32), 0)
    t0 = time.perf_counter()
    feeder.stop()
    assert [first for first, _ in engine.calls] == [0]
    assert time.perf_counter() - t0 < 5.0  # a generous bound: stop sets the event at once


def test_device_counts_live_spike_readers() -> None:
    device = AllegoDevice()
    assert device.live_spike_readers == 0
    with device.live_spike_reader():
        with device.live_spike_reader():
            assert device.live_spike_readers == 2
        assert device.live_spike_readers == 1
    with pytest.raises(RuntimeError), device.live_spike_reader():
        raise RuntimeError("a stream failed")
    assert device.live_spike_readers == 0
