"""XDAT I/O benchmark: writer vs plain ``file.write``, reader vs raw ``np.memmap``, real-time check.

Run ``python benchmarks/xdat_io.py`` (about 1-2 minutes and 7.4 GB of temporary disk) or
``python benchmarks/xdat_io.py --quick``. Every comparison is measured in the same run, as the
median of repeats; targets: writer >= 0.8x plain write, reader >= 0.9x memmap, real-time factor > 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter, xdat_paths

FS = 30000.0
N_CH = 1024
POOL_SAMPLES = 3000  # 100 ms of distinct data, cycled


def channels(n: int) -> list[XdatChannel]:
    return [
        XdatChannel(
            name=f"A-{i:04d}",
            ntv_name=f"A-{i:04d}",
            signal_type="amp",
            ntv_idx=i,
            sys_idx=i,
            site_x_um=float(i % 4) * 20.0,
            site_y_um=float(i // 4) * 20.0,
        )
        for i in range(n)
    ]


def median_time(fn: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------------------- write
def bench_write(tmp: Path, seconds: float, block_ms: float, repeats: int) -> tuple[float, float]:
    """Return (writer MB/s, plain MB/s) for ``seconds`` of 1024-channel data in blocks."""
    rng = np.random.default_rng(0)
    pool = rng.normal(0, 80, (N_CH, POOL_SAMPLES)).astype(np.float32)  # channel-major, as live
    pool_sm = np.ascontiguousarray(pool.T)  # the same values in file order, for the baseline
    block = round(FS * block_ms / 1000)
    n_blocks = round(seconds * FS / block)
    ts_pool = np.arange(POOL_SAMPLES + block, dtype=np.int64)
    chans = channels(N_CH)
    total_bytes = n_blocks * block * (N_CH * 4 + 8)

    def ours() -> None:
        base = tmp / "w_0"
        with XdatWriter(base, FS, chans) as writer:
            pos = 0
            for _ in range(n_blocks):
                i = pos % (POOL_SAMPLES - block + 1)
                writer.append(pool[:, i : i + block])
                pos += block
        for p in xdat_paths(base):
            p.unlink()

    def plain() -> None:
        data_path, ts_path = tmp / "plain_data.bin", tmp / "plain_ts.bin"
        with open(data_path, "wb") as fd, open(ts_path, "wb") as ft:
            pos = 0
            for _ in range(n_blocks):
                i = pos % (POOL_SAMPLES - block + 1)
                fd.write(pool_sm[i : i + block].data)
                ft.write(ts_pool[i : i + block].data)
                pos += block
        data_path.unlink()
        ts_path.unlink()

    t_ours: list[float] = []
    t_plain: list[float] = []
    for k in range(repeats):
        # each timed run starts with no dirty pages (os.sync, untimed) and the order alternates,
        # so page-cache writeback left by one run does not slow the next
        for fn, times in ((plain, t_plain), (ours, t_ours))[:: 1 if k % 2 == 0 else -1]:
            os.sync()
            times.append(median_time(fn, 1))
    mb = total_bytes / 1e6
    return mb / statistics.median(t_ours), mb / statistics.median(t_plain)


# ---------------------------------------------------------------------------- read
def make_read_file(tmp: Path, seconds: float) -> Path:
    rng = np.random.default_rng(1)
    pool = rng.normal(0, 80, (N_CH, POOL_SAMPLES)).astype(np.float32)
    base = tmp / "r_0"
    with XdatWriter(base, FS, channels(N_CH)) as writer:
        for _ in range(round(seconds * FS / POOL_SAMPLES)):
            writer.append(pool)
    return base


def bench_read(
    base: Path, n_windows: int, n_ch_window: int, repeats: int, layout: str
) -> tuple[float, float]:
    """Return (reader MB/s, memmap MB/s) for random windows of 100 ms x contiguous channels."""
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
    t_ours, t_mm = [], []
    for _ in range(repeats):
        t_mm.append(median_time(memmap, 1))
        t_ours.append(median_time(ours, 1))
    reader.close()
    mb = n_windows * win * n_ch_window * 4 / 1e6
    return mb / statistics.median(t_ours), mb / statistics.median(t_mm)


# ---------------------------------------------------------------------------- real time
def bench_realtime(tmp: Path, seconds: float) -> tuple[float, float, int, int, float]:
    """Append ``seconds`` of 1 ms blocks as fast as possible.

    Returns (elapsed s, real-time factor, appended samples, samples in the file, µs per append).
    """
    rng = np.random.default_rng(3)
    pool = rng.normal(0, 80, (N_CH, POOL_SAMPLES)).astype(np.float32)
    block = 30
    n_blocks = round(seconds * FS / block)
    base = tmp / "rt_0"
    os.sync()
    t0 = time.perf_counter()
    with XdatWriter(base, FS, channels(N_CH), first_sample=1000) as writer:
        for k in range(n_blocks):
            i = (k * block) % POOL_SAMPLES
            writer.append(pool[:, i : i + block], first_sample=1000 + k * block)
    elapsed = time.perf_counter() - t0
    with XdatReader(base) as reader:
        stored = reader.n_samples
        ts = np.asarray(reader.timestamps)
        contiguous = bool(np.all(np.diff(ts) == 1)) and int(ts[0]) == 1000
        last = reader.read(stored - block, stored, layout="channel_major")
    i = ((n_blocks - 1) * block) % POOL_SAMPLES
    if not contiguous or not np.array_equal(last, pool[:, i : i + block]):
        raise SystemExit("real-time check: timestamps or data are wrong")
    for p in xdat_paths(base):
        p.unlink()
    return elapsed, seconds / elapsed, n_blocks * block, stored, elapsed / n_blocks * 1e6


def row(name: str, ours: float, base: float, target: float) -> str:
    ratio = ours / base
    flag = "ok" if ratio >= target else "BELOW TARGET"
    return f"{name:<44} {ours:>9.0f} {base:>9.0f} {ratio:>7.2f}  (>= {target}) {flag}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default ``sys.argv[1:]``): ``--quick``, ``--dir``.

    Returns
    -------
    int
        0.

    Examples
    --------
    >>> main(["--quick"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (a few seconds of data)")
    parser.add_argument("--dir", default="/tmp", help="where to put temporary files")
    args = parser.parse_args(argv)
    write_s, read_s, rt_s, repeats = (2.0, 2.0, 5.0, 3) if args.quick else (15.0, 10.0, 60.0, 3)
    rt_bytes = rt_s * FS * (N_CH * 4 + 8)
    free = shutil.disk_usage(args.dir).free
    if free < 1.2 * rt_bytes + 2e9:
        raise SystemExit(
            f"need {1.2 * rt_bytes / 1e9:.1f} GB free in {args.dir}, have"
            f" {free / 1e9:.1f} GB (use --quick or --dir)"
        )

    tmp = Path(tempfile.mkdtemp(prefix="xdat-bench-", dir=args.dir))
    try:
        print(
            f"XDAT I/O, {N_CH} channels x {FS / 1000:g} kHz float32, median of {repeats}"
            f" ({'quick' if args.quick else 'full'} run, files in {tmp})"
        )
        print(f"{'':<44} {'ours':>9} {'baseline':>9} {'ratio':>7}")
        print("-- write, MB/s (baseline: file.write of the same bytes, same block sizes)")
        for block_ms in (1.0, 10.0):
            ours, plain = bench_write(tmp, write_s, block_ms, repeats)
            print(
                row(f"append {block_ms:g} ms channel-major blocks, {write_s:g} s", ours, plain, 0.8)
            )
        print("-- random 100 ms windows, MB/s (baseline: slice of a raw np.memmap, copied)")
        base = make_read_file(tmp, read_s)
        for n_win, n_ch in ((1000, 64), (100, N_CH)):
            for layout in ("sample_major", "channel_major"):
                ours, mm = bench_read(base, n_win, n_ch, repeats, layout)
                print(row(f"{n_win} windows x {n_ch} ch, {layout}", ours, mm, 0.9))
        for p in xdat_paths(base):
            p.unlink()
        print(f"-- recording {N_CH} ch x {FS / 1000:g} kHz for {rt_s:g} s in 1 ms blocks")
        elapsed, rtf, appended, stored, per_append = bench_realtime(tmp, rt_s)
        print(
            f"   wrote {rt_s:g} s of data in {elapsed:.1f} s: real-time factor {rtf:.1f}x,"
            f" {per_append:.0f} us per 1 ms block"
        )
        print(f"   appended {appended} samples, file holds {stored}: {appended - stored} dropped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
