"""Live spike detection and sorting: accuracy against ground truth and SpikeInterface, and speed.

Run ``python benchmarks/spike_detection.py`` (about 3 minutes) or ``--quick`` (about 1 minute).

Accuracy (32 channels of ``smartbox_sim_gen_spikes``, several seeds)
    The simulated recording is written to an XDAT file set, which SpikeInterface opens with
    ``read_neuronexus``. The same samples go through :class:`SpikeEngine` in 1 ms blocks, as the
    hub's acquisition thread feeds it. SpikeInterface runs its ``bandpass_filter`` (zero-phase,
    i.e. offline) and ``detect_peaks(method="by_channel")`` with the same threshold, 5 x the
    MAD-based noise SD, once with its default band (300-6000 Hz) and once with ours
    (300-3000 Hz). Scoring is the acceptance test's (``tests/unit/hub/spikes/spike_scoring.py``):
    per unit with peak SNR >= 5, recall on its peak channel and precision of that channel's
    detections against every unit seen there, 0.5 ms tolerance, SpikeInterface's matcher;
    sorting accuracy (ours only: detect_peaks does not sort) with labels as finally stored.
Speed (32 and 1024 channels)
    CPU time per second of signal (``core``) and wall-clock speed (``x real time``), 1 ms
    blocks, for pure noise and for simulated spikes (while the sorter learns, and once it has
    learnt), side by side with SpikeInterface's filter + detect_peaks on the same samples (one
    job, 1 s chunks, its noise estimate timed apart). Absolute figures move with the machine's
    load; compare within a run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from radiens_async.formats.xdat import XdatWriter
from radiens_async.hub.daq.allego_device import xdat_channels
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import MODE_SPIKES, DeviceSimulator
from radiens_async.hub.spikes import SpikeEngine
from radiens_async.hub.spikes.spike_band_filter import DEFAULT_BAND_HZ

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "hub" / "spikes"))
from spike_scoring import HAVE_SI, score_units

FS = 30000.0
BLOCK = 30
THRESHOLD_SD = 5.0
MIN_SNR = 5.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def simulate(n_ch: int, seed: int, seconds: float) -> tuple[DeviceSimulator, Any, np.ndarray]:
    layout = build_layout(default_sim_sensors(n_ch), n_ain=0, n_din=0, n_dout=0)
    sim = DeviceSimulator(MODE_SPIKES, FS, layout, seed=seed)
    n_amp = layout.count(StreamSignalType.AMP)
    return sim, layout, sim.generate(int(seconds * FS))[:n_amp]


def run_engine(data: np.ndarray, start: int = 0, engine: SpikeEngine | None = None):
    """Feed ``data`` in 1 ms blocks; return the engine, thread CPU s and wall s."""
    engine = engine or SpikeEngine(FS, data.shape[0], None)
    c0, w0 = time.thread_time(), time.perf_counter()
    for k in range(0, data.shape[1], BLOCK):
        engine.process(data[:, k : k + BLOCK], start + k)
    return engine, time.thread_time() - c0, time.perf_counter() - w0


def si_recording(data: np.ndarray, layout: Any, folder: Path):
    """The samples as SpikeInterface sees them: through our XDAT writer and its NeuroNexus
    reader when that works, else wrapped in memory (reported)."""
    import spikeinterface.core as sc

    try:
        import spikeinterface.extractors as se

        base = folder / "sim"
        w = XdatWriter(base, FS, xdat_channels(layout))
        for k in range(0, data.shape[1], 30000):
            w.append(data[:, k : k + 30000])
        w.close()
        rec = se.read_neuronexus(str(base) + ".xdat.json", stream_id="ai-pri")
        got = rec.get_traces(start_frame=0, end_frame=300, return_in_uV=False).T
        if not np.allclose(got, data[:, :300], atol=1e-3):
            raise ValueError("samples read back differ")
        return rec, "XDAT via read_neuronexus"
    except Exception as exc:  # the fallback keeps the comparison running
        return sc.NumpyRecording([np.ascontiguousarray(data.T)], FS), f"NumpyRecording ({exc})"


def run_si(rec: Any, band: tuple[float, float]):
    """SpikeInterface's filter + by-channel detection.

    Returns the peaks, and CPU and wall seconds of the detection and, apart, of the noise
    estimate (``get_noise_levels`` filters 20 random 1/3 s chunks: at 1024 channels it costs
    more than detecting a few seconds; ours is part of the live loop).
    """
    import spikeinterface.preprocessing as spre
    from spikeinterface.core import get_noise_levels
    from spikeinterface.sortingcomponents.peak_detection import detect_peaks

    c0, w0 = time.process_time(), time.perf_counter()
    filtered = spre.bandpass_filter(rec, freq_min=band[0], freq_max=band[1])
    noise = get_noise_levels(filtered, return_in_uV=False, progress_bar=False)
    c1, w1 = time.process_time(), time.perf_counter()
    peaks = detect_peaks(
        filtered,
        method="by_channel",
        method_kwargs=dict(peak_sign="neg", detect_threshold=THRESHOLD_SD, noise_levels=noise),
        job_kwargs=dict(n_jobs=1, chunk_duration="1s", progress_bar=False),
    )
    c2, w2 = time.process_time(), time.perf_counter()
    return peaks, {"detect": (c2 - c1, w2 - w1), "noise": (c1 - c0, w1 - w0)}


def summarize(scores: list, with_accuracy: bool) -> dict[str, float]:
    strong = [s for s in scores if s.snr >= MIN_SNR]
    out = {
        "units": len(strong),
        "recall_min": min(s.recall for s in strong),
        "recall_mean": float(np.mean([s.recall for s in strong])),
        "precision_min": min(s.precision for s in strong),
        "precision_mean": float(np.mean([s.precision for s in strong])),
    }
    if with_accuracy:
        out["accuracy_min"] = min(s.accuracy for s in strong)
        out["accuracy_mean"] = float(np.mean([s.accuracy for s in strong]))
    return out


def accuracy(seeds: list[int], seconds: float) -> list[dict[str, Any]]:
    rows = []
    for seed in seeds:
        sim, layout, data = simulate(32, seed, seconds)
        n = data.shape[1]
        lo, hi = int(0.1 * FS) + 100, n - 100
        truth = sim.ground_truth(lo, hi)
        units = sim.units()
        amp_ntv = np.array([c.ntv_idx for c in layout.of_type(StreamSignalType.AMP)], np.int32)

        engine, cpu, wall = run_engine(data)
        ours = engine.rasters(lo, hi)
        row: dict[str, Any] = {"seed": seed, "seconds": seconds}
        row["ours"] = summarize(
            score_units(units, truth, ours.sample_index, ours.channel, ours.label, FS), True
        )
        row["ours"].update(cpu_per_s=cpu / seconds, x_real_time=seconds / wall)
        with tempfile.TemporaryDirectory(prefix="radiens-spikes-") as tmp:
            rec, how = si_recording(data, layout, Path(tmp))
            row["si_input"] = how
            for name, band in (("si_300_6000", (300.0, 6000.0)), ("si_300_3000", DEFAULT_BAND_HZ)):
                peaks, cost = run_si(rec, band)
                cpu, wall = cost["detect"]
                keep = (peaks["sample_index"] >= lo) & (peaks["sample_index"] < hi)
                p = peaks[keep]
                # recording channels are the amplifier columns, in file (= ntv) order
                ntv = amp_ntv[p["channel_index"]]
                spikes = (p["sample_index"].astype(np.int64), ntv, np.zeros(p.size, np.int32))
                row[name] = summarize(score_units(units, truth, *spikes, FS), False)
                row[name].update(cpu_per_s=cpu / seconds, x_real_time=seconds / wall)
        rows.append(row)
        print_accuracy_row(row)
    return rows


def print_accuracy_row(row: dict[str, Any]) -> None:
    print(
        f"\nseed {row['seed']}, {row['seconds']:.0f} s x 32 channels (SI input: {row['si_input']})"
    )
    head = ("units", "recall min/mean", "precision min/mean", "accuracy min/mean", "core", "x RT")
    widths = (6, 18, 21, 20, 7, 7)
    print("  " + " " * 28 + "".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True)))
    for key, label in (
        ("ours", "ours (live, 1 ms blocks)"),
        ("si_300_6000", "SI detect_peaks 300-6000"),
        ("si_300_3000", "SI detect_peaks 300-3000"),
    ):
        r = row[key]
        acc = f"{r['accuracy_min']:.3f}/{r['accuracy_mean']:.3f}" if "accuracy_min" in r else "-"
        print(
            f"  {label:<28}{r['units']:>6}{r['recall_min']:>9.3f}/{r['recall_mean']:.3f}"
            f"{r['precision_min']:>12.3f}/{r['precision_mean']:.3f}{acc:>20}"
            f"{r['cpu_per_s']:>7.3f}{r['x_real_time']:>7.1f}"
        )


def speed(n_ch: int, seconds: float, passes: int) -> dict[str, Any]:
    """CPU per signal second for noise and for spikes (learning, then learnt)."""
    _, _, data = simulate(n_ch, 0, seconds)
    out: dict[str, Any] = {"channels": int(data.shape[0]), "seconds": seconds}
    noise = np.random.default_rng(0).normal(0.0, 6.0, data.shape).astype(np.float32)
    _, cpu, wall = run_engine(noise)
    out["noise"] = {"core": cpu / seconds, "x_real_time": seconds / wall}
    engine = None
    phases = []
    for k in range(passes):  # the same samples again: the sorter has learnt them by then
        engine, cpu, wall = run_engine(data, start=k * data.shape[1], engine=engine)
        phases.append({"core": cpu / seconds, "x_real_time": seconds / wall})
    assert engine is not None
    out["spikes_learning"] = phases[0]
    out["spikes_learnt"] = phases[-1]
    out["spikes_per_s"] = engine.next_seq / (passes * seconds)
    out["units"] = len(engine.units())
    rec = __import__("spikeinterface.core", fromlist=["NumpyRecording"]).NumpyRecording(
        [np.ascontiguousarray(data.T)], FS
    )
    _, cost = run_si(rec, DEFAULT_BAND_HZ)
    cpu, wall = cost["detect"]
    out["si_300_3000"] = {"core": cpu / seconds, "x_real_time": seconds / wall}
    out["si_noise_levels_s"] = cost["noise"][0]
    print(
        f"\n{out['channels']} channels, {seconds:.0f} s of signal ({out['spikes_per_s']:.0f} "
        f"spikes/s, {out['units']} units):"
    )
    for key, label in (
        ("noise", "ours, noise only"),
        ("spikes_learning", "ours, spikes, sorter learning"),
        ("spikes_learnt", f"ours, spikes, pass {passes} (learnt)"),
        ("si_300_3000", "SI filter + detect_peaks (offline)"),
    ):
        r = out[key]
        print(f"  {label:<40}{r['core']:>7.3f} core{r['x_real_time']:>8.1f} x real time")
    print(f"  (SI get_noise_levels, not included above: {out['si_noise_levels_s']:.1f} s CPU)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one seed, shorter runs (~1 minute)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if not HAVE_SI:
        sys.exit("this benchmark needs spikeinterface and numba (pip install spikeinterface numba)")
    seeds, seconds = ([0], 20.0) if args.quick else ([0, 1, 2, 3], 30.0)
    cpu = platform.processor() or platform.machine()
    print(f"{platform.node()} {cpu}, python {platform.python_version()}")
    results: dict[str, Any] = {"accuracy": accuracy(seeds, seconds)}
    results["speed"] = [
        speed(32, 10.0 if args.quick else 30.0, 2 if args.quick else 3),
        speed(1024, 2.0 if args.quick else 5.0, 2 if args.quick else 3),
    ]
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"spike_detection-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
