"""Acceptance: live detection and sorting on ``smartbox_sim_gen_spikes`` against its ground truth.

30 s of 32 simulated channels are fed to the engine in 1 ms blocks, exactly as the acquisition
thread does. Scoring (see ``spike_scoring``): per unit with peak SNR >= 5, detection recall on
its peak channel, precision of that channel's detections against every unit visible there, and
SpikeInterface's sorting accuracy with labels as finally stored; 0.5 ms tolerance. The first
100 ms (noise warm-up, no detection) and the last samples (still in the detector's look-ahead)
are left out of the truth.
"""

from __future__ import annotations

import numpy as np
import pytest
from spike_scoring import HAVE_SI, score_units

from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import MODE_SPIKES, DeviceSimulator
from radiens_async.hub.spikes import SpikeEngine

FS = 30000.0
DURATION_S = 30.0
BLOCK = 30
MIN_SNR = 5.0


def run_engine(seed: int, block: int = BLOCK, duration_s: float = DURATION_S):
    layout = build_layout(default_sim_sensors(32), n_ain=2, n_din=2, n_dout=2)
    sim = DeviceSimulator(MODE_SPIKES, FS, layout, seed=seed)
    n_amp = layout.count(StreamSignalType.AMP)
    xy = np.array([(c.site.x_um, c.site.y_um) for c in layout.of_type(StreamSignalType.AMP)])
    engine = SpikeEngine(FS, n_amp, xy)
    n = int(duration_s * FS)
    for k in range(0, n, block):
        engine.process(sim.generate(min(block, n - k))[:n_amp], k)
    return sim, engine, n


@pytest.fixture(scope="module", params=[0, 3])
def scored(request: pytest.FixtureRequest):
    sim, engine, n = run_engine(request.param)
    lo, hi = int(0.1 * FS) + 100, n - 100
    truth = sim.ground_truth(lo, hi)
    spikes = engine.rasters(lo, hi)
    scores = score_units(
        sim.units(), truth, spikes.sample_index, spikes.channel, spikes.label, FS, delta_ms=0.5
    )
    return request.param, sim, engine, scores


def _report(scores) -> str:
    return "\n".join(
        f"unit {s.unit_id} ch {s.peak_channel} snr {s.snr:.1f} n {s.n_true}: recall "
        f"{s.recall:.3f} precision {s.precision:.3f} accuracy {s.accuracy:.3f}"
        for s in scores
    )


def test_detection_recall_and_precision_on_units_with_snr_5_or_more(scored) -> None:
    seed, _, _, scores = scored
    strong = [s for s in scores if s.snr >= MIN_SNR]
    assert len(strong) >= 5, f"seed {seed} has too few strong units to say anything"
    bad = [s for s in strong if s.recall < 0.95 or s.precision < 0.95]
    assert not bad, f"seed {seed} (SpikeInterface matching: {HAVE_SI}):\n{_report(scores)}"


def test_sorter_labels_agree_with_true_units(scored) -> None:
    seed, _, _, scores = scored
    bad = [s for s in scores if s.snr >= MIN_SNR and s.accuracy < 0.9]
    assert not bad, f"seed {seed} (SpikeInterface matching: {HAVE_SI}):\n{_report(scores)}"


def test_units_table_describes_the_strong_units(scored) -> None:
    _, sim, engine, _ = scored
    units = engine.units()
    by_channel = {(u["ntv_idx"], u["label"]): u for u in units}
    for unit in sim.units():
        if unit.snr < MIN_SNR:
            continue
        found = [u for (c, _), u in by_channel.items() if c == unit.peak_channel]
        assert found, f"no sorted unit on the peak channel of unit {unit.unit_id}"
        # the unit itself (neighbours seen on its channel are smaller): its band-passed trough
        # is of the order of the raw template's trough
        best = max(found, key=lambda u: u["mean_abs_peak_waveform"])
        assert 0.4 < best["mean_abs_peak_waveform"] / abs(unit.trough_uv) < 1.5
        assert best["snr"] > 3.0 and best["spike_count"] > 0
        assert np.isfinite(best["pos"]).all()
