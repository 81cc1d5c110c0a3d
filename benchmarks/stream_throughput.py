"""Streaming throughput of ``stream_signals``: real-time channel capacity and backlog drain rate.

Run ``python benchmarks/stream_throughput.py`` (about 2 minutes) or ``--quick`` (about 20 s).
One hub child process serves every measurement; this process is the client.

1. **Live capacity.** For each amplifier channel count (256, 512, 1024, 2048 — the simulator
   stops at 1024) the hub simulates ``smartbox_sim_gen_spikes`` at 30 kHz and the client streams
   from ``start="head"``. After a warm-up (until a chunk arrives within 50 ms of acquisition, so
   the hub's start-up transient is not counted) it counts, for ``--live-seconds``, the samples
   received, the samples missed (gaps), the chunks, and the CPU time of the client process
   (``time.process_time`` / wall time: everything the client spends on transport, since the
   consumer only counts) and of the hub process (``/proc``). Target: 1024 channels with zero
   gaps and well under one core of client CPU.
2. **Backlog drain.** With a 1024-channel cache holding ``--cache-seconds`` of signal, the client
   streams from ``start="oldest"`` (with a flow-control window of several seconds so it is not
   the limit) until it reaches the head sample at which it started, and divides the bytes of
   ``chunk.data`` it received by the time taken. Each repeat is paired with a raw loopback TCP
   transfer (a child process ``sendall``s 1 MiB blocks, this process ``recv_into``s a
   preallocated buffer): the ratio drain / raw is measured side by side. Target: >= 4x real time
   (about 0.5 GB/s at 1024 channels).

Figures are medians over ``--repeats``; results are also written as JSON to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_support as bs

import radiens_async as radiens
from radiens_async.errors import InvalidArgument

MODE = "smartbox_sim_gen_spikes"
DRAIN_MAX_LAG_S = 10.0


@dataclass
class LiveRun:
    """One live stream of ``seconds`` at ``n_channels`` amplifier channels."""

    n_channels: int
    n_rows: int
    seconds: float
    samples: int
    missed: int
    chunks: int
    client_cpu: float  # fraction of one core
    hub_cpu: float
    p50_ms: float
    p99_ms: float

    @property
    def realtime_factor(self) -> float:
        return self.samples / self.seconds / bs.FS


@dataclass
class DrainRun:
    """One drain of the cached backlog from ``start="oldest"``, next to a raw TCP transfer."""

    n_rows: int
    backlog_s: float
    bytes: int
    seconds: float
    missed: int
    chunks: int
    client_cpu: float
    hub_cpu: float
    raw_tcp_bytes_per_s: float

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds

    @property
    def realtime_factor(self) -> float:
        return self.bytes_per_s / (self.n_rows * bs.FS * 4)

    @property
    def ratio_to_raw(self) -> float:
        return self.bytes_per_s / self.raw_tcp_bytes_per_s


# ---------------------------------------------------------------------------- helpers
async def start_streaming(allego: radiens.AsyncAllegoClient, n_channels: int) -> int:
    """Restart the simulator with ``n_channels`` and stream; returns the rows per sample."""
    await allego.restart(MODE, num_channels=n_channels)
    await allego.set_sampling_freq(bs.FS)
    await allego.set_streaming("on")
    meta = await allego.get_channel_metadata()
    return len(meta.channels)


# ---------------------------------------------------------------------------- live
async def live_run(address: str, hub_pid: int, n_channels: int, seconds: float) -> LiveRun:
    """Stream ``seconds`` of live signal from the head; count gaps and CPU."""
    async with radiens.AsyncAllegoClient(address) as allego:
        n_rows = await start_streaming(allego, n_channels)
        samples = missed = chunks = 0
        latencies: list[int] = []
        try:
            async with contextlib.aclosing(allego.stream_signals(start="head")) as stream:
                expected = await bs.until_live(stream)
                t0, c0, h0 = time.perf_counter(), time.process_time(), bs.process_cpu_s(hub_pid)
                async for chunk in stream:
                    expected = bs.next_expected(chunk, expected)
                    missed += chunk.missed_samples
                    samples += chunk.n_samples
                    chunks += 1
                    if chunk.acquired_ns:
                        latencies.append(chunk.received_ns - chunk.acquired_ns)
                    if time.perf_counter() - t0 >= seconds:
                        break
                wall = time.perf_counter() - t0
                cpu, hub = time.process_time() - c0, bs.process_cpu_s(hub_pid) - h0
        finally:
            await allego.set_streaming("off")
    pct = bs.percentiles_ms(latencies)
    return LiveRun(
        n_channels, n_rows, wall, samples, missed, chunks, cpu / wall, hub / wall,
        pct["p50_ms"], pct["p99_ms"],
    )  # fmt: skip


async def live_capacity(
    address: str, hub_pid: int, counts: list[int], seconds: float, repeats: int
) -> tuple[dict[int, list[LiveRun]], list[int]]:
    """Live runs at every channel count, ``repeats`` times each; returns the runs and the
    counts the simulator refused."""
    runs: dict[int, list[LiveRun]] = {}
    refused: list[int] = []
    for n in counts:
        try:
            runs[n] = [await live_run(address, hub_pid, n, seconds) for _ in range(repeats)]
        except InvalidArgument as exc:
            print(f"  {n} channels: refused by the hub ({exc})", flush=True)
            refused.append(n)
            continue
        print(f"  {n} channels: missed {[r.missed for r in runs[n]]}", flush=True)
    return runs, refused


# ---------------------------------------------------------------------------- drain
async def fill_cache(allego: radiens.AsyncAllegoClient, seconds: float) -> None:
    """Wait until the hub's cache holds ``seconds`` of signal."""
    while True:
        status = await allego.get_status()
        t_start, t_end = status.stream.time_range
        if t_end - t_start >= seconds:
            return
        await asyncio.sleep(0.2)


async def drain_once(allego: radiens.AsyncAllegoClient, hub_pid: int, n_rows: int) -> DrainRun:
    """Stream from the oldest cached sample up to the head as it was when the drain began."""
    status = await allego.get_status()
    t_start, t_end = status.stream.time_range
    target = round(t_end * bs.FS)
    nbytes = missed = chunks = 0
    expected: int | None = None
    stream = allego.stream_signals(start="oldest", max_lag_s=DRAIN_MAX_LAG_S)
    t0, c0, h0 = time.perf_counter(), time.process_time(), bs.process_cpu_s(hub_pid)
    async with contextlib.aclosing(stream) as chunks_in:
        async for chunk in chunks_in:
            expected = bs.next_expected(chunk, expected)
            nbytes += chunk.data.nbytes
            missed += chunk.missed_samples
            chunks += 1
            if chunk.stop_sample >= target:
                break
    wall = time.perf_counter() - t0
    cpu, hub = time.process_time() - c0, bs.process_cpu_s(hub_pid) - h0
    return DrainRun(
        n_rows, t_end - t_start, nbytes, wall, missed, chunks, cpu / wall, hub / wall, 0.0
    )


async def backlog_drain(
    address: str, hub_pid: int, n_channels: int, cache_s: float, repeats: int
) -> list[DrainRun]:
    """Fill the cache once, then alternate raw-TCP transfers and drains ``repeats`` times."""
    runs: list[DrainRun] = []
    async with radiens.AsyncAllegoClient(address) as allego:
        n_rows = await start_streaming(allego, n_channels)
        try:
            await fill_cache(allego, cache_s * 0.95)
            for _ in range(repeats):
                backlog_bytes = round(cache_s * n_rows * bs.FS * 4)
                raw = await asyncio.to_thread(bs.raw_tcp_bytes_per_s, backlog_bytes)
                run = await drain_once(allego, hub_pid, n_rows)
                run.raw_tcp_bytes_per_s = raw
                runs.append(run)
                print(
                    f"  drain {run.bytes_per_s / 1e6:.0f} MB/s, raw TCP {raw / 1e6:.0f} MB/s",
                    flush=True,
                )
        finally:
            await allego.set_streaming("off")
    return runs


# ---------------------------------------------------------------------------- report
def report_live(runs: dict[int, list[LiveRun]]) -> tuple[list[dict[str, object]], int]:
    """Print the live table; returns its rows and the largest channel count with zero gaps."""
    rows: list[dict[str, object]] = []
    largest = 0
    for n, rs in runs.items():
        gaps = sum(r.missed for r in rs)
        if gaps == 0:
            largest = max(largest, n)
        rows.append(
            {
                "amp_channels": n,
                "rows": rs[0].n_rows,
                "runs": len(rs),
                "seconds_each": bs.median([r.seconds for r in rs]),
                "realtime_factor": bs.median([r.realtime_factor for r in rs]),
                "MB_per_s": bs.median([r.samples * r.n_rows * 4 / r.seconds / 1e6 for r in rs]),
                "chunks_per_s": bs.median([r.chunks / r.seconds for r in rs]),
                "missed_samples": gaps,
                "client_cpu": bs.median([r.client_cpu for r in rs]),
                "hub_cpu": bs.median([r.hub_cpu for r in rs]),
                "latency_p50_ms": bs.median([r.p50_ms for r in rs]),
                "latency_p99_ms": bs.median([r.p99_ms for r in rs]),
            }
        )
    bs.print_table(
        "Live streaming from the head at 30 kHz (medians over runs; CPU in cores)",
        ["amp ch", "rows", "runs", "x real time", "MB/s", "chunks/s", "missed", "client CPU",
         "hub CPU", "p50 ms", "p99 ms"],
        [[r["amp_channels"], r["rows"], r["runs"], r["realtime_factor"], r["MB_per_s"],
          r["chunks_per_s"], r["missed_samples"], r["client_cpu"], r["hub_cpu"],
          r["latency_p50_ms"], r["latency_p99_ms"]] for r in rows],
    )  # fmt: skip
    return rows, largest


def report_drain(runs: list[DrainRun]) -> dict[str, object]:
    """Print the drain table (every repeat and the medians); returns the summary."""
    table: list[list[object]] = [
        [i + 1, r.backlog_s, r.bytes / 1e6, r.seconds, r.bytes_per_s / 1e6,
         r.raw_tcp_bytes_per_s / 1e6, r.ratio_to_raw, r.realtime_factor, r.missed,
         r.client_cpu, r.hub_cpu]
        for i, r in enumerate(runs)
    ]  # fmt: skip
    summary: dict[str, object] = {
        "rows": runs[0].n_rows,
        "delivered_MB_per_s": bs.median([r.bytes_per_s / 1e6 for r in runs]),
        "raw_tcp_MB_per_s": bs.median([r.raw_tcp_bytes_per_s / 1e6 for r in runs]),
        "ratio_to_raw_tcp": bs.median([r.ratio_to_raw for r in runs]),
        "realtime_factor": bs.median([r.realtime_factor for r in runs]),
        "missed_samples": sum(r.missed for r in runs),
        "client_cpu": bs.median([r.client_cpu for r in runs]),
        "hub_cpu": bs.median([r.hub_cpu for r in runs]),
    }
    table.append(
        ["median", bs.median([r.backlog_s for r in runs]), bs.median([r.bytes / 1e6 for r in runs]),
         bs.median([r.seconds for r in runs]), summary["delivered_MB_per_s"],
         summary["raw_tcp_MB_per_s"], summary["ratio_to_raw_tcp"], summary["realtime_factor"],
         summary["missed_samples"], summary["client_cpu"], summary["hub_cpu"]]
    )  # fmt: skip
    bs.print_table(
        f"Backlog drain from start='oldest', {runs[0].n_rows} rows, into numpy arrays "
        "(ratio = delivered / raw loopback TCP, measured in pairs)",
        ["run", "backlog s", "MB", "s", "MB/s", "raw TCP MB/s", "ratio", "x real time",
         "missed", "client CPU", "hub CPU"],
        table,
    )  # fmt: skip
    return summary


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="smoke run: fewer, shorter runs")
    p.add_argument("--channels", type=int, nargs="+", default=None, help="live channel counts")
    p.add_argument("--live-seconds", type=float, default=None, help="seconds per live run")
    p.add_argument("--cache-seconds", type=float, default=None, help="backlog to drain")
    p.add_argument("--repeats", type=int, default=None, help="repeats of every measurement")
    args = p.parse_args(argv)
    quick = args.quick
    args.channels = args.channels or ([256, 1024] if quick else [256, 512, 1024, 2048])
    args.live_seconds = args.live_seconds or (3.0 if quick else 8.0)
    args.cache_seconds = args.cache_seconds or (4.0 if quick else 10.0)
    args.repeats = args.repeats or (1 if quick else 3)
    return args


async def run(args: argparse.Namespace) -> dict[str, object]:
    cache_mb = round(args.cache_seconds * 1.2 * 1040 * bs.FS * 4 / bs.MIB) + 64
    hub_args = ("--cache-seconds", f"{args.cache_seconds * 1.2:g}", "--cache-mb", str(cache_mb))
    with bs.running_hub(*hub_args) as hub:
        print(f"hub {hub.address} (pid {hub.pid}); live runs:", flush=True)
        live, refused = await live_capacity(
            hub.address, hub.pid, args.channels, args.live_seconds, args.repeats
        )
        print(f"backlog drain ({args.cache_seconds:g} s of 1024 channels):", flush=True)
        drain = await backlog_drain(
            hub.address, hub.pid, 1024, args.cache_seconds, max(args.repeats, 2)
        )
    live_rows, largest = report_live(live)
    drain_summary = report_drain(drain)
    print(
        f"\nlargest channel count streamed in real time with zero gaps: {largest} amplifier "
        f"channels at 30 kHz (target 1024)"
        + (f"; the simulator refused {refused}" if refused else "")
    )
    print(
        f"backlog delivered into numpy: {drain_summary['delivered_MB_per_s']:.0f} MB/s = "
        f"{drain_summary['realtime_factor']:.2f}x real time at 1024 channels (target >= 4), "
        f"{drain_summary['ratio_to_raw_tcp']:.3f}x raw loopback TCP"
    )
    return {
        "args": vars(args),
        "live": live_rows,
        "live_runs": {str(n): [asdict(r) for r in rs] for n, rs in live.items()},
        "largest_zero_gap_channels": largest,
        "refused_channel_counts": refused,
        "drain": drain_summary,
        "drain_runs": [asdict(r) for r in drain],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run(args))
    path = bs.write_results("stream_throughput", results)
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
