"""Derive blocking methods from async ones, keeping signature and docstring.

``get_status = blocking(AsyncAllegoClient.get_status)`` makes a method that runs the coroutine
on the shared portal and returns its result; ``stream_signals = iterating(...)`` turns an async
generator into a plain iterator that cancels the underlying call when closed.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from anyio.from_thread import BlockingPortal

from radiens_async.sync.portal import get_portal

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class SyncClientBase:
    """Holds the async twin (``self._async``) and the portal that runs it."""

    _portal: BlockingPortal
    _async: Any

    def _run(self, fn: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
        return _call(self._portal, functools.partial(fn, *args, **kwargs))


def _call(portal: BlockingPortal, fn: Callable[..., Awaitable[R]], *args: Any) -> R:
    """``portal.call``, except that a caller interrupted while waiting (Ctrl-C in a notebook)
    cancels the coroutine on the loop instead of leaving it running there."""
    future = portal.start_task_soon(fn, *args)
    try:
        return future.result()
    except BaseException:
        future.cancel()  # a no-op once the coroutine has finished
        raise


def _blocking_doc(doc: str | None) -> str:
    note = "Blocking twin of the async method; same parameters, returns the awaited result."
    return f"{doc}\n\n    {note}" if doc else note


def blocking(fn: Callable[Concatenate[Any, P], Awaitable[R]]) -> Callable[Concatenate[Any, P], R]:
    """A blocking method that runs the async method ``fn`` of ``self._async`` on the portal."""

    @functools.wraps(fn)
    def method(self: SyncClientBase, *args: P.args, **kwargs: P.kwargs) -> R:
        return _call(self._portal, functools.partial(fn, self._async, *args, **kwargs))

    method.__doc__ = _blocking_doc(fn.__doc__)
    return method


class BlockingIterator(Generic[T]):
    """A plain iterator over an async generator running on the portal.

    ``close()`` (or leaving a ``with`` block, or garbage collection) closes the generator, which
    cancels the hub call behind it.
    """

    def __init__(self, portal: BlockingPortal, agen: AsyncIterator[T]) -> None:
        self._portal = portal
        self._agen = agen
        self._closed = False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            return _call(self._portal, _anext, self._agen)
        except StopAsyncIteration:
            self._closed = True
            raise StopIteration from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the async generator (cancels the stream)."""
        if self._closed:
            return
        self._closed = True
        aclose = getattr(self._agen, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):  # the portal is gone (interpreter exit)
                self._portal.call(aclose)

    def __enter__(self) -> BlockingIterator[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


def iterating(
    fn: Callable[Concatenate[Any, P], AsyncIterator[T]],
) -> Callable[Concatenate[Any, P], BlockingIterator[T]]:
    """A method returning a :class:`BlockingIterator` over the async generator method ``fn``."""

    @functools.wraps(fn)
    def method(self: SyncClientBase, *args: P.args, **kwargs: P.kwargs) -> BlockingIterator[T]:
        return BlockingIterator(self._portal, fn(self._async, *args, **kwargs))

    method.__doc__ = _blocking_doc(fn.__doc__)
    return method


def sync_property(name: str, doc: str | None = None) -> property:
    """A read-only property forwarded to the async twin."""
    return property(lambda self: getattr(self._async, name), doc=doc)


def construct(portal: BlockingPortal, cls: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Build an async client inside the portal's loop (grpclib binds the loop it is built in)."""

    async def build() -> T:
        return cls(*args, **kwargs)

    return portal.call(build)


__all__ = [
    "BlockingIterator",
    "SyncClientBase",
    "blocking",
    "construct",
    "get_portal",
    "iterating",
    "sync_property",
]
