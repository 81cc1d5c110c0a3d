"""Run an async generator a few items ahead of its consumer, in a task of its own.

A grpc.aio server stream asks its handler for the next message only once the previous one has
been handed to the transport, and that hand-off completes on another thread (the completion
queue's poller) which then has to wake the event loop. With a bulk stream the loop would sit
idle through that round trip and only then cut and encode the next message. :class:`ReadAhead`
lets it do that work meanwhile, so preparing a message and sending the previous one overlap.

A live stream should not work ahead: a message cut early holds fewer, older samples than one
cut when it can actually leave. Its producer awaits :meth:`ReadAhead.until_hungry` (the
consumer has nothing left and waits) before it cuts anything short of a full message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    """An exception travelling through the queue."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


class ReadAhead(Generic[T]):
    """Up to ``depth`` items produced ahead of the consumer.

    Parameters
    ----------
    depth : int
        Items that may wait, produced but not yet taken (>= 1).

    Raises
    ------
    ValueError
        If ``depth`` < 1.

    Examples
    --------
    >>> async def numbers():
    ...     for i in range(3):
    ...         yield i
    >>> async def collect():
    ...     ahead = ReadAhead(depth=2)
    ...     return [i async for i in ahead.run(numbers())]
    >>> asyncio.run(collect())
    [0, 1, 2]
    """

    def __init__(self, depth: int) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self._queue: asyncio.Queue[object] = asyncio.Queue(depth)
        self._hungry = asyncio.Event()

    async def until_hungry(self) -> None:
        """Return once the consumer has taken every item and waits for the next one."""
        await self._hungry.wait()

    async def run(self, source: AsyncIterator[T]) -> AsyncIterator[T]:
        """Yield what ``source`` yields, iterating it in a task of its own.

        An exception in ``source`` is raised here, after the items produced before it.
        Closing (or cancelling) this generator cancels the producer, which closes ``source``.
        """
        queue = self._queue

        async def produce() -> None:
            try:
                async for item in source:
                    self._hungry.clear()  # fed (the consumer sets it again when it waits)
                    await queue.put(item)
            except Exception as exc:  # handed to the consumer, which raises it
                await queue.put(_Failed(exc))
                return
            await queue.put(_END)

        producer = asyncio.create_task(produce())
        try:
            while True:
                if queue.empty():
                    self._hungry.set()
                item = await queue.get()
                self._hungry.clear()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item  # type: ignore[misc]
        finally:
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
