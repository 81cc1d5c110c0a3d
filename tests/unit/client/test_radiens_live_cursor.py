"""Exact sample accounting of the polling cursor against a fake live cache (no network).

The fake cache misbehaves the ways a server may: it rounds a range down (repeats samples), clips
a range to what it still holds (loses samples), answers OUT_OF_RANGE for a range it no longer
holds, and moves on between polls. Over every schedule the cursor must deliver each sample at
most once, in order, and count every sample it did not deliver.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from radiens_async.client.backends.radiens_live_cursor import LiveCursor, StreamRestarted
from radiens_async.models.converters.radiens_signals import LiveBlock

pytestmark = pytest.mark.anyio

FS = 1000.0


class FakeCache:
    """Samples ``[oldest, head)`` of a cache whose sample ``k`` has the value ``k``."""

    def __init__(
        self, head: int = 0, capacity: int = 1000, *, round_down: int = 0, clip: bool = True
    ) -> None:
        self.head = head
        self.capacity = capacity
        self.round_down = round_down  # the server starts this many samples early
        self.clip = clip  # True: serve from the oldest; False: answer OUT_OF_RANGE
        self.reads = 0

    @property
    def oldest(self) -> int:
        return max(0, self.head - self.capacity)

    def advance(self, n: int) -> None:
        self.head += n

    async def read(self, start: int, stop: int | None, early: bool = True) -> LiveBlock | None:
        self.reads += 1
        if start > self.head:
            return None  # ahead of the head
        if early:
            start = max(0, start - self.round_down)
        if start < self.oldest and not self.clip:
            return None
        first = max(start, self.oldest)
        last = self.head if stop is None else min(stop, self.head)
        last = max(last, first)
        data = np.arange(first, last, dtype=np.float32).reshape(1, -1)
        return LiveBlock(data=data, first_sample=first, fs=FS)

    async def cache_range(self) -> tuple[int, int]:
        return self.oldest, self.head


def check_contiguous(chunks: list[tuple[LiveBlock, int]], start: int) -> int:
    """Every block starts where the last ended plus its missed count; returns the next sample."""
    expected = start
    for block, missed in chunks:
        assert block.first_sample == expected + missed
        np.testing.assert_array_equal(
            block.data[0], np.arange(block.first_sample, block.stop_sample, dtype=np.float32)
        )
        expected = block.stop_sample
    return expected


async def test_reads_are_contiguous_without_repeats_when_the_server_rounds_down() -> None:
    cache = FakeCache(head=100, round_down=1)
    cursor = LiveCursor(cache, next_sample=100)
    chunks = []
    for step in (10, 0, 7, 33, 1):
        cache.advance(step)
        r = await cursor.read()
        chunks.append((r.block, r.missed))
    assert check_contiguous(chunks, 100) == cache.head
    assert sum(m for _, m in chunks) == 0


async def test_a_clipped_range_is_reported_as_missed_with_the_next_block() -> None:
    cache = FakeCache(head=0, capacity=50)
    cursor = LiveCursor(cache, next_sample=0)
    cache.advance(200)  # the cache holds [150, 200): 150 samples are gone
    r = await cursor.read()
    assert (r.missed, r.block.first_sample, r.block.n_samples) == (150, 150, 50)


async def test_a_refused_early_edge_at_the_oldest_sample_is_asked_again_exactly() -> None:
    cache = FakeCache(head=100, capacity=50, round_down=1, clip=False)
    cursor = LiveCursor(cache, next_sample=50)  # the oldest sample held
    r = await cursor.read()
    assert (r.missed, r.block.first_sample, r.block.stop_sample) == (0, 50, 100)


async def test_out_of_range_reads_from_the_oldest_and_counts_the_loss() -> None:
    cache = FakeCache(head=0, capacity=50, clip=False)
    cursor = LiveCursor(cache, next_sample=0)
    cache.advance(120)
    r = await cursor.read()
    assert (r.missed, r.block.first_sample, r.block.stop_sample) == (70, 70, 120)


async def test_nothing_new_keeps_the_cursor_and_any_loss_for_later() -> None:
    cache = FakeCache(head=10)
    cursor = LiveCursor(cache, next_sample=10)
    r = await cursor.read()
    assert (r.block.n_samples, r.missed, cursor.next_sample) == (0, 0, 10)
    cursor.skip_to(15)  # a loss with no samples yet to attach it to
    cache.advance(10)
    r = await cursor.read()
    assert (r.missed, r.block.first_sample) == (5, 15)


async def test_max_samples_bounds_a_read_and_says_a_backlog_remains() -> None:
    cache = FakeCache(head=100, round_down=1)
    cursor = LiveCursor(cache, next_sample=0)
    r = await cursor.read(max_samples=30)
    assert (r.block.first_sample, r.block.n_samples, r.reached_stop) == (0, 30, True)
    r = await cursor.read(max_samples=1000)
    assert (r.block.first_sample, r.block.stop_sample, r.reached_stop) == (30, 100, False)


async def test_a_reader_too_far_behind_skips_ahead_and_counts_it() -> None:
    cache = FakeCache(head=1000, capacity=10_000)
    cursor = LiveCursor(cache, next_sample=0, max_lag=100)
    await cursor.catch_up()
    r = await cursor.read()
    assert (r.missed, r.block.first_sample, r.block.stop_sample) == (900, 900, 1000)


async def test_a_head_behind_the_cursor_is_a_new_stream() -> None:
    cache = FakeCache(head=500, clip=False)
    cursor = LiveCursor(cache, next_sample=500)
    cache.head = 20  # streaming stopped and started again: samples restart at 0
    with pytest.raises(StreamRestarted):
        await cursor.read()


@pytest.mark.parametrize("seed", range(20))
async def test_random_schedules_never_lose_silently_nor_repeat(seed: int) -> None:
    rng = random.Random(seed)
    cache = FakeCache(
        head=rng.randrange(0, 50),
        capacity=rng.choice([20, 100, 1000]),
        round_down=rng.choice([0, 1, 3]),
        clip=rng.random() < 0.5,
    )
    start = cache.head
    cursor = LiveCursor(cache, next_sample=start, max_lag=rng.choice([None, 300]))
    chunks = []
    for _ in range(60):
        cache.advance(rng.choice([0, 1, 5, 40, 250]))
        if rng.random() < 0.3:
            await cursor.catch_up()
        r = await cursor.read(max_samples=rng.choice([0, 16, 64]))
        if r.block.n_samples:
            chunks.append((r.block, r.missed))
        else:
            assert r.missed == 0
    cache.advance(1)  # one last sample, to carry any loss still pending
    r = await cursor.read()
    chunks.append((r.block, r.missed))
    delivered = check_contiguous(chunks, start)
    assert delivered == cursor.next_sample == cache.head
    assert sum(b.n_samples for b, _ in chunks) + sum(m for _, m in chunks) == delivered - start
