"""SignalCache: the sample-indexed ring buffer (wrap, reads across the wrap, missed counts)."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pytest

from radiens_async.hub.daq.signal_cache import CacheWindow, SignalCache

N_CH = 3
CAPACITY = 100
MAX_BLOCK = 10
# every sample value says where it came from: channel * ROW + sample index
ROW = 100_000.0


def _block(first: int, n: int, n_channels: int = N_CH) -> npt.NDArray[np.float32]:
    samples = np.arange(first, first + n, dtype=np.float64)
    rows = np.arange(n_channels, dtype=np.float64)[:, None] * ROW
    return (rows + samples[None, :]).astype(np.float32)


def _fill(cache: SignalCache, n_samples: int, block: int = MAX_BLOCK) -> None:
    while cache.head < n_samples:
        n = min(block, n_samples - cache.head)
        cache.append(_block(cache.head, n, cache.n_channels))


def _expected(window: CacheWindow, rows: list[int] | None = None) -> npt.NDArray[np.float32]:
    full = _block(window.first_sample, window.n_samples)
    return full if rows is None else full[rows]


def test_empty_cache() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK, epoch=4)
    assert (cache.head, cache.oldest, cache.epoch, cache.closed) == (0, 0, 4, False)
    window = cache.read(0, 50)
    assert window.data.shape == (N_CH, 0) and window.data.dtype == np.float32
    assert (window.first_sample, window.missed, window.stop_sample) == (0, 0, 0)


def test_append_and_read_before_wrap() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    cache.append(_block(0, 7), acquired_ns=123)
    cache.append(_block(7, 10), acquired_ns=456)
    assert cache.head == 17 and cache.oldest == 0 and cache.acquired_ns == 456
    window = cache.read(0, 17)
    assert (window.first_sample, window.n_samples, window.missed) == (0, 17, 0)
    np.testing.assert_array_equal(window.data, _expected(window))
    middle = cache.read(5, 12)
    assert (middle.first_sample, middle.stop_sample) == (5, 12)
    np.testing.assert_array_equal(middle.data, _expected(middle))


def test_read_beyond_head_is_clipped() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 25)
    window = cache.read(20, 1000)
    assert (window.first_sample, window.stop_sample, window.missed) == (20, 25, 0)
    np.testing.assert_array_equal(window.data, _expected(window))
    ahead = cache.read(30, 40)
    assert ahead.n_samples == 0 and ahead.missed == 0


def test_ring_wrap_keeps_the_newest_samples() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 3 * CAPACITY + 37, block=7)  # odd block size: blocks straddle the wrap
    assert cache.head == 337
    # the newest capacity - max_block samples are readable
    assert cache.oldest == 337 - (CAPACITY - MAX_BLOCK) == 247
    window = cache.read(cache.oldest, cache.head)
    assert (window.first_sample, window.n_samples, window.missed) == (247, 90, 0)
    np.testing.assert_array_equal(window.data, _expected(window))


@pytest.mark.parametrize(("start", "stop"), [(295, 305), (299, 301), (250, 337), (300, 337)])
def test_read_across_the_wrap(start: int, stop: int) -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 337, block=9)
    window = cache.read(start, stop)
    assert (window.first_sample, window.stop_sample, window.missed) == (start, stop, 0)
    np.testing.assert_array_equal(window.data, _expected(window))
    # rows selection across the wrap, in the order asked
    rows = [2, 0]
    picked = cache.read(start, stop, np.asarray(rows, dtype=np.intp))
    assert picked.data.shape == (2, stop - start)
    np.testing.assert_array_equal(picked.data, _expected(picked, rows))


def test_read_returns_a_copy() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 50)
    window = cache.read(10, 20)
    snapshot = window.data.copy()
    _fill(cache, 400)  # overwrite every slot several times
    np.testing.assert_array_equal(window.data, snapshot)
    rows = cache.read(cache.oldest, cache.oldest + 5, np.asarray([1], dtype=np.intp))
    snapshot = rows.data.copy()
    _fill(cache, 800)
    np.testing.assert_array_equal(rows.data, snapshot)


@pytest.mark.parametrize("start", [0, 1, 100, 246])
def test_reading_older_than_oldest_counts_missed(start: int) -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 337)
    window = cache.read(start, 300)
    assert window.first_sample == cache.oldest == 247
    assert window.missed == 247 - start
    assert window.first_sample == start + window.missed
    assert window.stop_sample == 300
    np.testing.assert_array_equal(window.data, _expected(window))


def test_window_entirely_older_than_oldest() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 337)
    window = cache.read(10, 40)
    # nothing of [10, 40) is left: the whole gap up to the oldest sample is reported
    assert window.n_samples == 0
    assert window.first_sample == 247 and window.missed == 237


def test_overwritten_during_copy_is_dropped_not_torn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader whose copy races the writer loses the overwritten part and counts it missed."""
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 200)
    original_copy = SignalCache._copy

    def racing_copy(
        self: SignalCache, lo: int, stop: int, rows: npt.NDArray[np.intp] | None
    ) -> npt.NDArray[np.float32]:
        out = original_copy(self, lo, stop, rows)
        # the writer moves 25 samples on while the copy is in flight and overwrites its
        # oldest slots in the ring; the copy itself already holds the old values
        _fill(self, self.head + 25)
        return out

    monkeypatch.setattr(SignalCache, "_copy", racing_copy)
    start = cache.oldest  # 110
    window = cache.read(start, 160)
    # after the race the safe range starts at head + max_block - capacity = 225 + 10 - 100
    assert window.first_sample == 135
    assert window.missed == 135 - start
    assert window.stop_sample == 160
    np.testing.assert_array_equal(window.data, _expected(window))


def test_close_wakes_waiters_and_leaves_samples_readable() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 30)
    assert cache.wait_for(10, timeout=0.0)  # already there
    assert not cache.wait_for(30, timeout=0.01)  # not yet, not closed

    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(cache.wait_for(10_000, timeout=30)))
    waiter.start()
    cache.close()
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert woke == [True] and cache.closed
    # a closed cache still drains: readers get what is left
    window = cache.read(0, 30)
    assert window.n_samples == 30
    np.testing.assert_array_equal(window.data, _expected(window))
    # and waiting on a closed cache returns at once
    assert cache.wait_for(10_000, timeout=30)


def test_wait_for_wakes_on_append() -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(cache.wait_for(4, timeout=30)))
    waiter.start()
    cache.append(_block(0, 5))
    waiter.join(timeout=30)
    assert woke == [True]


@pytest.mark.parametrize(
    "shape",
    [(N_CH - 1, 5), (N_CH + 1, 5), (N_CH, MAX_BLOCK + 1)],
    ids=["too-few-rows", "too-many-rows", "block-too-long"],
)
def test_bad_block_shapes_are_refused(shape: tuple[int, int]) -> None:
    cache = SignalCache(N_CH, CAPACITY, MAX_BLOCK)
    _fill(cache, 20)
    with pytest.raises(ValueError, match="does not fit cache"):
        cache.append(np.zeros(shape, np.float32))
    # nothing was written
    assert cache.head == 20
    window = cache.read(0, 20)
    np.testing.assert_array_equal(window.data, _expected(window))


@pytest.mark.parametrize(
    ("n_channels", "capacity", "max_block"),
    [(0, 100, 10), (2, 100, 0), (2, 20, 10), (2, 10, 10)],
)
def test_bad_cache_geometry_is_refused(n_channels: int, capacity: int, max_block: int) -> None:
    with pytest.raises(ValueError, match="cache needs"):
        SignalCache(n_channels, capacity, max_block)
