"""AcquisitionLoop: paced by the monotonic clock, never waits for readers, catches up.

The loop's clock and its stop event are replaced by a fake clock that only moves when the loop
sleeps (or when a test says so), so pacing is checked exactly, with no wall-clock assertions.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from radiens_async.hub.daq import acquisition_loop
from radiens_async.hub.daq.acquisition_loop import AcquisitionLoop
from radiens_async.hub.daq.signal_cache import SignalCache

T0_NS = 5_000_000_000


class FakeClock:
    """``time.monotonic_ns`` that advances only when told."""

    def __init__(self) -> None:
        self.ns = T0_NS

    def monotonic_ns(self) -> int:
        return self.ns


class FakeStopEvent:
    """The loop's stop event: ``wait(s)`` moves the fake clock by ``s`` instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.flag = False
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return self.flag

    def set(self) -> None:
        self.flag = True

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.clock.ns += max(0, round(timeout * 1e9))
        return self.flag


class CountingSource:
    """A sample source whose values are the sample index (row ``r`` adds ``1000 * r``).

    Records the clock at each call; ``on_block(k)`` may move the clock or stop the loop.
    """

    def __init__(
        self, n_channels: int, clock: FakeClock, on_block: Callable[[int], None] | None = None
    ) -> None:
        self.n_channels = n_channels
        self.clock = clock
        self.on_block = on_block
        self.next_sample = 0
        self.called_at: list[int] = []

    def generate(self, n_samples: int) -> npt.NDArray[np.float32]:
        self.called_at.append(self.clock.ns)
        idx = np.arange(self.next_sample, self.next_sample + n_samples, dtype=np.float32)
        rows = 1000.0 * np.arange(self.n_channels, dtype=np.float32)[:, None]
        self.next_sample += n_samples
        if self.on_block is not None:
            self.on_block(len(self.called_at) - 1)
        return rows + idx[None, :]

    def reset(self) -> None:
        self.next_sample = 0


def _make_loop(
    monkeypatch: pytest.MonkeyPatch,
    fs: float,
    block: int,
    n_blocks: int,
    stall: dict[int, int] | None = None,
    listeners: list[Callable[[SignalCache], None]] | None = None,
    max_block: int | None = None,
) -> tuple[AcquisitionLoop, CountingSource, FakeClock, FakeStopEvent]:
    """A loop on a fake clock that stops itself after ``n_blocks`` blocks.

    ``stall[k] = ns`` moves the clock by ``ns`` while block ``k`` is being generated (a late
    loop: a GC pause, a busy machine).
    """
    clock = FakeClock()
    monkeypatch.setattr(
        acquisition_loop, "time", types.SimpleNamespace(monotonic_ns=clock.monotonic_ns)
    )
    stop = FakeStopEvent(clock)

    def on_block(k: int) -> None:
        if stall and k in stall:
            clock.ns += stall[k]
        if k + 1 >= n_blocks:
            stop.set()

    source = CountingSource(2, clock, on_block)
    cache = SignalCache(2, capacity=1000 * block, max_block=max_block or block)
    loop = AcquisitionLoop(source, cache, fs=fs, block_samples=block, listeners=listeners)
    loop._stop = stop  # type: ignore[assignment]
    return loop, source, clock, stop


def _run(loop: AcquisitionLoop) -> None:
    loop.start()
    assert loop._thread is not None
    loop._thread.join(timeout=60)
    assert not loop.running
    loop.stop()


def _assert_contiguous(cache: SignalCache, n_samples: int) -> None:
    assert cache.head == n_samples
    window = cache.read(0, n_samples)
    assert window.first_sample == 0 and window.missed == 0
    np.testing.assert_array_equal(window.data[0], np.arange(n_samples, dtype=np.float32))
    np.testing.assert_array_equal(window.data[1], 1000 + np.arange(n_samples, dtype=np.float32))


@pytest.mark.parametrize(("fs", "block"), [(30000.0, 30), (3333.0, 3), (625.0, 1)])
def test_paced_by_the_monotonic_clock(
    monkeypatch: pytest.MonkeyPatch, fs: float, block: int
) -> None:
    n_blocks = 200
    loop, source, _clock, stop = _make_loop(monkeypatch, fs, block, n_blocks)
    _run(loop)
    assert loop.t0_ns == T0_NS
    # block k is generated exactly when its last sample is due, computed from t0 (no drift
    # from rounding block durations one by one)
    due = [T0_NS + round((k + 1) * block * 1e9 / fs) for k in range(n_blocks)]
    assert source.called_at == due
    assert [loop.due_ns(k) for k in range(n_blocks)] == due
    assert len(stop.waits) == n_blocks and all(w > 0 for w in stop.waits)
    assert loop.max_lag_s == 0.0 and loop.error is None
    _assert_contiguous(loop.cache, n_blocks * block)
    # each block is stamped with its due time, not with when it happened to be written
    assert loop.cache.acquired_ns == due[-1]


def test_catches_up_after_a_stall_without_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    fs, block, n_blocks = 1000.0, 10, 60  # 10 ms blocks
    stall_ns = 105_000_000  # block 20 takes 105 ms: the loop is 10.5 blocks late
    loop, source, _clock, stop = _make_loop(monkeypatch, fs, block, n_blocks, stall={20: stall_ns})
    _run(loop)
    due = [T0_NS + (k + 1) * 10_000_000 for k in range(n_blocks)]
    # blocks 21..30 were already due when the stall ended: generated back to back, no sleep
    late = list(range(21, 31))
    for k in late:
        assert source.called_at[k] == due[20] + stall_ns > due[k]
    # from block 31 on the loop is back on the schedule
    assert source.called_at[31:] == due[31:]
    assert source.called_at[:21] == due[:21]
    assert len(stop.waits) == n_blocks - len(late)
    assert loop.max_lag_s == pytest.approx((due[20] + stall_ns - due[21]) / 1e9)
    _assert_contiguous(loop.cache, n_blocks * block)


@pytest.mark.parametrize("most", [4, acquisition_loop.MAX_CATCHUP_BLOCKS, 64])
def test_a_late_loop_takes_every_due_block_in_one_step(
    monkeypatch: pytest.MonkeyPatch, most: int
) -> None:
    """Like a driver draining a FIFO: after a stall, one call per ``most`` due blocks."""
    fs, block, n_calls = 1000.0, 10, 40
    stall_ns = 105_000_000  # the 11th call takes 105 ms: 10 more blocks are due when it ends
    heads: list[int] = []
    loop, source, _clock, stop = _make_loop(
        monkeypatch, fs, block, n_calls, stall={10: stall_ns},
        listeners=[lambda cache: heads.append(cache.head)], max_block=most * block,
    )  # fmt: skip
    _run(loop)
    step = min(most, acquisition_loop.MAX_CATCHUP_BLOCKS)
    sizes = np.diff([0, *heads]) // block
    catch_up = [min(step, 10 - i) for i in range(0, 10, step)]
    assert sizes.tolist() == [1] * 11 + catch_up + [1] * (n_calls - 11 - len(catch_up))
    # once caught up the loop is back on the schedule: block k at its due time
    k_next = 11 + 10
    assert source.called_at[11 + len(catch_up)] == T0_NS + (k_next + 1) * 10_000_000
    assert loop.max_lag_s == pytest.approx(
        (T0_NS + 11 * 10_000_000 + stall_ns - (T0_NS + 12 * 10_000_000)) / 1e9
    )
    _assert_contiguous(loop.cache, int(sum(sizes)) * block)
    # every sample is stamped with its own block's due time, however it was acquired
    assert loop.cache.acquired_ns == loop.due_ns(int(sum(sizes)) - 1)
    assert stop.flag


def test_never_waits_for_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers that never read, read slowly or block waiting do not hold the writer back."""
    fs, block = 30000.0, 30
    capacity_blocks = 1000
    n_blocks = 3 * capacity_blocks  # the ring wraps three times under the readers
    calls: list[int] = []
    loop, source, _clock, _stop = _make_loop(
        monkeypatch, fs, block, n_blocks, listeners=[lambda cache: calls.append(cache.head)]
    )
    cache = loop.cache
    # a reader blocked until a sample that never comes (it holds no lock while it waits)
    blocked_result: list[bool] = []
    blocked = threading.Thread(
        target=lambda: blocked_result.append(cache.wait_for(10**12, timeout=60)), daemon=True
    )
    blocked.start()
    _run(loop)
    due = [T0_NS + round((k + 1) * block * 1e9 / fs) for k in range(n_blocks)]
    assert source.called_at == due  # not one block late
    assert calls == [(k + 1) * block for k in range(n_blocks)]  # listeners: once per block
    # the reader that never read finds the oldest samples gone, and is told how many
    stale = cache.read(0, cache.head)
    assert stale.missed == cache.oldest > 0
    assert stale.first_sample == cache.oldest
    np.testing.assert_array_equal(
        stale.data[0], np.arange(stale.first_sample, cache.head, dtype=np.float32)
    )
    cache.close()  # releases the blocked reader
    blocked.join(timeout=60)
    assert blocked_result == [True]


def test_source_failure_is_recorded_and_the_thread_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    loop, source, _clock, _stop = _make_loop(monkeypatch, 1000.0, 10, 100)

    def broken(k: int) -> None:
        if k == 4:
            raise RuntimeError("device unplugged")

    source.on_block = broken
    _run(loop)
    assert isinstance(loop.error, RuntimeError) and "unplugged" in str(loop.error)
    assert loop.cache.head == 40  # the four good blocks are kept


def test_real_clock_run_is_contiguous() -> None:
    """On the real clock (no fakes): blocks arrive, in order, whole, and stop() ends the thread."""
    clock = FakeClock()  # only the source's bookkeeping uses it here
    source = CountingSource(2, clock)
    cache = SignalCache(2, capacity=10_000, max_block=10)
    loop = AcquisitionLoop(source, cache, fs=1000.0, block_samples=10)
    loop.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            loop.start()
        assert cache.wait_for(200, timeout=60)
    finally:
        loop.stop()
    assert not loop.running and loop.error is None
    head = cache.head
    assert head > 200 and head % 10 == 0
    _assert_contiguous(cache, head)
