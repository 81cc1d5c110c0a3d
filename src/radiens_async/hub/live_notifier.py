"""Wakes the hub's asyncio stream handlers when the acquisition thread has appended a block.

The acquisition loop calls the notifier from its own thread after every block; the notifier hops
onto the event loop once (``call_soon_threadsafe``) and resolves a shared future that every
waiting handler awaits. With nobody waiting, a block costs one attribute read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from radiens_async.hub.daq.signal_cache import SignalCache


class LiveNotifier:
    """Bridge from the acquisition thread to tasks on ``loop`` waiting for new samples.

    Examples
    --------
    >>> notifier = LiveNotifier(asyncio.get_running_loop())  # doctest: +SKIP
    >>> device.block_listeners.append(notifier)  # doctest: +SKIP
    >>> await notifier.wait(timeout=1.0)  # in a stream handler  # doctest: +SKIP
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[None] | None = None

    def __call__(self, cache: SignalCache | None = None) -> None:
        """Called in a producer thread after each block (and when a stream ends)."""
        if self._future is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        future, self._future = self._future, None
        if future is not None and not future.done():
            future.set_result(None)

    def arm(self) -> None:
        """Ask to be woken by the next block. Call it *before* checking the cache head, so a block
        that lands between the check and :meth:`wait` still wakes the waiter."""
        if self._future is None:
            self._future = self._loop.create_future()

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Return ``True`` at once when ``ready()``; otherwise wait for the next block (or
        ``timeout`` seconds) and return ``False`` (the caller looks again).

        ``ready`` is checked before arming (a busy stream, which always has something to send,
        never arms, so the producer thread does not wake the loop after every block) and once
        more after arming (a block that landed in between would not wake us).

        Examples
        --------
        >>> has_more = lambda: cache.head > cursor  # doctest: +SKIP
        >>> while not await notifier.wait_until(has_more, 0.25):  # doctest: +SKIP
        ...     pass
        """
        if ready():
            return True
        self.arm()
        if ready():
            return True
        await self.wait(timeout)
        return False

    async def wait(self, timeout: float) -> None:
        """Wait for the next block (or ``timeout`` seconds, whichever comes first)."""
        self.arm()
        assert self._future is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._future), timeout)
