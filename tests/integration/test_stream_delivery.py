"""Delivery accounting of ``stream_signals`` against a hub with a short (3 s) live cache."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import radiens_async as radiens

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

FS = 30000


@pytest.fixture(scope="module")
def short_cache_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    data_dir: Path = tmp_path_factory.mktemp("short-cache-hub")
    with HubProcess(data_dir, "--cache-seconds", "3") as process:
        yield process


@dataclass
class Tally:
    first: int | None = None
    received: int = 0
    missed: int = 0
    stop: int = 0
    chunks: int = 0


async def _consume(
    client: radiens.AsyncAllegoClient, speed: float | None, acquiring: asyncio.Event
) -> Tally:
    """Read a stream from sample 0; ``speed`` < 1 sleeps to process at that fraction of real time
    while acquisition runs (then drains at full speed); every chunk must continue the last."""
    tally = Tally()
    async for chunk in client.stream_signals(start=0, max_lag_s=0.2):
        if tally.first is None:
            tally.first = chunk.first_sample - chunk.missed_samples
        assert chunk.first_sample == tally.stop + chunk.missed_samples
        tally.received += chunk.n_samples
        tally.missed += chunk.missed_samples
        tally.stop = chunk.stop_sample
        tally.chunks += 1
        if speed is not None and acquiring.is_set():
            await asyncio.sleep(chunk.n_samples / FS / speed)
    return tally


async def test_slow_consumer_gap_accounting(short_cache_hub: HubProcess) -> None:
    """A slow subscriber gets exact gap counts; a fast one beside it loses nothing."""
    address = short_cache_hub.address
    async with (
        radiens.AsyncAllegoClient(address) as control,
        radiens.AsyncAllegoClient(address) as fast_client,
        radiens.AsyncAllegoClient(address) as slow_client,
    ):
        await control.restart("sim-spikes", num_channels=128)
        await control.set_sampling_freq(FS)
        await control.set_streaming("on")
        acquiring = asyncio.Event()
        acquiring.set()
        fast = asyncio.create_task(_consume(fast_client, None, acquiring))
        slow = asyncio.create_task(_consume(slow_client, 0.2, acquiring))
        await asyncio.sleep(8.0)  # the cache holds 3 s: the slow one must fall out of it
        await control.set_streaming("off")
        acquiring.clear()
        status = await control.get_status()
        produced = round(status.stream.time_range[1] * FS)
        f = await asyncio.wait_for(fast, 30)
        s = await asyncio.wait_for(slow, 30)
    assert f.first == 0 and f.missed == 0 and f.received == f.stop == produced
    assert s.first == 0 and s.missed > FS  # it fell more than a second behind
    assert s.received + s.missed == s.stop == produced


async def test_stream_from_oldest_after_cache_wrap(short_cache_hub: HubProcess) -> None:
    """Starting at a sample the cache no longer holds reports the gap in the first chunk."""
    async with radiens.AsyncAllegoClient(short_cache_hub.address) as allego:
        await allego.restart("sim-sine")
        await allego.set_streaming("on")
        await asyncio.sleep(4.0)
        async with contextlib.aclosing(allego.stream_signals(start=0)) as chunks:
            first = await anext(chunks)
        status = await allego.get_status()
        await allego.set_streaming("off")
    assert first.missed_samples == first.first_sample > 0
    assert first.first_sample >= round(status.stream.time_range[0] * FS) - FS
