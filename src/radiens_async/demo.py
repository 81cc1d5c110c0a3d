"""``radiens-async demo``: simulated neural signals streamed from a hub into an async client."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TextIO

import numpy as np

from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.utils.enums import SignalType


async def run_demo(
    seconds: float = 3.0,
    num_channels: int = 32,
    address: str | None = None,
    out: TextIO | None = None,
) -> dict[str, float]:
    """Stream ``seconds`` of ``smartbox_sim_gen_spikes`` and print a live summary.

    Returns the totals (samples received, missed, chunks, latency percentiles) for scripting.

    Examples
    --------
    >>> asyncio.run(run_demo(seconds=2.0))  # doctest: +SKIP
    """

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    async with AsyncAllegoClient(address) as allego:
        version = await allego.hub_version()
        say(f"hub {allego.hub!r} at {allego.address} (radiens-async {version.hub_version})")
        await allego.restart("smartbox_sim_gen_spikes", num_channels=num_channels)
        meta = await allego.get_channel_metadata()
        amp_rows = meta.index(SignalType.AMP).sys
        status = await allego.get_status()
        fs = status.sample_freq
        say(
            f"mode smartbox_sim_gen_spikes: {meta.num_sigs_total()} channels "
            f"({len(amp_rows)} amp, {meta.num_sigs(SignalType.AIN)} ain, "
            f"{meta.num_sigs(SignalType.DIN)} din, {meta.num_sigs(SignalType.DOUT)} dout) "
            f"at {fs:.0f} Hz, stream loop {status.stream_loop_dur_ms:.1f} ms"
        )
        await allego.set_streaming("on")
        received = missed = chunks = 0
        latencies: list[float] = []
        sum_sq = np.zeros(len(amp_rows))
        n_amp_samples = 0
        expected = None
        t0 = time.monotonic()
        next_report = t0 + 1.0
        window_samples = 0
        say(
            f"{'time':>6}  {'samples/s':>10}  {'chunks':>6}  {'gaps':>5}  "
            f"{'p50 lat':>8}  {'p99 lat':>8}"
        )
        try:
            async with contextlib.aclosing(allego.stream_signals()) as stream:
                async for chunk in stream:
                    if (
                        expected is not None
                        and chunk.first_sample != expected + chunk.missed_samples
                    ):
                        raise RuntimeError("non-contiguous chunk: this is a bug")
                    expected = chunk.stop_sample
                    received += chunk.n_samples
                    window_samples += chunk.n_samples
                    missed += chunk.missed_samples
                    chunks += 1
                    if chunk.latency_s is not None:
                        latencies.append(chunk.latency_s)
                    amp = chunk.data[amp_rows].astype(np.float64)
                    sum_sq += np.einsum("ij,ij->i", amp, amp)
                    n_amp_samples += chunk.n_samples
                    now = time.monotonic()
                    if now >= next_report:
                        lat = np.asarray(latencies[-1000:]) * 1e3
                        say(
                            f"{now - t0:5.1f}s  "
                            f"{window_samples / (now - next_report + 1.0):10.0f}  "
                            f"{chunks:6d}  {missed:5d}  {np.percentile(lat, 50):6.2f}ms  "
                            f"{np.percentile(lat, 99):6.2f}ms"
                        )
                        window_samples = 0
                        next_report += 1.0
                    if now - t0 >= seconds:
                        break
        finally:
            await allego.set_streaming("off")
        rms = np.sqrt(sum_sq / max(n_amp_samples, 1))
        say()
        say(f"per-channel RMS (µV) of {len(amp_rows)} amplifier channels:")
        for row in range(0, len(rms), 8):
            cells = "  ".join(
                f"{meta.channels[amp_rows[i]].chan_name:>6} {rms[i]:6.1f}"
                for i in range(row, min(row + 8, len(rms)))
            )
            say("  " + cells)
        truth = await allego.get_ground_truth(0, expected or 0)
        lat_ms = np.asarray(latencies) * 1e3 if latencies else np.zeros(1)
        say()
        say(
            f"received {received} samples x {len(meta.channels)} channels in {chunks} chunks, "
            f"missed {missed}; {truth.n_spikes} simulated spikes from {len(truth.units)} units; "
            f"latency p50 {np.percentile(lat_ms, 50):.2f} ms, "
            f"p99 {np.percentile(lat_ms, 99):.2f} ms"
        )
        return {
            "received": float(received),
            "missed": float(missed),
            "chunks": float(chunks),
            "p50_ms": float(np.percentile(lat_ms, 50)),
            "p99_ms": float(np.percentile(lat_ms, 99)),
        }


def main(seconds: float = 3.0, num_channels: int = 32, address: str | None = None) -> int:
    asyncio.run(run_demo(seconds, num_channels, address))
    return 0
