"""Videre benchmark: ``get_signals`` against a raw ``np.memmap`` slice, ``get_psd`` against scipy.

Run ``python benchmarks/videre_signals.py`` (about 2 minutes, a 2 GiB temporary XDAT file) or
``--quick`` (a 256 MiB file). Every comparison is measured side by side in one run, alternating,
page cache warm; ratios are medians of per-pair ratios (>1 means we are faster).

get_signals
    A real hub process links a 64-channel 30 kHz XDAT file (2 GiB: 280 s). Windows of one sample
    to 30 s at random places go through ``AsyncVidereClient.signals().get_signals``, which
    returns the documented float64 channel-major arrays. Two paths: "local map" (the default
    with a hub on this machine: one unary call gets the window's place in the file, the client
    reads it) and "gRPC bytes" (the hub reads its memory map and streams float32 blocks of
    1 MiB over loopback gRPC, as for a remote hub). The baseline slices a raw ``np.memmap`` of
    the same data file and converts it to the same output (channel-major float64). Target
    >= 0.8x at 1 s windows. The one-sample row is the fixed cost of a call (one gRPC round trip
    plus building the result); the rows for growing windows show time proportional to the
    window, the first/last-window rows that the file size does not matter.
get_psd
    64 channels x 60 s of the same file, Hamming with 1 % overlap, 1 Hz resolution, 1-300 Hz.
    Row "file rate": ``get_psd(samp_freq=None)`` (the PSD at 30 kHz) against
    ``scipy.signal.welch`` called directly on the same samples already in memory as float64.
    Row "samp_freq 2000": the default ``samp_freq=2000`` against ``scipy.signal.resample_poly``
    (30 kHz -> 2 kHz) of the whole in-memory array followed by ``welch``. Target >= 0.9x for
    both; the last column is the largest relative difference of the returned bins.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import scipy.signal

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import print_table, running_hub, write_results

import radiens_async as radiens
from radiens_async.client.signals import AsyncSignalsClient
from radiens_async.formats.xdat import XdatChannel, XdatWriter, xdat_paths
from radiens_async.models.dataset_metadata import DatasetMetadata

FS = 30000.0
N_CH = 64
GIB = 1 << 30


def write_file(directory: Path, nbytes: int) -> Path:
    """A 64-channel XDAT file of about ``nbytes`` of samples (noise plus a 60 Hz line)."""
    chans = [
        XdatChannel(name=f"A-{i:03d}", ntv_name=f"A-{i:03d}", signal_type="amp", ntv_idx=i,
                    sys_idx=i)
        for i in range(N_CH)
    ]  # fmt: skip
    n_total = nbytes // (4 * N_CH)
    block = int(FS)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 20, (N_CH, block)).astype(np.float32)
    t = np.arange(block) / FS
    line = (30 * np.sin(2 * np.pi * 60 * t)).astype(np.float32)
    with XdatWriter(directory / "big", FS, chans) as w:
        for k in range(0, n_total, block):
            n = min(block, n_total - k)
            w.append(np.roll(noise, k % 997, axis=1)[:, :n] + line[:n])
    return directory / "big.xdat"


def memmap_window(path: Path, n_total: int, i0: int, i1: int) -> np.ndarray:
    """The baseline: raw memmap slice -> channel-major float64 (the documented output)."""
    mm = np.memmap(xdat_paths(path).data, np.float32, "r", shape=(n_total, N_CH))
    return np.ascontiguousarray(mm[i0:i1].T, dtype=np.float64)


async def paired_windows(
    sig: AsyncSignalsClient,
    meta: DatasetMetadata,
    path: Path,
    n_total: int,
    t0: float,
    starts: list[int],
    n: int,
) -> tuple[float, float, float]:
    """get_signals vs the memmap baseline on the same windows, alternating (page cache warm)."""
    for i0 in starts:
        memmap_window(path, n_total, i0, i0 + n)
    await sig.get_signals([t0 + starts[0] / FS, t0 + (starts[0] + n) / FS], dataset_metadata=meta)
    t_ours, t_base, ratios = [], [], []
    for i0 in starts:
        a = time.perf_counter()
        got = await sig.get_signals([t0 + i0 / FS, t0 + (i0 + n) / FS], dataset_metadata=meta)
        b = time.perf_counter()
        ref = memmap_window(path, n_total, i0, i0 + n)
        c = time.perf_counter()
        assert got.signals.amp.shape == ref.shape
        t_ours.append(b - a)
        t_base.append(c - b)
        ratios.append((c - b) / (b - a))
    return statistics.median(t_ours), statistics.median(t_base), statistics.median(ratios)


async def paired(
    ours: Callable[[], Awaitable[object]], base: Callable[[], object], repeats: int
) -> tuple[float, float, float]:
    """Median of ours, of the baseline, and of the per-pair ratio base/ours."""
    t_ours, t_base, ratios = [], [], []
    for _ in range(repeats):
        a = time.perf_counter()
        await ours()
        b = time.perf_counter()
        base()
        c = time.perf_counter()
        t_ours.append(b - a)
        t_base.append(c - b)
        ratios.append((c - b) / (b - a))
    return statistics.median(t_ours), statistics.median(t_base), statistics.median(ratios)


async def run(quick: bool) -> dict[str, object]:
    nbytes = (GIB // 4) if quick else 2 * GIB
    repeats = 5 if quick else 7
    results: dict[str, object] = {"file_bytes": nbytes, "channels": N_CH, "fs": FS}
    with tempfile.TemporaryDirectory(prefix="videre-bench-") as tmp, running_hub() as hub:
        t = time.perf_counter()
        path = write_file(Path(tmp), nbytes)
        print(f"wrote {nbytes / GIB:.2f} GiB in {time.perf_counter() - t:.1f} s")
        async with radiens.AsyncVidereClient(hub.address) as videre:
            meta = await videre.link_data_file(path, calc_metrics=False)
            n_total = meta.TR.N
            t0 = float(meta.TR.sec[0])
            sig = videre.signals()
            rng = random.Random(1)
            rows = []
            sig_rows: list[dict[str, object]] = []
            windows = [
                ("1 sample", 1 / FS, None),
                ("0.1 s random", 0.1, None),
                ("1 s random", 1.0, None),
                ("10 s random", 10.0, None),
                ("30 s random", 30.0, None),
                ("1 s first", 1.0, 0),
                ("1 s last", 1.0, -1),
            ]
            for path_label, local in (("local map", True), ("gRPC bytes", False)):
                sig.local_reads = local
                for label, dur, where in windows:
                    n = max(1, round(dur * FS))
                    if where is None:
                        starts = [rng.randrange(0, n_total - n) for _ in range(repeats)]
                    else:
                        starts = [0 if where == 0 else n_total - n] * repeats
                    t_ours, t_base, ratio = await paired_windows(
                        sig, meta, path, n_total, t0, starts, n
                    )
                    mb = n * N_CH * 4 / 1e6
                    rows.append(
                        [path_label, label, f"{t_ours * 1e3:.1f}", f"{t_base * 1e3:.1f}",
                         f"{mb / t_ours:.0f}", f"{ratio:.2f}"]
                    )  # fmt: skip
                    sig_rows.append(
                        {"path": path_label, "window": label, "ours_s": t_ours,
                         "memmap_s": t_base, "ratio": ratio}
                    )  # fmt: skip
            sig.local_reads = True
            print_table(
                f"get_signals vs np.memmap slice ({nbytes / GIB:.2f} GiB file, {N_CH} ch, "
                f"median of {repeats})",
                ["path", "window", "get_signals ms", "memmap ms", "MB/s (float32)", "ratio"],
                rows,
            )
            results["get_signals"] = sig_rows

            # -- PSD -------------------------------------------------------------------
            dur = 60.0 if not quick else 20.0
            n = int(dur * FS)
            x = memmap_window(path, n_total, 0, n)
            tr = [t0, t0 + dur]
            psd_rows = []
            psd_cases = (
                ("file rate 30 kHz (samp_freq=None)", "welch", None),
                ("samp_freq 2000 (default)", "resample_poly + welch", 2000.0),
            )
            for label, reference, samp_freq in psd_cases:

                async def ours_psd(samp_freq: float | None = samp_freq) -> object:
                    return await sig.get_psd(
                        tr, samp_freq=samp_freq, freq_resolution=1.0, freq_range=[1, 300],
                        dataset_metadata=meta,
                    )  # fmt: skip

                def base_psd(samp_freq: float | None = samp_freq) -> object:
                    y = x if samp_freq is None else scipy.signal.resample_poly(x, 1, 15, axis=-1)
                    rate = FS if samp_freq is None else samp_freq
                    nper = int(rate)
                    return scipy.signal.welch(
                        y, rate, window="hamming", nperseg=nper, noverlap=nper // 100
                    )

                got = await ours_psd()
                f_ref, p_ref = base_psd()  # type: ignore[misc]
                keep = (f_ref >= 1) & (f_ref <= 300)
                err = float(np.max(np.abs(got.psd - p_ref[:, keep]) / p_ref[:, keep]))  # type: ignore[attr-defined]
                t_ours, t_base, ratio = await paired(ours_psd, base_psd, 3)
                psd_rows.append(
                    [label, reference, f"{t_ours:.2f}", f"{t_base:.2f}", f"{ratio:.2f}",
                     f"{err:.1e}"]
                )  # fmt: skip
                key = "psd_file_rate" if samp_freq is None else "psd_samp_freq_2000"
                results[key] = {
                    "reference": reference, "ours_s": t_ours, "reference_s": t_base,
                    "ratio": ratio, "max_rel_err": err,
                }  # fmt: skip
            print_table(
                f"get_psd vs scipy on the in-memory array ({N_CH} ch x {dur:g} s, median of 3)",
                ["PSD rate", "reference", "get_psd s", "reference s", "ratio", "max rel diff"],
                psd_rows,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 256 MiB file, 20 s PSD")
    args = parser.parse_args()
    results = asyncio.run(run(args.quick))
    print(f"results: {write_results('videre_signals', results)}")


if __name__ == "__main__":
    main()
