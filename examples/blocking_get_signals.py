"""The documented blocking API: poll ``get_signals()`` in a loop, as the Radiens docs show.

``get_signals()`` returns ``(sigarray, time_range)``: the samples since the previous call (or
since ``set_time_to_cache_head()``), channels x samples, and their stream time in seconds.
Consecutive calls are contiguous, so the time ranges line up end to start.

    python examples/blocking_get_signals.py
"""

from __future__ import annotations

import time

import numpy as np

import radiens_async as radiens
from radiens_async.utils import SignalType

N_CALLS = 10


def main() -> None:
    client = radiens.AllegoClient()
    try:
        client.restart("sim-spikes")
        client.set_streaming("on")
        meta = client.get_channel_metadata()
        amp = meta.index(SignalType.AMP).sys
        loop_s = client.get_stream_loop_dur_ms() / 1000.0  # the docs: convert ms to seconds
        print(f"{meta.num_sigs_total()} channels, stream loop {loop_s * 1000:.1f} ms")
        time.sleep(0.2)
        client.set_time_to_cache_head()
        previous_end = None
        for _ in range(N_CALLS):
            time.sleep(max(0.1, loop_s))
            sig, time_range = client.get_signals()
            contiguous = previous_end is None or abs(time_range[0] - previous_end) < 1e-9
            peak = float(np.abs(sig[amp]).max()) if sig.shape[1] else 0.0
            print(
                f"t = [{time_range[0]:7.3f}, {time_range[1]:7.3f}] s  shape {sig.shape}  "
                f"max |amp| {peak:6.1f} µV  contiguous: {contiguous}"
            )
            previous_end = time_range[1]
        client.set_streaming("off")
        status = client.get_status()
        print(f"stream {status.stream.mode}, mode {status.system_mode.name.lower()}")
    finally:
        client.close()


if __name__ == "__main__":
    main()
