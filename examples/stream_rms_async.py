"""Stream two seconds of simulated spikes with the async client and print per-channel RMS (µV).

Run it with no hub running: ``AsyncAllegoClient()`` finds the default hub or starts the embedded
one for this process (it stops when the script ends).

    python examples/stream_rms_async.py
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np

import radiens_async as radiens
from radiens_async.utils import SignalType

SECONDS = 2.0


async def main() -> None:
    async with radiens.AsyncAllegoClient() as allego:
        await allego.restart("sim-spikes")
        meta = await allego.get_channel_metadata()
        amp = meta.index(SignalType.AMP).sys  # rows of the amplifier channels in a full stream
        fs = (await allego.get_status()).sample_freq
        await allego.set_streaming("on")
        sum_sq = np.zeros(len(amp))
        received = missed = 0
        try:
            async with contextlib.aclosing(allego.stream_signals()) as chunks:
                async for chunk in chunks:
                    x = chunk.data[amp].astype(np.float64)  # µV
                    sum_sq += np.einsum("ij,ij->i", x, x)
                    received += chunk.n_samples
                    missed += chunk.missed_samples
                    if received >= SECONDS * fs:
                        break
        finally:
            await allego.set_streaming("off")
    rms = np.sqrt(sum_sq / received)
    print(f"{received} samples ({received / fs:.2f} s at {fs:.0f} Hz), {missed} missed")
    print(f"per-channel RMS of {len(amp)} amplifier channels (µV):")
    for first in range(0, len(rms), 8):
        row = rms[first : first + 8]
        print("  " + "  ".join(f"ch{first + i:02d} {v:6.1f}" for i, v in enumerate(row)))
    print(f"median {np.median(rms):.1f} µV, max {rms.max():.1f} µV on ch{int(rms.argmax()):02d}")


if __name__ == "__main__":
    asyncio.run(main())
