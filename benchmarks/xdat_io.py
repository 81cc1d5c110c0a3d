"""XDAT I/O benchmark: writer vs plain ``file.write``, reader vs raw ``np.memmap``, real time.

Run ``python benchmarks/xdat_io.py`` (about 3 minutes and 8 GB of temporary disk) or
``python benchmarks/xdat_io.py --quick`` (under a minute, 2 GB). Every comparison is measured side
by side in the same run. Targets: writer >= 0.8x plain write, reader >= 0.9x memmap, and a
1024-channel 30 kHz recording in real time with zero dropped samples.

Write
    ``XdatWriter.append`` of channel-major float32 blocks (fresh contiguous arrays, as the hub's
    recorder hands them over) against ``file.write`` of the same samples already interleaved plus
    the same timestamps, in the same block sizes: both produce the same bytes (checked before
    timing). Both are timed from the first write to the end of ``close()`` (the writer's final
    metadata included); creating the files is not timed. Neither calls ``fsync``, except in the
    "durable" row, where plain calls ``os.fsync`` on both files before closing and the writer runs
    with ``fsync=True``. Before every timed run the page cache is synced and memory is touched
    (untimed), and plain and writer runs alternate in pairs; the ratio is the median of the
    per-pair ratios. CPU is the process CPU time (all threads) per GB written.
Read
    Random 100 ms windows through ``XdatReader.read`` against slicing a raw ``np.memmap`` of the
    data file and copying the slice into an array of the same layout; page cache warm.
Real time
    An acquisition thread emits 1 ms blocks on the monotonic clock into a queue bounded like the
    hub's recorder queue (2 GiB); a recorder thread appends them; a monitor opens the set with
    ``XdatReader`` four times a second. Dropped = offered while the queue was full.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter, xdat_paths
from radiens_async.formats.xdat_transpose import TransposeKernel, select_kernel

FS = 30000.0
N_CH = 1024
POOL_S = 0.1  # distinct data: 100 ms of fresh blocks, cycled
SAMPLE_BYTES = N_CH * 4 + 8  # data + timestamp
QUEUE_BYTES = 2 << 30  # the hub recorder's default queue bound
RESULTS_DIR = Path(__file__).resolve().parent / "results"

Blocks = list[npt.NDArray[np.float32]]


def channels(n: int) -> list[XdatChannel]:
    return [
        XdatChannel(
            name=f"pri-{i:04d}",
            ntv_name=f"A-{i:04d}",
            signal_type="amp",
            ntv_idx=i,
            sys_idx=i,
            site_x_um=float(i % 4) * 20.0,
            site_y_um=float(i // 4) * 20.0,
        )
        for i in range(n)
    ]


CHANNELS = channels(N_CH)


def fresh_blocks(block: int, seed: int) -> tuple[Blocks, Blocks]:
    """100 ms of distinct data as channel-major blocks and the same values sample-major."""
    rng = np.random.default_rng(seed)
    count = max(1, round(FS * POOL_S / block))
    cm = [rng.normal(0, 80, (N_CH, block)).astype(np.float32) for _ in range(count)]
    return cm, [np.ascontiguousarray(b.T) for b in cm]


def quiesce(nbytes: int) -> None:
    """Untimed: write dirty pages back and touch as much memory as the next run will need.

    The VM hands out never-touched memory slowly; touching it first makes both sides of a pair
    start from the same state.
    """
    os.sync()
    buf = np.ones(nbytes, np.uint8)
    del buf


def clear(directory: Path) -> None:
    for p in directory.iterdir():
        p.unlink()  # before the next sync: deleted files' dirty pages are never written


# ---------------------------------------------------------------------------- write
@dataclass
class Timing:
    wall_s: float
    cpu_s: float


def write_plain(directory: Path, sm: Blocks, n_blocks: int, fsync: bool) -> Timing:
    block = sm[0].shape[0]
    ramp = np.arange(block, dtype=np.int64)
    ts = np.empty(block, np.int64)
    with (
        open(directory / "plain_data.xdat", "xb") as fd,
        open(directory / "plain_timestamp.xdat", "xb") as ft,
    ):
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(n_blocks):
            fd.write(sm[k % len(sm)].data)
            np.add(ramp, k * block, out=ts)
            ft.write(ts.data)
        if fsync:
            for f in (fd, ft):
                f.flush()
                os.fsync(f.fileno())
    return Timing(time.perf_counter() - t0, time.process_time() - c0)


def write_ours(directory: Path, cm: Blocks, n_blocks: int, fsync: bool) -> Timing:
    writer = XdatWriter(directory / "ours_0", FS, CHANNELS, fsync=fsync)
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(n_blocks):
        writer.append(cm[k % len(cm)])
    writer.close()
    return Timing(time.perf_counter() - t0, time.process_time() - c0)


def check_same_bytes(directory: Path, cm: Blocks, sm: Blocks) -> None:
    write_plain(directory, sm, 2 * len(sm), fsync=False)
    write_ours(directory, cm, 2 * len(cm), fsync=False)
    paths = xdat_paths(directory / "ours_0")
    for mine, theirs in (
        (paths.data, "plain_data.xdat"),
        (paths.timestamp, "plain_timestamp.xdat"),
    ):
        if mine.read_bytes() != (directory / theirs).read_bytes():
            raise SystemExit(f"benchmark is unfair: {mine.name} differs from {theirs}")
    clear(directory)


@dataclass
class WriteResult:
    ratio: float  # median of per-pair (plain time / writer time)
    ours_mb_s: float
    plain_mb_s: float
    ours_cpu_s_gb: float
    plain_cpu_s_gb: float


def bench_write(
    directory: Path, seconds: float, block: int, pairs: int, fsync: bool = False
) -> WriteResult:
    cm, sm = fresh_blocks(block, seed=block)
    check_same_bytes(directory, cm, sm)
    n_blocks = round(seconds * FS / block)
    nbytes = n_blocks * block * SAMPLE_BYTES
    ours: list[Timing] = []
    plain: list[Timing] = []
    for k in range(pairs):
        runs: list[tuple[Callable[[], Timing], list[Timing]]] = [
            (lambda: write_plain(directory, sm, n_blocks, fsync), plain),
            (lambda: write_ours(directory, cm, n_blocks, fsync), ours),
        ]
        for run, out in runs[:: 1 if k % 2 == 0 else -1]:
            quiesce(2 * nbytes + (256 << 20))
            out.append(run())
            clear(directory)
    gb = nbytes / 1e9
    return WriteResult(
        ratio=statistics.median(p.wall_s / o.wall_s for p, o in zip(plain, ours, strict=True)),
        ours_mb_s=nbytes / 1e6 / statistics.median(o.wall_s for o in ours),
        plain_mb_s=nbytes / 1e6 / statistics.median(p.wall_s for p in plain),
        ours_cpu_s_gb=statistics.median(o.cpu_s for o in ours) / gb,
        plain_cpu_s_gb=statistics.median(p.cpu_s for p in plain) / gb,
    )


# ---------------------------------------------------------------------------- read
def make_read_file(directory: Path, seconds: float) -> Path:
    cm, _ = fresh_blocks(3000, seed=1)
    base = directory / "r_0"
    with XdatWriter(base, FS, CHANNELS) as writer:
        for k in range(round(seconds * FS / 3000)):
            writer.append(cm[k % len(cm)])
    return base


def bench_read(
    base: Path, n_windows: int, n_ch_window: int, pairs: int, layout: str
) -> tuple[float, float, float]:
    """Return (median ratio, reader MB/s, memmap MB/s) for random windows of 100 ms."""
    reader = XdatReader(base)
    n = reader.n_samples
    win = round(0.1 * FS)
    raw = np.memmap(xdat_paths(base).data, np.float32, "r", shape=(n, N_CH))
    rng = np.random.default_rng(2)
    starts = rng.integers(0, n - win, n_windows)
    chans = rng.integers(0, N_CH - n_ch_window + 1, n_windows)
    sample_major = layout == "sample_major"

    def ours() -> None:
        for i0, c0 in zip(starts, chans, strict=True):
            reader.read(
                int(i0),
                int(i0) + win,
                slice(int(c0), int(c0) + n_ch_window),
                layout="sample_major" if sample_major else "channel_major",
            )

    def memmap() -> None:
        for i0, c0 in zip(starts, chans, strict=True):
            view = raw[i0 : i0 + win, c0 : c0 + n_ch_window]
            np.array(view) if sample_major else np.ascontiguousarray(view.T)

    memmap()  # warm the page cache
    t_ours: list[float] = []
    t_mm: list[float] = []
    for k in range(pairs):
        for fn, out in ((memmap, t_mm), (ours, t_ours))[:: 1 if k % 2 == 0 else -1]:
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    reader.close()
    mb = n_windows * win * n_ch_window * 4 / 1e6
    ratio = statistics.median(m / o for m, o in zip(t_mm, t_ours, strict=True))
    return ratio, mb / statistics.median(t_ours), mb / statistics.median(t_mm)


# ---------------------------------------------------------------------------- real time
@dataclass
class RealTimeResult:
    seconds: float
    offered: int
    stored: int
    dropped: int
    max_queue_ms: float
    append_us: tuple[float, float, float]  # p50, p99, max
    recorder_busy: float  # fraction of wall time the recorder thread spent in append
    max_reader_lag_s: float  # produced minus what a reader opening the set saw
    reader_opens: int
    close_s: float  # from the last block to close() done
    process_cpu: float  # process CPU time / wall time (2.0 = both cores)


def bench_realtime(directory: Path, seconds: float) -> RealTimeResult:
    block = 30  # 1 ms
    cm, _ = fresh_blocks(block, seed=3)
    n_blocks = round(seconds * FS / block)
    base = directory / "rt_0"
    first = 1_000_000
    writer = XdatWriter(base, FS, CHANNELS, first_sample=first)
    queue: collections.deque[tuple[npt.NDArray[np.float32], int]] = collections.deque()
    lock = threading.Lock()
    wake = threading.Event()
    state = {"queued": 0, "max_queued": 0, "dropped": 0, "produced": 0, "done": False}
    latencies = np.zeros(n_blocks)
    lags: list[float] = []
    problems: list[BaseException] = []

    def acquire() -> None:  # the hub's acquisition loop: never waits for the disk
        t0 = time.monotonic()
        k = 0
        while k < n_blocks:
            due = min(n_blocks, int((time.monotonic() - t0) * FS / block))
            while k < due:
                data = cm[k % len(cm)].copy()  # a fresh array per block
                with lock:
                    if state["queued"] + data.nbytes > QUEUE_BYTES:
                        state["dropped"] += block
                    else:
                        queue.append((data, first + k * block))
                        state["queued"] += data.nbytes
                        state["max_queued"] = max(state["max_queued"], state["queued"])
                    state["produced"] = (k + 1) * block
                k += 1
                wake.set()
            time.sleep(0.0005)
        state["done"] = True
        wake.set()

    def record() -> None:  # the hub's recorder thread
        i = 0
        try:
            while True:
                wake.wait(0.5)
                wake.clear()
                while queue:
                    data, first_sample = queue.popleft()
                    t0 = time.perf_counter()
                    writer.append(data, first_sample)
                    latencies[i] = time.perf_counter() - t0
                    i += 1
                    with lock:
                        state["queued"] -= data.nbytes
                if state["done"] and not queue:
                    break
        except BaseException as exc:
            problems.append(exc)

    def monitor() -> None:  # a live reader
        try:
            while not state["done"]:
                time.sleep(0.25)
                produced = state["produced"]
                with XdatReader(base) as reader:
                    n = reader.n_samples
                    if n:
                        ts = reader.timestamps
                        if int(ts[-1]) != first + n - 1:
                            raise AssertionError("live reader: timestamps disagree")
                        reader.read(n - 1, n, slice(0, 4))
                lags.append((produced - n) / FS)
        except BaseException as exc:
            problems.append(exc)

    threads = [threading.Thread(target=f) for f in (acquire, record, monitor)]
    os.sync()
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    threads[0].join()
    t_last = time.perf_counter()
    threads[1].join()
    writer.close()
    t_end = time.perf_counter()
    threads[2].join()
    wall = t_end - t0
    cpu = time.process_time() - c0
    if problems:
        raise SystemExit(f"real-time run failed: {problems[0]!r}")

    with XdatReader(base) as reader:
        stored = reader.n_samples
        ts = np.asarray(reader.timestamps)
        if not (np.array_equal(ts, first + np.arange(stored))):
            raise SystemExit("real-time check: timestamps are not contiguous")
        for k in range(0, stored // block, 997):  # spot checks, including the first block
            got = reader.read(k * block, (k + 1) * block)
            if not np.array_equal(got, cm[k % len(cm)]):
                raise SystemExit(f"real-time check: block {k} differs")
        last = stored // block - 1
        if not np.array_equal(reader.read(last * block, stored), cm[last % len(cm)]):
            raise SystemExit("real-time check: the last block differs")
    clear(directory)
    lat = latencies[: stored // block] * 1e6
    return RealTimeResult(
        seconds=seconds,
        offered=n_blocks * block,
        stored=stored,
        dropped=int(state["dropped"]) + n_blocks * block - stored,
        max_queue_ms=state["max_queued"] / (N_CH * 4 * FS) * 1000,
        append_us=(
            float(np.percentile(lat, 50)),
            float(np.percentile(lat, 99)),
            float(lat.max()),
        ),
        recorder_busy=float(latencies.sum()) / wall,
        max_reader_lag_s=max(lags, default=float("nan")),
        reader_opens=len(lags),
        close_s=t_end - t_last,
        process_cpu=cpu / wall,
    )


# ---------------------------------------------------------------------------- report
def row(name: str, ours: float, base: float, ratio: float, target: float, extra: str = "") -> str:
    flag = "ok" if ratio >= target else "BELOW TARGET"
    return (
        f"{name:<46} {ours:>8.0f} {base:>8.0f} {ratio:>6.2f}  (>= {target}) {flag:<12} {extra}"
    ).rstrip()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``): ``--quick``, ``--dir``, ``--save``.

    Returns
    -------
    int
        0 when every target is met, 1 otherwise.

    Examples
    --------
    >>> main(["--quick"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where to put the files")
    parser.add_argument("--save", action="store_true", help=f"also write JSON to {RESULTS_DIR}")
    args = parser.parse_args(argv)
    if args.quick:
        write_s, pairs, read_s, read_pairs, rt_s = 1.0, 7, 2.0, 7, 10.0
    else:
        write_s, pairs, read_s, read_pairs, rt_s = 3.0, 11, 10.0, 11, 60.0
    rt_bytes = rt_s * FS * SAMPLE_BYTES
    free = shutil.disk_usage(args.dir).free
    if free < 1.1 * rt_bytes + 2e9:
        raise SystemExit(
            f"need {(1.1 * rt_bytes + 2e9) / 1e9:.1f} GB free in {args.dir}, have"
            f" {free / 1e9:.1f} GB (use --quick or --dir)"
        )

    kernel = select_kernel()
    kernels: list[TransposeKernel] = [kernel] if kernel == "numpy" else [kernel, "numpy"]
    figures: dict[str, object] = {"quick": args.quick, "transpose_kernel": kernel}
    ok = True
    tmp = Path(tempfile.mkdtemp(prefix="xdat-bench-", dir=args.dir))
    started = time.monotonic()
    try:
        print(
            f"XDAT I/O, {N_CH} channels x {FS / 1000:g} kHz float32"
            f" ({'quick' if args.quick else 'full'} run, files in {tmp}, {os.cpu_count()} CPUs,"
            f" transpose kernel {kernel})"
        )
        print(f"{'':<46} {'ours':>8} {'baseline':>8} {'ratio':>6}")
        print(
            f"-- write {write_s:g} s per run, MB/s; baseline file.write of the same bytes in the"
            f" same blocks; median of {pairs} pairs"
        )
        cases: list[tuple[str, int, TransposeKernel, bool]] = [
            ("1 ms blocks (30 samples)", 30, kernel, False),
            ("10 ms blocks (300 samples)", 300, kernel, False),
        ]
        if len(kernels) > 1:
            cases.append(("10 ms blocks, numpy transpose kernel", 300, "numpy", False))
        if not args.quick:
            cases.append(("1 ms blocks, numpy transpose kernel", 30, "numpy", False))
            cases.append(("10 ms blocks, durable (fsync in both)", 300, kernel, True))
        for name, block, case_kernel, fsync in cases:
            select_kernel(case_kernel)
            res = bench_write(tmp, write_s, block, pairs, fsync=fsync)
            select_kernel(None)
            primary = case_kernel == kernel and not fsync
            ok &= res.ratio >= 0.8 or not primary
            print(
                row(
                    name,
                    res.ours_mb_s,
                    res.plain_mb_s,
                    res.ratio,
                    0.8,
                    f"CPU s/GB {res.ours_cpu_s_gb:.2f} vs {res.plain_cpu_s_gb:.2f}",
                )
            )
            figures[f"write {name}"] = res.__dict__
        print(
            f"-- read random 100 ms windows of a {read_s:g} s file, MB/s; baseline np.memmap"
            " slice copied; median of"
            f" {read_pairs} pairs"
        )
        base = make_read_file(tmp, read_s)
        for n_win, n_ch in ((1000, 64), (100, N_CH)):
            for layout in ("sample_major", "channel_major"):
                ratio, ours, mm = bench_read(base, n_win, n_ch, read_pairs, layout)
                ok &= ratio >= 0.9
                name = f"{n_win} windows x {n_ch} ch, {layout}"
                print(row(name, ours, mm, ratio, 0.9))
                figures[f"read {name}"] = {"ratio": ratio, "ours_mb_s": ours, "memmap_mb_s": mm}
        clear(tmp)
        print(
            f"-- recording {N_CH} ch x {FS / 1000:g} kHz in real time for {rt_s:g} s, 1 ms blocks"
        )
        rt = bench_realtime(tmp, rt_s)
        ok &= rt.dropped == 0
        p50, p99, pmax = rt.append_us
        print(
            f"   offered {rt.offered} samples, file holds {rt.stored}: {rt.dropped} dropped"
            f" ({'ok' if rt.dropped == 0 else 'FAILED'})"
        )
        print(
            f"   append p50 {p50:.0f} us, p99 {p99:.0f} us, max {pmax / 1000:.1f} ms;"
            f" recorder thread busy {rt.recorder_busy:.1%}; queue max {rt.max_queue_ms:.0f} ms"
            f" of data; process CPU {rt.process_cpu:.2f} cores"
        )
        print(
            f"   live reader ({rt.reader_opens} opens): at most {rt.max_reader_lag_s:.2f} s behind"
            f" acquisition; close() done {rt.close_s * 1000:.0f} ms after the last block"
        )
        figures["realtime"] = rt.__dict__
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{'all targets met' if ok else 'SOME TARGETS MISSED'} ({time.monotonic() - started:.0f} s)"
    )
    if args.save:
        RESULTS_DIR.mkdir(exist_ok=True)
        out = RESULTS_DIR / f"xdat_io-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(figures, indent=2))
        print(f"figures saved to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
