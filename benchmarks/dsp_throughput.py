"""Curate DSP throughput: band-pass + CAR of a 64-channel 30 kHz XDAT file to a new XDAT file.

Run ``python benchmarks/dsp_throughput.py`` (the issue's 10-minute file: ~4.6 GB source, a few
minutes) or ``python benchmarks/dsp_throughput.py --quick`` (1-minute file, 3 repeats, about a
minute).
Every figure is measured side by side in one run; ratios are medians of per-repeat ratios, the
order of the contenders alternating between repeats. Throughput is in M (samples x channels)
per second of wall time.

ours
    :func:`run_xdat_pipeline` with a Butterworth band-pass 300-6000 Hz (2 poles per edge,
    zero phase) then a common average reference, chunked with margins on 2 worker threads,
    written through ``XdatWriter`` (what a ``dsp_band_pass_filter`` + ``dsp_car`` job chain does
    in one pass).
SpikeInterface
    ``read_neuronexus`` -> ``bandpass_filter(300, 6000, filter_order=2)`` (forward-backward sos,
    the same filter) -> ``common_reference(operator='average')`` -> ``save(format='binary',
    n_jobs=2)``.
copy
    ``shutil.copyfile`` of the data and timestamp files: the I/O floor of any file-to-file job.
scipy (whole signal, one core)
    ``sosfiltfilt`` of the same band-pass over a 60 s (at most) in-memory float32 block in
    channels x samples layout, plus the CAR: the compute floor of one core, no I/O.

The source is in the page cache for every contender (it is read once before timing), and dirty
pages are flushed (``os.sync``, untimed) before each timed run, so no contender pays for the
previous one's write-back. Each contender's own output is timed up to its return (no fsync).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import signal

from radiens_async.dsp.filters import band_pass_sos
from radiens_async.formats.xdat import XdatChannel, XdatReader, XdatWriter, xdat_paths
from radiens_async.hub.jobs.chunk_transforms import CommonAverageReference, SosFilter
from radiens_async.hub.jobs.dsp_ops import BandPass, plan_for
from radiens_async.hub.jobs.file_pipeline import DEFAULT_WORKERS, run_xdat_pipeline

FS = 30000.0
N_CH = 64
LOW, HIGH = 300.0, 6000.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_source(directory: Path, minutes: float) -> Path:
    """A 64-channel amplifier recording: noise and spikes-like bursts, cycled from a 5 s pool."""
    chans = [
        XdatChannel(
            name=f"A-{i:03d}",
            ntv_name=f"A-{i:03d}",
            signal_type="amp",
            ntv_idx=i,
            sys_idx=i,
            site_x_um=float(20 * (i % 2)),
            site_y_um=float(20 * (i // 2)),
        )
        for i in range(N_CH)
    ]
    rng = np.random.default_rng(0)
    pool = rng.normal(0, 20, (N_CH, int(5 * FS))).astype(np.float32)
    pool += (50 * np.sin(2 * np.pi * 60 * np.arange(pool.shape[1]) / FS)).astype(np.float32)
    n_total = int(minutes * 60 * FS)
    base = directory / "bench_src"
    with XdatWriter(base, FS, chans) as writer:
        done = 0
        while done < n_total:
            take = min(pool.shape[1], n_total - done)
            writer.append(pool[:, :take])
            done += take
    return base


def warm(base: Path) -> None:
    for path in xdat_paths(base):
        with open(path, "rb") as f:
            while f.read(16 << 20):
                pass


def run_ours(src: Path, target: Path) -> None:
    with XdatReader(src) as reader:
        plan = plan_for(BandPass(LOW, HIGH), reader.metadata)
    rows = list(range(N_CH))
    plan.transforms = [SosFilter(band_pass_sos(LOW, HIGH, FS), rows), CommonAverageReference(rows)]
    run_xdat_pipeline(src, target, plan, stop=threading.Event(), workers=DEFAULT_WORKERS)


def run_spikeinterface(src: Path, target: Path) -> None:
    import spikeinterface.extractors as se
    import spikeinterface.preprocessing as spre

    rec = se.read_neuronexus(str(xdat_paths(src).json), stream_id="ai-pri")
    rec = spre.bandpass_filter(rec, freq_min=LOW, freq_max=HIGH, filter_order=2)
    rec = spre.common_reference(rec, reference="global", operator="average")
    rec.save(folder=target, format="binary", n_jobs=2, chunk_duration="1s", progress_bar=False)


def run_copy(src: Path, target: Path) -> None:
    target.mkdir()
    for path in xdat_paths(src)[1:]:
        shutil.copyfile(path, target / path.name)


def scipy_one_core(src: Path, seconds: float) -> float:
    """M values/s of in-memory sosfiltfilt + CAR on one core (median of 3)."""
    with XdatReader(src) as reader:
        block = reader.read(0, min(reader.n_samples, int(seconds * FS)))
    sos = band_pass_sos(LOW, HIGH, FS)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = signal.sosfiltfilt(sos, block, axis=-1).astype(np.float32)
        out -= out.mean(axis=0)
        times.append(time.perf_counter() - t0)
    return block.size / statistics.median(times) / 1e6


def timed(fn: Callable[[Path, Path], None], src: Path, target: Path) -> float:
    os.sync()  # untimed: no contender pays for the previous one's write-back
    t0 = time.perf_counter()
    fn(src, target)
    return time.perf_counter() - t0


def clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    for p in xdat_paths(path):
        p.unlink(missing_ok=True)


def agreement(ours: Path, si_folder: Path, n_samples: int) -> float:
    """Max |ours - SI| / RMS over 1 s in the middle of the file (both float32 on disk)."""
    mid = n_samples // 2
    with XdatReader(ours) as reader:
        a = reader.read(mid, mid + int(FS), layout="sample_major")
    raw = next(si_folder.glob("traces_cached_seg0.raw"))
    b = np.memmap(raw, np.float32, "r").reshape(-1, N_CH)[mid : mid + int(FS)]
    return float(np.max(np.abs(a - b)) / np.sqrt(np.mean(a.astype(np.float64) ** 2)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="source length (default 10)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-si", action="store_true", help="skip SpikeInterface")
    parser.add_argument("--quick", action="store_true", help="1-minute file, 3 repeats")
    args, _ = parser.parse_known_args()
    if args.quick:
        args.minutes, args.repeats = 1.0, 3
    with tempfile.TemporaryDirectory(prefix="radiens-dsp-bench-") as tmp:
        work = Path(tmp)
        src = write_source(work, args.minutes)
        n_samples = int(args.minutes * 60 * FS)
        values = n_samples * N_CH
        warm(src)
        contenders: dict[str, Callable[[Path, Path], None]] = {
            "ours": run_ours,
            "copy": run_copy,
        }
        if not args.no_si:
            contenders["spikeinterface"] = run_spikeinterface
        times: dict[str, list[float]] = {name: [] for name in contenders}
        agree = float("nan")
        for rep in range(args.repeats):
            order = list(contenders) if rep % 2 == 0 else list(reversed(contenders))
            for name in order:
                target = work / f"out_{name}"
                clear(target)
                times[name].append(timed(contenders[name], src, target))
            if rep == 0 and not args.no_si:
                agree = agreement(work / "out_ours", work / "out_spikeinterface", n_samples)
            for name in contenders:
                clear(work / f"out_{name}")
        scipy_rate = scipy_one_core(src, 60.0)

    rate = {name: values / statistics.median(t) / 1e6 for name, t in times.items()}

    def ratio(a: str, b: str) -> float:
        return statistics.median(tb / ta for ta, tb in zip(times[a], times[b], strict=True))

    result = {
        "benchmark": "dsp_throughput",
        "minutes": args.minutes,
        "channels": N_CH,
        "fs": FS,
        "repeats": args.repeats,
        "workers": DEFAULT_WORKERS,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "seconds": times,
        "M_values_per_s": rate,
        "scipy_one_core_M_values_per_s": scipy_rate,
        "ours_vs_spikeinterface": ratio("ours", "spikeinterface") if not args.no_si else None,
        "ours_vs_copy": ratio("ours", "copy"),
        "ours_vs_scipy_one_core": rate["ours"] / scipy_rate,
        "max_abs_diff_vs_spikeinterface_over_rms": agree,
    }
    print(
        f"band-pass {LOW:g}-{HIGH:g} Hz + CAR, {N_CH} ch x {FS:g} Hz x {args.minutes:g} min"
        f" ({values / 1e6:.0f} M values), {args.repeats} repeat(s)"
    )
    for name in contenders:
        print(f"  {name:15s} {statistics.median(times[name]):7.2f} s  {rate[name]:7.1f} M/s")
    print(f"  scipy 1 core    (in memory)  {scipy_rate:7.1f} M/s")
    if not args.no_si:
        print(f"ours / SpikeInterface (n_jobs=2): {result['ours_vs_spikeinterface']:.2f}x")
        print(f"ours vs SpikeInterface output: max |diff| = {agree:.1e} x RMS")
    print(f"ours / plain copy (I/O floor):    {result['ours_vs_copy']:.2f}x")
    print(f"ours / scipy one core in memory:  {result['ours_vs_scipy_one_core']:.2f}x")
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"dsp_throughput-{stamp}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
