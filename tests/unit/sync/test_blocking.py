"""blocking() / iterating(): sync twins keep signature and docstring; iterators close the stream."""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import signal
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.sync.blocking import (
    BlockingIterator,
    SyncClientBase,
    blocking,
    construct,
    get_portal,
    iterating,
    sync_property,
)

PORTAL_THREAD = "radiens-sync"


class AsyncThing:
    """An async client stand-in: coroutines, async generators, a property."""

    def __init__(self, scale: int = 1) -> None:
        asyncio.get_running_loop()  # like grpclib, it must be built inside the loop
        self.built_in = threading.current_thread().name
        self.scale = scale
        self.events: list[str] = []

    @property
    def name(self) -> str:
        """The thing's name."""
        return f"thing x{self.scale}"

    async def add(self, a: int, b: int = 2, *, c: float = 0.0) -> float:
        """Add numbers on the loop.

        Parameters
        ----------
        a, b : int
            Addends.
        c : float
            One more, keyword only.
        """
        await asyncio.sleep(0)
        return (a + b + c) * self.scale

    async def where(self) -> str:
        """Name of the thread the coroutine ran in."""
        return threading.current_thread().name

    async def fail(self, message: str) -> None:
        """Always refuses."""
        raise InvalidArgument(message, "INVALID_ARGUMENT")

    async def count(self, n: int, *, start: int = 0) -> AsyncGenerator[int, None]:
        """Count ``n`` numbers from ``start``."""
        try:
            for i in range(start, start + n):
                await asyncio.sleep(0)
                yield i
            self.events.append("exhausted")
        finally:
            self.events.append("count closed")

    async def forever(self) -> AsyncGenerator[int, None]:
        """Never ends on its own (a live stream)."""
        i = 0
        try:
            while True:
                await asyncio.sleep(0)
                yield i
                i += 1
        except GeneratorExit:
            self.events.append("forever aclosed")
            raise
        finally:
            self.events.append(f"forever closed on {threading.current_thread().name}")

    async def broken(self) -> AsyncGenerator[int, None]:
        """Yields once, then fails like a stream whose hub state changed."""
        try:
            yield 1
            raise FailedPrecondition("streaming is off", "FAILED_PRECONDITION")
        finally:
            self.events.append("broken closed")

    async def stall(self) -> None:
        """Waits forever (a call that hangs)."""
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.events.append("stall cancelled")
            raise

    async def stalled_stream(self) -> AsyncGenerator[int, None]:
        """Yields once, then waits forever for the next message."""
        try:
            yield 0
            await asyncio.Event().wait()
            yield 1
        finally:
            self.events.append("stalled stream closed")


class Thing(SyncClientBase):
    """Blocking twin of :class:`AsyncThing`, derived the way the real clients are."""

    def __init__(self, scale: int = 1) -> None:
        self._portal = get_portal()
        self._async = construct(self._portal, AsyncThing, scale)

    name = sync_property("name", "The thing's name.")
    add = blocking(AsyncThing.add)
    where = blocking(AsyncThing.where)
    fail = blocking(AsyncThing.fail)
    count = iterating(AsyncThing.count)
    forever = iterating(AsyncThing.forever)
    broken = iterating(AsyncThing.broken)
    stall = blocking(AsyncThing.stall)
    stalled_stream = iterating(AsyncThing.stalled_stream)


COROUTINES = ["add", "where", "fail"]
GENERATORS = ["count", "forever", "broken"]


@pytest.mark.parametrize("name", COROUTINES + GENERATORS)
def test_signature_and_docstring_are_kept(name: str) -> None:
    sync_method = getattr(Thing, name)
    async_method = getattr(AsyncThing, name)
    assert inspect.signature(sync_method) == inspect.signature(async_method)
    assert sync_method.__name__ == async_method.__name__
    assert async_method.__doc__
    assert sync_method.__doc__.startswith(async_method.__doc__)
    assert "Blocking twin" in sync_method.__doc__
    assert not inspect.iscoroutinefunction(sync_method)
    assert not inspect.isasyncgenfunction(sync_method)


def test_signature_details() -> None:
    params = inspect.signature(Thing.add).parameters
    assert list(params) == ["self", "a", "b", "c"]
    assert params["b"].default == 2
    assert params["c"].kind is inspect.Parameter.KEYWORD_ONLY
    assert inspect.signature(Thing.count).parameters["start"].default == 0


def test_construct_builds_inside_the_portal_loop() -> None:
    thing = Thing(scale=3)
    assert thing._async.built_in == PORTAL_THREAD
    assert thing.name == "thing x3"
    assert Thing.name.__doc__ == "The thing's name."
    with pytest.raises(AttributeError):
        thing.name = "renamed"  # type: ignore[misc]


def test_blocking_call_returns_the_awaited_result() -> None:
    thing = Thing(scale=2)
    assert thing.add(1) == 6.0
    assert thing.add(1, 3, c=0.5) == 9.0
    assert thing.add(a=4, b=0) == 8.0
    assert thing.where() == PORTAL_THREAD
    with pytest.raises(TypeError):
        thing.add()  # type: ignore[call-arg]


def test_typed_errors_propagate_unchanged() -> None:
    thing = Thing()
    with pytest.raises(InvalidArgument, match="bad value 7") as info:
        thing.fail("bad value 7")
    assert info.value.status == "INVALID_ARGUMENT"
    assert thing.add(1) == 3  # the portal is fine afterwards


def test_iterator_is_plain_and_runs_to_the_end() -> None:
    thing = Thing()
    it = thing.count(4, start=10)
    assert isinstance(it, BlockingIterator) and isinstance(it, Iterator)
    assert not hasattr(it, "__anext__")
    assert iter(it) is it
    assert list(it) == [10, 11, 12, 13]
    assert thing._async.events == ["exhausted", "count closed"]
    with pytest.raises(StopIteration):
        next(it)
    it.close()  # closing an exhausted iterator is a no-op
    assert thing._async.events == ["exhausted", "count closed"]


def test_break_and_close_closes_the_async_generator() -> None:
    thing = Thing()
    it = thing.forever()
    got = []
    for value in it:
        got.append(value)
        if value == 2:
            break
    assert got == [0, 1, 2]
    assert thing._async.events == []  # break alone leaves it open...
    it.close()  # ...close() ends it, on the portal's loop
    assert thing._async.events == ["forever aclosed", f"forever closed on {PORTAL_THREAD}"]
    assert it._agen.ag_frame is None  # type: ignore[attr-defined]
    with pytest.raises(StopIteration):
        next(it)
    it.close()  # idempotent
    assert len(thing._async.events) == 2


def test_with_block_closes_the_async_generator() -> None:
    thing = Thing()
    with thing.forever() as it:
        assert next(it) == 0
        assert next(it) == 1
    assert thing._async.events[0] == "forever aclosed"
    with pytest.raises(StopIteration):
        next(it)


def test_with_block_closes_on_error() -> None:
    thing = Thing()
    with pytest.raises(KeyError), thing.forever() as it:
        next(it)
        raise KeyError("consumer failed")
    assert thing._async.events[0] == "forever aclosed"


def test_garbage_collection_closes_the_async_generator() -> None:
    thing = Thing()
    it = thing.forever()
    assert next(it) == 0
    del it
    gc.collect()
    assert thing._async.events[0] == "forever aclosed"


def test_error_inside_the_stream_propagates_and_closes() -> None:
    thing = Thing()
    it = thing.broken()
    assert next(it) == 1
    with pytest.raises(FailedPrecondition, match="streaming is off"):
        next(it)
    assert thing._async.events == ["broken closed"]
    with pytest.raises(StopIteration):
        next(it)


def test_works_inside_a_running_event_loop() -> None:
    """The Jupyter case: the calling thread already runs a loop."""
    thing = Thing()

    async def notebook_cell() -> tuple[float, list[int], str]:
        caller = threading.current_thread().name
        total = thing.add(1, 1)
        with thing.count(3) as it:
            numbers = list(it)
        return total, numbers, caller

    total, numbers, caller = asyncio.run(notebook_cell())
    assert (total, numbers) == (2.0, [0, 1, 2])
    assert caller != PORTAL_THREAD


def test_many_threads_share_one_portal() -> None:
    thing = Thing()

    def work(i: int) -> tuple[float, list[int]]:
        with thing.count(3, start=i) as it:
            return thing.add(i, 0), list(it)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(16)))
    assert results == [(float(i), [i, i + 1, i + 2]) for i in range(16)]
    assert get_portal() is thing._portal


def _interrupted(call: Callable[[], object]) -> None:
    """Run ``call`` in the main thread and interrupt its wait like Ctrl-C does."""
    previous = signal.getsignal(signal.SIGUSR1)

    def ctrl_c(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGUSR1, ctrl_c)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)


def _wait_for_event(thing: Thing, event: str) -> bool:
    deadline = time.monotonic() + 10
    while event not in thing._async.events:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_interrupted_call_is_cancelled_on_the_loop() -> None:
    thing = Thing()
    _interrupted(thing.stall)
    assert _wait_for_event(thing, "stall cancelled")
    assert thing.add(1) == 3  # the portal goes on serving


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_interrupted_stream_is_closed_on_the_loop() -> None:
    thing = Thing()
    it = thing.stalled_stream()
    assert next(it) == 0
    _interrupted(lambda: next(it))
    assert _wait_for_event(thing, "stalled stream closed")
    with pytest.raises(StopIteration):
        next(it)
