"""One event loop thread per process that runs every blocking call's coroutine.

The loop lives in a daemon thread of its own, so the blocking API also works when the calling
thread already runs an event loop (Jupyter), and interpreter exit never waits for it.
"""

from __future__ import annotations

import atexit
import contextlib
import queue
import threading

import anyio
from anyio.from_thread import BlockingPortal

_lock = threading.Lock()
_portal: BlockingPortal | None = None
_thread: threading.Thread | None = None


def _run(ready: queue.Queue[BlockingPortal | BaseException]) -> None:
    async def main() -> None:
        async with BlockingPortal() as portal:
            ready.put(portal)
            await portal.sleep_until_stopped()

    try:
        anyio.run(main, backend="asyncio")
    except BaseException as exc:  # pragma: no cover - surfaced to the caller below
        ready.put(exc)


def get_portal() -> BlockingPortal:
    """The process-wide portal, started on first use."""
    global _portal, _thread
    with _lock:
        if _portal is None or _thread is None or not _thread.is_alive():
            ready: queue.Queue[BlockingPortal | BaseException] = queue.Queue()
            _thread = threading.Thread(target=_run, args=(ready,), name="radiens-sync", daemon=True)
            _thread.start()
            result = ready.get()
            if isinstance(result, BaseException):
                raise result
            _portal = result
        return _portal


def stop_portal() -> None:
    """Stop the portal's loop (at exit, or in tests)."""
    global _portal
    with _lock:
        portal, _portal = _portal, None
    if portal is not None:
        with contextlib.suppress(RuntimeError):
            portal.call(portal.stop, True)


atexit.register(stop_portal)
