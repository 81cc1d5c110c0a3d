"""Shared helpers of the streaming benchmarks: a hub launcher, a raw-TCP baseline, statistics.

Nothing here is timed against a threshold; the scripts print figures and ratios measured side by
side in one run, because absolute times on a shared machine are not stable.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from radiens_async.hub.server import READY_PREFIX
from radiens_async.models.signals import SignalChunk

RESULTS_DIR = Path(__file__).resolve().parent / "results"
FS = 30000
MIB = 1 << 20
WARMUP_LATENCY_S = 0.05
WARMUP_TIMEOUT_S = 30.0


# ---------------------------------------------------------------------------- hub process
@dataclass
class Hub:
    """A hub child process on 127.0.0.1 with a free port (see :func:`running_hub`)."""

    proc: subprocess.Popen[str]
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


def _read_ready_line(proc: subprocess.Popen[str], output: list[str], timeout: float) -> int:
    assert proc.stdout is not None
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            output.append(line)
            if line.startswith(READY_PREFIX):
                return int(line.strip().rsplit(":", 1)[1])
    finally:
        timer.cancel()
    raise RuntimeError("hub did not start:\n" + "".join(output))


def _drain(proc: subprocess.Popen[str], output: list[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line)


@contextlib.contextmanager
def running_hub(*extra: str, timeout: float = 60.0) -> Iterator[Hub]:
    """Start ``python -m radiens_async.hub`` with ``extra`` arguments; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="radiens-bench-") as data_dir:
        cmd = [
            sys.executable,
            "-m",
            "radiens_async.hub",
            *("--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir, "--seed", "0"),
            *extra,
        ]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        output: list[str] = []
        try:
            port = _read_ready_line(proc, output, timeout)
            threading.Thread(target=_drain, args=(proc, output), daemon=True).start()
            yield Hub(proc, port, output)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


# ---------------------------------------------------------------------------- streams
async def until_live(chunks: AsyncIterator[SignalChunk]) -> int:
    """Consume chunks until one arrives within :data:`WARMUP_LATENCY_S` of its acquisition;
    returns the sample index the next chunk must start at.

    A hub needs a moment after ``set_streaming("on")`` before acquisition runs on time (the
    first writes into a fresh cache fault in its memory); samples of that transient arrive late
    through no fault of the transport, so measurements start after it.
    """
    deadline = time.monotonic() + WARMUP_TIMEOUT_S
    async for chunk in chunks:
        latency = chunk.latency_s
        if latency is not None and latency < WARMUP_LATENCY_S:
            return chunk.stop_sample
        if time.monotonic() > deadline:
            break
    raise RuntimeError("the stream never caught up with acquisition (or ended)")


def next_expected(chunk: SignalChunk, expected: int | None) -> int:
    """Where the chunk after ``chunk`` must start; raises if ``chunk`` does not continue the
    previous one (``expected``), counting its reported gap."""
    if expected is not None and chunk.first_sample != expected + chunk.missed_samples:
        raise RuntimeError(
            f"non-contiguous chunk at {chunk.first_sample} (expected {expected} + "
            f"{chunk.missed_samples} missed): this is a bug"
        )
    return chunk.stop_sample


# ---------------------------------------------------------------------------- raw TCP
_SENDER = """
import socket, sys
port, total, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
buf = bytes(size)
with socket.create_connection(("127.0.0.1", port)) as s:
    sent = 0
    while sent < total:
        s.sendall(buf)
        sent += size
"""


def raw_tcp_bytes_per_s(total_bytes: int, send_size: int = MIB) -> float:
    """Loopback TCP throughput: a child process ``sendall``s ``send_size`` blocks, this process
    ``recv_into``s a preallocated buffer. The baseline every stream figure is compared to."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        total = -(-total_bytes // send_size) * send_size
        sender = subprocess.Popen(
            [sys.executable, "-c", _SENDER, str(port), str(total), str(send_size)]
        )
        try:
            conn, _ = server.accept()
            with conn:
                buf = bytearray(send_size)
                view = memoryview(buf)
                got = conn.recv_into(view)
                t0 = time.perf_counter()  # from the first byte: excludes the child's start-up
                while got < total:
                    n = conn.recv_into(view)
                    if n == 0:
                        break
                    got += n
                elapsed = time.perf_counter() - t0
        finally:
            sender.wait(30)
    return got / elapsed


# ---------------------------------------------------------------------------- statistics
def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentiles_ms(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds of nanosecond latencies (NaN when there are none)."""
    if not latencies_ns:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    ms = np.asarray(latencies_ns, dtype=np.float64) / 1e6
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


# ---------------------------------------------------------------------------- reporting
def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain fixed-width table (floats with 3 significant decimals)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``results`` (plus machine facts) to ``benchmarks/results/<name>-<time>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    doc = {
        "benchmark": name,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        **results,
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


# ---------------------------------------------------------------------------- latency runs
def latency_args(
    description: str, quick_s: float, full_s: float, argv: Sequence[str] | None
) -> Any:
    """Command line of a latency benchmark: ``--quick``, ``--channels``, ``--seconds``,
    ``--repeats`` (returns an ``argparse.Namespace`` with seconds and repeats filled in)."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smoke run: fewer, shorter runs")
    p.add_argument("--channels", type=int, nargs="+", default=[32, 1024], help="channel counts")
    p.add_argument("--seconds", type=float, default=None, help="seconds per run")
    p.add_argument("--repeats", type=int, default=None, help="runs per channel count")
    args = p.parse_args(argv)
    args.seconds = args.seconds or (quick_s if args.quick else full_s)
    args.repeats = args.repeats or (1 if args.quick else 3)
    return args


async def runs_per_channel_count(
    args: Any, run_once: Any, describe: Any, *hub_args: str
) -> dict[int, list[Any]]:
    """Start one hub; for each channel count, ``await run_once(address, n, seconds)``
    ``args.repeats`` times, printing ``describe(run)`` after each."""
    runs: dict[int, list[Any]] = {}
    with running_hub(*hub_args) as hub:
        print(f"hub {hub.address} (pid {hub.pid})", flush=True)
        for n in args.channels:
            runs[n] = []
            for _ in range(args.repeats):
                r = await run_once(hub.address, n, args.seconds)
                runs[n].append(r)
                print(f"  {n} channels: {describe(r)}", flush=True)
    return runs


def target_cell(summary: dict[str, Any]) -> str:
    """``'<= 5 ms: met'`` / ``'MISSED'`` / ``'-'`` for a summary with a p99 target."""
    target = summary["target_p99_ms"]
    if target is None:
        return "-"
    return f"<= {target:g} ms: {'met' if summary['meets_target'] else 'MISSED'}"
