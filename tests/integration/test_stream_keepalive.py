"""Streams against real hubs: safe however they are left, and a frozen hub is noticed.

Each way of leaving a stream runs in a process of its own (``tests/stream_patterns.py``), whose
stderr must stay free of shutdown noise and whose stream connection must be gone promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from radiens_async import AsyncAllegoClient
from radiens_async.client.tuned_channel import ENV_KEEPALIVE, keepalive_bound_s
from radiens_async.errors import TransportError

from hub_process import HubProcess

PATTERNS_SCRIPT = Path(__file__).resolve().parent.parent / "stream_patterns.py"
SHUTDOWN_NOISE = (
    "didn't stop after athrow",
    "Task was destroyed but it is pending",
    "Unclosed",
    "an error occurred during closing of asynchronous generator",
    "Traceback",
)
RELEASE_BOUND_S = 1.0  # a closed stream's connection is gone within this


@pytest.fixture(scope="module")
def patterns_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("patterns-hub")) as process:
        yield process


def _run_pattern(address: str, pattern: str) -> tuple[dict[str, str], str]:
    done = subprocess.run(
        [sys.executable, str(PATTERNS_SCRIPT), address, pattern],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "default", "PYTHONASYNCIODEBUG": ""},
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line.strip())
    assert done.returncode == 0, done.stderr
    assert "EXITED" in done.stdout, done.stdout + done.stderr
    return lines, done.stderr


@pytest.mark.parametrize(
    "pattern",
    [
        "normal_end",
        "break_aclose",
        "raise_caught",
        "raise_kept",
        "athrow",
        "cancel",
        "abandoned",
        "taskgroup",
    ],
)
def test_stream_released_however_left(patterns_hub: HubProcess, pattern: str) -> None:
    lines, stderr = _run_pattern(patterns_hub.address, pattern)
    for noise in SHUTDOWN_NOISE:
        assert noise not in stderr, stderr
    assert lines["CONNS_BEFORE"] == "1"  # the control channel
    assert lines["CONNS_AFTER"] == "1", lines  # the stream's own connection is gone
    assert float(lines["RELEASE_S"]) < RELEASE_BOUND_S + 1.0  # includes the pattern's own work
    if pattern in ("break_aclose", "raise_kept"):
        assert lines["CONNS_KEPT"] == "2"  # held while reachable, until aclose() or dropped
        assert float(lines["RELEASE_S"]) < RELEASE_BOUND_S


@pytest.mark.parametrize("pattern", ["shutdown", "raise_uncaught"])
def test_nothing_printed_at_loop_shutdown(patterns_hub: HubProcess, pattern: str) -> None:
    lines, stderr = _run_pattern(patterns_hub.address, pattern)
    for noise in SHUTDOWN_NOISE:
        assert noise not in stderr, stderr
    assert lines["CONNS_BEFORE"] == "1"


def test_unknown_pattern_is_refused(patterns_hub: HubProcess) -> None:
    done = subprocess.run(
        [sys.executable, str(PATTERNS_SCRIPT), patterns_hub.address, "no-such-pattern"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "unknown pattern" in done.stderr


# -- keepalive -------------------------------------------------------------------------------
pytestmark = pytest.mark.anyio


async def test_frozen_hub_ends_the_stream(tmp_path: Path) -> None:
    bound = keepalive_bound_s()
    assert bound is not None and bound <= 10
    limit = bound + 5.0  # the window's backlog drains first; then one missed ping closes it
    with HubProcess(tmp_path) as hub:
        assert hub.proc is not None
        try:
            async with AsyncAllegoClient(hub.address) as allego:
                await allego.restart("sim-sine", num_channels=16)
                await allego.set_streaming("on")
                chunks = allego.stream_signals(max_lag_s=0.5)
                async with contextlib.aclosing(chunks):
                    await chunks.__anext__()
                    os.kill(hub.proc.pid, signal.SIGSTOP)
                    frozen = time.monotonic()
                    with pytest.raises(TransportError):
                        async with asyncio.timeout(limit + 5.0):
                            async for _ in chunks:
                                pass
                    noticed = time.monotonic() - frozen
                assert noticed < limit, f"noticed after {noticed:.1f} s, bound {limit:.1f} s"
        finally:
            os.kill(hub.proc.pid, signal.SIGCONT)


async def test_idle_stream_not_cut_on_healthy_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_KEEPALIVE, "1,2")  # pings every second: 5 of them below
    with HubProcess(tmp_path) as hub:
        async with AsyncAllegoClient(hub.address) as allego:
            await allego.restart("sim-sine", num_channels=16)  # no spikes: an idle stream
            await allego.set_streaming("on")
            received: list[object] = []

            async def consume() -> None:
                async for batch in allego.spikes().stream():
                    received.append(batch)

            task = asyncio.create_task(consume())
            await asyncio.sleep(5.0)
            assert not task.done(), task.exception()  # not ended by GOAWAY or keepalive
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert (await allego.get_status()).stream.mode == "S_ON"  # the control channel lives
        assert "too_many_pings" not in "".join(hub.output)
