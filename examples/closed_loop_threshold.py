"""Closed loop: react to a threshold crossing on one channel and report the reaction latency.

The simulator knows its ground truth, so we watch the peak channel of its largest unit, set a
threshold at half that unit's trough, and "react" (here: record the time) on every downward
crossing. Latency is measured from the acquisition of the chunk's newest sample at the hub to
the moment the reaction runs (hub and client share the monotonic clock on one machine).

    python examples/closed_loop_threshold.py
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np

import radiens_async as radiens

SECONDS = 3.0
REFRACTORY_S = 0.002


async def main() -> None:
    async with radiens.AsyncAllegoClient() as allego:
        await allego.restart("sim-spikes", seed=1)
        truth = await allego.get_ground_truth()
        unit = min(truth.units, key=lambda u: u.trough_uv)  # the deepest trough
        channel = unit.peak_channel
        threshold = 0.5 * unit.trough_uv
        fs = (await allego.get_status()).sample_freq
        print(f"watching ch{channel:02d} (unit {unit.unit_id}), threshold {threshold:.1f} µV")
        await allego.set_streaming("on")
        latencies_ms: list[float] = []
        crossings: list[int] = []
        previous = 0.0
        last_crossing = -(10**9)
        refractory = round(REFRACTORY_S * fs)
        try:
            stream = allego.stream_signals(channels=[channel], max_lag_s=0.05)
            async with contextlib.aclosing(stream) as chunks:
                async for chunk in chunks:
                    x = chunk.data[0]
                    # downward crossings, including one that straddles the previous chunk
                    below = np.concatenate(([previous], x)) < threshold
                    idx = np.flatnonzero(below[1:] & ~below[:-1])
                    previous = float(x[-1]) if x.size else previous
                    for i in idx:
                        sample = chunk.first_sample + int(i)
                        if sample - last_crossing < refractory:
                            continue
                        last_crossing = sample
                        # the reaction would go here (stimulate, set a digital out ...)
                        reacted_ns = time.monotonic_ns()
                        crossings.append(sample)
                        if chunk.acquired_ns:
                            latencies_ms.append((reacted_ns - chunk.acquired_ns) / 1e6)
                    if chunk.stop_sample >= SECONDS * fs:
                        break
        finally:
            await allego.set_streaming("off")
        truth = await allego.get_ground_truth(0, round(SECONDS * fs))
    fired = truth.sample_index[truth.unit_id == unit.unit_id]
    hits = sum(bool(np.any(np.abs(fired - c) <= refractory)) for c in crossings)
    print(
        f"{len(crossings)} crossings in {SECONDS:.0f} s; {hits} within 2 ms of a true spike of "
        f"unit {unit.unit_id} ({fired.size} fired; the rest: neighbouring units or noise)"
    )
    if latencies_ms:
        lat = np.asarray(latencies_ms)
        print(
            f"reaction latency from acquisition: p50 {np.percentile(lat, 50):.2f} ms, "
            f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms (n={lat.size})"
        )


if __name__ == "__main__":
    asyncio.run(main())
