"""The Radiens protocol beside our own: a live window read, and polling against push streams.

Run ``python benchmarks/radiens_protocol.py`` (about 2 minutes) or ``--quick`` (about 30 s). One
hub child process serves both protocols (``--radiens-ports`` on a free block of five ports) over
one instrument: ``smartbox_sim_gen_spikes`` with 1024 amplifier channels at 30 kHz (1030 rows
with the aux and digital channels). This process is the client. Everything is measured side by
side in one run, alternating; figures are medians.

get_signals, 1024 ch x 100 ms
    The same 100 ms window of the live cache (placed 2 s behind the head, so both protocols can
    read it for several seconds) through four readers, alternating per repeat:

    * ``Radiens API``: ``AsyncAllegoClient(<Radiens port>).signals().get_signals(...)``, i.e.
      ``Pcache1.GetHDSnapshot2`` as an Allego app serves it, turned into the documented float64
      channel-major arrays;
    * ``radiens.v1 API``: the same call on the hub's own port (our protocol);
    * ``GetHDSnapshot2 raw``: the bare RPC on a grpclib channel and ``np.frombuffer`` (float32),
      the floor of any client of that RPC;
    * ``np.memmap``: a slice of a file in the XDAT data layout (samples x channels float32, page
      cache warm) converted to the same output (channel-major float64) — the target a local
      reader is held to.

    The ratios are medians of per-pair ratios (memmap time / reader time: > 1 is faster than the
    slice). The window read through both protocols must be equal sample for sample.
stream_signals, 1024 ch x 30 kHz
    ``stream_signals(start="head")`` for ``--live-seconds`` through the Radiens protocol (built on
    polling ``GetHDSnapshot2``: there is no server stream) and through our push stream, alternating
    per repeat, after 1 s of warm-up. Counted: samples received, samples reported missed, chunks
    whose ``first_sample`` does not continue the previous chunk plus its gap (an accounting error:
    must be 0), the real-time factor (samples received / (30 kHz x wall time)), and the CPU time of
    this client and of the hub over the run as fractions of one core. Target: polling sustains
    real time (factor >= 0.99) with zero gaps and zero accounting errors, within 2x the push
    stream's client + hub CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import bench_support as bs
from grpclib.client import Channel

import radiens_async as radiens
from radiens_async._generated.allego import allegoserver_grpc, common_pb2

from hub_process import free_port_block

N_CHANNELS = 1024
WINDOW_S = 0.1
WINDOW_BEHIND_HEAD_S = 2.0
WARMUP_S = 1.0


# ---------------------------------------------------------------------------- get_signals
def _memmap_file(directory: Path, n_rows: int, seconds: float) -> np.memmap:
    """A file in the XDAT data layout (samples x channels, float32) with signal-like values."""
    n = int(bs.FS * seconds)
    data = np.memmap(directory / "window_data.xdat", dtype="<f4", mode="w+", shape=(n, n_rows))
    rng = np.random.default_rng(0)
    for start in range(0, n, bs.FS // 10):
        stop = min(n, start + bs.FS // 10)
        data[start:stop] = rng.standard_normal((stop - start, n_rows), dtype=np.float32)
    data.flush()
    return np.memmap(data.filename, dtype="<f4", mode="r", shape=(n, n_rows))


def _memmap_window(data: np.memmap, first: int, n_samples: int) -> np.ndarray:
    """What a local reader returns for the window: channel-major float64 amplifier rows."""
    return np.ascontiguousarray(data[first : first + n_samples, :N_CHANNELS].T, dtype=np.float64)


async def _raw_snapshot(stub: allegoserver_grpc.Pcache1Stub, t0: float, t1: float) -> np.ndarray:
    request = common_pb2.HDSnapshotRequest2(
        dsourceID="Live Signals",
        tR=common_pb2.TimeRange(timeRangeSec=[t0, t1], fs=float(bs.FS)),
        selMode=common_pb2.TRS_SUBSET,
    )
    reply = await stub.GetHDSnapshot2(request)
    amp = reply.sigs.amp
    return np.frombuffer(amp.data, dtype="<f4").reshape(tuple(amp.shape))


@dataclass
class WindowRow:
    reader: str
    median_ms: float
    vs_memmap: float  # median of per-pair ratios memmap / reader (> 1: faster than the slice)


async def window_reads(hub: bs.Hub, radiens_address: str, repeats: int) -> list[WindowRow]:
    times: dict[str, list[float]] = {
        "Radiens API": [],
        "radiens.v1 API": [],
        "GetHDSnapshot2 raw": [],
        "np.memmap": [],
    }
    n_samples = round(WINDOW_S * bs.FS)
    with tempfile.TemporaryDirectory(prefix="radiens-window-") as tmp:
        data = _memmap_file(Path(tmp), N_CHANNELS + 6, 2.0)
        host, port = radiens_address.rsplit(":", 1)
        channel = Channel(host, int(port) + 1)  # Pcache1 is the core port + 1
        stub = allegoserver_grpc.Pcache1Stub(channel)
        try:
            async with (
                radiens.AsyncAllegoClient(radiens_address, protocol="radiens") as theirs,
                radiens.AsyncAllegoClient(hub.address, protocol="hub") as ours,
            ):
                for i in range(repeats):
                    head_s = (await ours.get_status()).stream.time_range[1]
                    t0 = round(head_s - WINDOW_BEHIND_HEAD_S, 3)
                    t1 = t0 + WINDOW_S
                    first = (i * 997) % (data.shape[0] - n_samples)
                    start = time.perf_counter()
                    a = await theirs.signals().get_signals([t0, t1])
                    times["Radiens API"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    b = await ours.signals().get_signals([t0, t1])
                    times["radiens.v1 API"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    raw = await _raw_snapshot(stub, t0, t1)
                    times["GetHDSnapshot2 raw"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    _memmap_window(data, first, n_samples)
                    times["np.memmap"].append(time.perf_counter() - start)
                    if not np.array_equal(a.signals.amp, b.signals.amp):
                        raise RuntimeError(f"window {t0}..{t1}: the two protocols differ")
                    if raw.shape != a.signals.amp.shape:
                        raise RuntimeError(f"raw shape {raw.shape} != {a.signals.amp.shape}")
        finally:
            channel.close()
    memmap = times["np.memmap"]
    return [
        WindowRow(
            reader,
            1e3 * statistics.median(ts),
            statistics.median(m / t for m, t in zip(memmap, ts, strict=True)),
        )
        for reader, ts in times.items()
    ]


# ---------------------------------------------------------------------------- streams
@dataclass
class StreamRun:
    protocol: str
    seconds: float
    samples: int
    missed: int
    accounting_errors: int
    chunks: int
    realtime_factor: float
    client_cpu: float  # fraction of one core
    hub_cpu: float


async def stream_once(address: str, protocol: str, seconds: float, hub_pid: int) -> StreamRun:
    async with radiens.AsyncAllegoClient(address, protocol=protocol) as allego:
        chunks = allego.stream_signals(start="head")
        async with contextlib.aclosing(chunks):
            warm_until = time.monotonic() + WARMUP_S
            expected: int | None = None
            async for chunk in chunks:
                expected = chunk.stop_sample
                if time.monotonic() >= warm_until:
                    break
            samples = missed = errors = n_chunks = 0
            cpu0, hub0 = time.process_time(), bs.process_cpu_s(hub_pid)
            t0 = time.perf_counter()
            async for chunk in chunks:
                if expected is not None and chunk.first_sample != expected + chunk.missed_samples:
                    errors += 1
                expected = chunk.stop_sample
                samples += chunk.data.shape[1]
                missed += chunk.missed_samples
                n_chunks += 1
                if time.perf_counter() - t0 >= seconds:
                    break
            wall = time.perf_counter() - t0
            cpu, hub_cpu = time.process_time() - cpu0, bs.process_cpu_s(hub_pid) - hub0
    return StreamRun(
        protocol,
        wall,
        samples,
        missed,
        errors,
        n_chunks,
        samples / (bs.FS * wall),
        cpu / wall,
        hub_cpu / wall,
    )


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: fewer, shorter runs")
    p.add_argument("--repeats", type=int, default=None, help="stream runs per protocol")
    p.add_argument("--live-seconds", type=float, default=None, help="seconds per stream run")
    p.add_argument("--window-repeats", type=int, default=None, help="window reads per reader")
    args = p.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    live_s = args.live_seconds or (4.0 if args.quick else 10.0)
    window_repeats = args.window_repeats or (15 if args.quick else 60)
    base = free_port_block()
    with bs.running_hub("--radiens-ports", "--radiens-base-port", str(base)) as hub:
        radiens_address = f"127.0.0.1:{base}"
        print(f"hub {hub.address}, Radiens ports {base}-{base + 4} (pid {hub.pid})", flush=True)
        async with radiens.AsyncAllegoClient(hub.address, protocol="hub") as setup:
            await setup.set_streaming("off")
            await setup.restart("smartbox_sim_gen_spikes", num_channels=N_CHANNELS)
            await setup.set_streaming("on")
            await asyncio.sleep(WINDOW_BEHIND_HEAD_S + 1.0)
            rows = await window_reads(hub, radiens_address, window_repeats)
            bs.print_table(
                f"get_signals, {N_CHANNELS} ch x {WINDOW_S * 1e3:.0f} ms "
                f"(median of {window_repeats}; vs np.memmap: > 1 is faster)",
                ["reader", "median ms", "vs memmap"],
                [[r.reader, r.median_ms, r.vs_memmap] for r in rows],
            )
            runs: list[StreamRun] = []
            for _ in range(repeats):
                for protocol, address in (("radiens", radiens_address), ("hub", hub.address)):
                    run = await stream_once(address, protocol, live_s, hub.pid)
                    runs.append(run)
                    print(f"  {protocol}: {run}", flush=True)
            await setup.set_streaming("off")
    summary = {}
    for protocol in ("radiens", "hub"):
        mine = [r for r in runs if r.protocol == protocol]
        summary[protocol] = {
            "realtime_factor": bs.median([r.realtime_factor for r in mine]),
            "missed": sum(r.missed for r in mine),
            "accounting_errors": sum(r.accounting_errors for r in mine),
            "client_cpu": bs.median([r.client_cpu for r in mine]),
            "hub_cpu": bs.median([r.hub_cpu for r in mine]),
        }
    poll, push = summary["radiens"], summary["hub"]
    cpu_ratio = (poll["client_cpu"] + poll["hub_cpu"]) / (push["client_cpu"] + push["hub_cpu"])
    met = (
        poll["realtime_factor"] >= 0.99
        and poll["missed"] == 0
        and poll["accounting_errors"] == 0
        and cpu_ratio <= 2.0
    )
    bs.print_table(
        f"stream_signals, {N_CHANNELS} ch x 30 kHz ({repeats} x {live_s:g} s each, medians)",
        ["protocol", "RT factor", "missed", "acct errors", "client CPU", "hub CPU"],
        [
            [
                "Radiens (polling)" if name == "radiens" else "radiens.v1 (push)",
                s["realtime_factor"],
                s["missed"],
                s["accounting_errors"],
                s["client_cpu"],
                s["hub_cpu"],
            ]
            for name, s in summary.items()
        ],
    )
    print(
        f"\npolling / push CPU (client + hub): {cpu_ratio:.2f}x; target: real time, zero gaps, "
        f"<= 2x CPU: {'met' if met else 'MISSED'}"
    )
    path = bs.write_results(
        "radiens_protocol",
        {
            "window_reads": [asdict(r) for r in rows],
            "stream_runs": [asdict(r) for r in runs],
            "stream_summary": summary,
            "cpu_ratio_polling_vs_push": cpu_ratio,
            "target_met": met,
        },
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
