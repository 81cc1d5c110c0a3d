"""ReadAhead: same items in order, errors after the items before them, closing cancels, and a
producer can wait until the consumer is hungry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from radiens_async.hub.read_ahead import ReadAhead


async def _numbers(n: int, produced: list[int], fail_at: int | None = None) -> AsyncIterator[int]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"failed at {i}")
        produced.append(i)
        yield i


def test_items_arrive_in_order_and_the_producer_runs_ahead_by_depth() -> None:
    async def main() -> None:
        produced: list[int] = []
        got = []
        async with contextlib.aclosing(ReadAhead[int](3).run(_numbers(10, produced))) as items:
            async for i in items:
                await asyncio.sleep(0.01)  # the producer may run while we wait
                assert len(produced) - len(got) <= 3 + 2  # queued + in hand + being put
                got.append(i)
        assert got == list(range(10))

    asyncio.run(main())


def test_an_error_is_raised_after_the_items_produced_before_it() -> None:
    async def main() -> list[int]:
        got: list[int] = []
        with pytest.raises(RuntimeError, match="failed at 4"):
            async for i in ReadAhead[int](2).run(_numbers(10, [], fail_at=4)):
                got.append(i)
        return got

    assert asyncio.run(main()) == [0, 1, 2, 3]


def test_closing_early_cancels_the_producer_and_closes_the_source() -> None:
    closed = asyncio.Event

    async def main() -> tuple[bool, int]:
        done = closed()
        produced = 0

        async def endless() -> AsyncIterator[int]:
            nonlocal produced
            try:
                while True:
                    produced += 1
                    yield produced
                    await asyncio.sleep(0)
            finally:
                done.set()

        async with contextlib.aclosing(ReadAhead[int](2).run(endless())) as items:
            async for i in items:
                if i == 3:
                    break
        await asyncio.sleep(0.01)
        before = produced
        await asyncio.sleep(0.01)
        return done.is_set(), produced - before

    source_closed, produced_after = asyncio.run(main())
    assert source_closed and produced_after == 0


def test_depth_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="depth must be >= 1"):
        ReadAhead[int](0)


def test_a_producer_waiting_for_a_hungry_consumer_cuts_its_item_at_the_last_moment() -> None:
    async def main() -> list[tuple[int, int]]:
        ahead: ReadAhead[tuple[int, int]] = ReadAhead(2)
        clock = 0  # advances while the consumer is busy "sending"

        async def live() -> AsyncIterator[tuple[int, int]]:
            for i in range(4):
                await ahead.until_hungry()
                yield (i, clock)  # cut now: everything up to this moment is in it

        got = []
        async for item in ahead.run(live()):
            got.append(item)
            for _ in range(3):
                clock += 1
                await asyncio.sleep(0)  # the producer could run here, but must not cut
        return got

    # each item was cut after the consumer's previous "send" finished (clock 0, 3, 6, 9)
    assert asyncio.run(main()) == [(0, 0), (1, 3), (2, 6), (3, 9)]
