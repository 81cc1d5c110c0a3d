"""LiveNotifier.wait_until: no arming while there is work, no wake-up lost around the arming."""

from __future__ import annotations

import asyncio
import threading
import time

from radiens_async.hub.live_notifier import LiveNotifier


def test_ready_returns_at_once_without_arming() -> None:
    async def main() -> None:
        notifier = LiveNotifier(asyncio.get_running_loop())
        assert await notifier.wait_until(lambda: True, timeout=5.0)
        assert notifier._future is None  # nothing armed: producers do not wake the loop

    asyncio.run(main())


def test_a_block_landing_while_arming_is_seen_by_the_second_look() -> None:
    async def main() -> None:
        notifier = LiveNotifier(asyncio.get_running_loop())
        looks = iter([False, True])  # the block lands between the first look and arm()
        t0 = time.perf_counter()
        assert await notifier.wait_until(lambda: next(looks), timeout=5.0)
        assert time.perf_counter() - t0 < 1.0  # did not wait

    asyncio.run(main())


def test_not_ready_waits_for_the_producer_thread_or_the_timeout() -> None:
    async def main() -> tuple[bool, float, bool, float]:
        notifier = LiveNotifier(asyncio.get_running_loop())
        timer = threading.Timer(0.05, notifier)  # a block from another thread
        t0 = time.perf_counter()
        timer.start()
        woken = await notifier.wait_until(lambda: False, timeout=5.0)
        waited = time.perf_counter() - t0
        t1 = time.perf_counter()
        timed_out = await notifier.wait_until(lambda: False, timeout=0.05)
        return woken, waited, timed_out, time.perf_counter() - t1

    woken, waited, timed_out, waited_out = asyncio.run(main())
    assert woken is False and 0.04 <= waited < 4.0  # woken by the block, long before 5 s
    assert timed_out is False and waited_out >= 0.04
