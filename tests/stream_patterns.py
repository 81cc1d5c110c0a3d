"""Leave a live stream one way, in a process of its own; prints what was left open.

Run by ``tests/integration/test_stream_keepalive.py`` as ``python stream_patterns.py ADDRESS
PATTERN``: the test checks this process's stderr (nothing may be printed at loop or interpreter
shutdown) and the ``CONNS`` lines (established connections to the hub: the control channel is 1,
a live stream adds 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from radiens_async import AsyncAllegoClient

ESTABLISHED = "01"


def hub_connections(port: int) -> int:
    """Established TCP connections of any process to ``127.0.0.1:port`` (client side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == ESTABLISHED and int(fields[2].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


async def settled(port: int, want: int, within_s: float = 2.0) -> int:
    """The connection count once it is ``want`` (or whatever it is after ``within_s``)."""
    deadline = time.monotonic() + within_s
    while True:  # polling the kernel's socket table: nothing to wait on
        n = hub_connections(port)
        if n == want or time.monotonic() >= deadline:
            return n
        await asyncio.sleep(0.02)


async def raise_inside(stream: AsyncIterator[Any]) -> None:
    async for _ in stream:
        raise ValueError("the helper fails while the stream is open")


async def consume(stream: AsyncIterator[Any], first: asyncio.Event) -> None:
    async for _ in stream:
        first.set()


async def fail_after(*events: asyncio.Event) -> None:
    for event in events:
        await event.wait()
    raise ValueError("a sibling task fails")


def report(label: str, value: object) -> None:
    print(f"{label} {value}", flush=True)


async def main(address: str, pattern: str) -> None:
    port = int(address.rsplit(":", 1)[1])
    kept: list[Any] = []
    async with AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=1)
        await allego.set_streaming("on")
        report("CONNS_BEFORE", await settled(port, 1))
        started = time.monotonic()
        if pattern == "normal_end":
            chunks = allego.stream_signals()
            async for _ in chunks:
                await allego.set_streaming("off")  # the hub ends the stream
        elif pattern == "break_aclose":
            chunks = allego.stream_signals()
            async for _ in chunks:
                break
            report("CONNS_KEPT", hub_connections(port))
            started = time.monotonic()
            await chunks.aclose()
        elif pattern == "raise_caught":
            with contextlib.suppress(ValueError):
                await raise_inside(allego.stream_signals())
        elif pattern == "raise_kept":
            try:
                await raise_inside(allego.stream_signals())
            except ValueError as exc:
                kept.append(exc)  # its traceback keeps the generator (and its stream) alive
            report("CONNS_KEPT", await settled(port, 2))
            started = time.monotonic()
            kept.clear()  # dropped: the loop's finaliser hook closes the generator
            gc.collect()
        elif pattern == "athrow":
            chunks = allego.stream_signals()
            await chunks.__anext__()
            with contextlib.suppress(KeyError):
                await chunks.athrow(KeyError("thrown in"))
        elif pattern == "cancel":
            first = asyncio.Event()
            task = asyncio.create_task(consume(allego.stream_signals(), first))
            await first.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif pattern == "abandoned":
            chunks = allego.stream_signals()
            await chunks.__anext__()
            del chunks
            gc.collect()  # the loop's finaliser hook closes it
        elif pattern == "taskgroup":
            # a sibling fails: the group cancels the tasks iterating the streams
            signals, spikes = asyncio.Event(), asyncio.Event()
            with contextlib.suppress(ExceptionGroup):
                async with asyncio.TaskGroup() as group:
                    group.create_task(consume(allego.stream_signals(), signals))
                    group.create_task(consume(allego.spikes().stream(start="oldest"), spikes))
                    group.create_task(fail_after(signals, spikes))
        elif pattern == "shutdown":
            # still iterating in a task and held in a variable when the loop shuts down
            chunks = allego.stream_signals()
            first = asyncio.Event()
            kept.append(chunks)
            kept.append(asyncio.create_task(consume(chunks, first)))
            await first.wait()
            report("CONNS_AFTER", "skipped")
            return
        elif pattern == "raise_uncaught":
            await raise_inside(allego.stream_signals())
        else:
            raise SystemExit(f"unknown pattern {pattern!r}")
        report("CONNS_AFTER", await settled(port, 1))
        report("RELEASE_S", f"{time.monotonic() - started:.3f}")


if __name__ == "__main__":
    with contextlib.suppress(ValueError):
        asyncio.run(main(sys.argv[1], sys.argv[2]))
    print("EXITED", flush=True)
