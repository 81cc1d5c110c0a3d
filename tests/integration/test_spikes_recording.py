"""A recording made with the sorter on gets a ``.spikes`` set beside it, scored on the file.

The acceptance test of live detection and sorting on a *recorded file*: 20 s of
``smartbox_sim_gen_spikes`` recorded through the hub, the ``.spikes`` set read back with
:class:`SpikesReader`, and every unit with peak SNR >= 5 scored against the simulator's ground
truth with SpikeInterface's comparison (see ``tests/unit/hub/spikes/spike_scoring.py``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.formats.spikes_file import SpikesReader
from radiens_async.formats.xdat import XdatReader
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import MODE_SPIKES, DeviceSimulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "hub" / "spikes"))
from spike_scoring import HAVE_SI, score_units

pytestmark = pytest.mark.anyio

FS = 30000.0
MIN_SNR = 5.0


async def _wait_complete(json_path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with SpikesReader(json_path) as reader:
                if reader.metadata.complete:
                    return
        except Exception:  # not created yet, or in the middle of a metadata rewrite
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{json_path} was not completed within {timeout} s")


async def test_recording_with_sorter_on_writes_a_scored_spikes_set(
    address: str, tmp_path: Path
) -> None:
    seed = 0
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=seed)
        await allego.spike_sorter().set_sorting("on")
        await allego.set_recording_config(tmp_path, "sorted", 0, False)
        await allego.set_streaming("on")
        await asyncio.sleep(1.0)
        await allego.set_recording("on")
        await asyncio.sleep(20.0)
        await allego.set_recording("off")
        status = await allego.get_status()
        assert status.recording.error == ""
        await _wait_complete(tmp_path / "sorted_0.spikes.json")
        with XdatReader(tmp_path / "sorted_0.xdat") as rec:
            first = int(rec.timestamps[0])
            stop = first + rec.n_samples
        with SpikesReader(tmp_path / "sorted_0.spikes") as spikes:
            md = spikes.metadata
            assert md.complete and md.source_recording == "sorted_0"
            assert md.fs == FS and md.n_pts == 45 and spikes.n_spikes > 1000
            assert {c.ntv_idx for c in md.channels} == set(range(32))
            ts = spikes.timestamps()
            assert ts.size == spikes.n_spikes
            assert first <= int(ts.min()) and int(ts.max()) < stop
            assert (np.diff(ts) >= 0).all()
            assert spikes.waveforms().shape == (spikes.n_spikes, 45)
            channel, label = spikes.channels, spikes.labels
            assert md.units and all(u.label >= 1 for u in md.units)
        truth = await allego.get_ground_truth(first, stop)
        await allego.set_streaming("off")

    layout = build_layout(default_sim_sensors(32), n_ain=2, n_din=2, n_dout=2)
    sim = DeviceSimulator(MODE_SPIKES, FS, layout, seed=seed)
    assert [u.unit_id for u in sim.units()] == [u.unit_id for u in truth.units]
    # the detector needs a window of samples past a spike before it publishes it
    lo, hi = first + 100, stop - 100
    keep = (truth.sample_index >= lo) & (truth.sample_index < hi)
    gt = np.zeros(int(keep.sum()), dtype=[("sample_index", "i8"), ("unit_id", "i4")])
    gt["sample_index"], gt["unit_id"] = truth.sample_index[keep], truth.unit_id[keep]
    inside = (ts >= lo) & (ts < hi)
    scores = score_units(
        sim.units(), gt, ts[inside], channel[inside], label[inside], FS, delta_ms=0.5
    )
    strong = [s for s in scores if s.snr >= MIN_SNR]
    report = "\n".join(
        f"unit {s.unit_id} ch {s.peak_channel} snr {s.snr:.1f} n {s.n_true}: recall "
        f"{s.recall:.3f} precision {s.precision:.3f} accuracy {s.accuracy:.3f}"
        for s in scores
    )
    print(report)
    assert len(strong) >= 5, report
    assert all(s.recall >= 0.95 and s.precision >= 0.95 for s in strong), (HAVE_SI, report)
    assert all(s.accuracy >= 0.9 for s in strong), (HAVE_SI, report)


async def test_recording_with_sorter_off_writes_no_spikes_set(address: str, tmp_path: Path) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        await allego.spike_sorter().set_sorting("off")
        await allego.set_recording_config(tmp_path, "plain", 0, False)
        await allego.set_recording("on")
        await asyncio.sleep(0.5)
        await allego.set_recording("off")
        await allego.set_streaming("off")
        await allego.spike_sorter().set_sorting("on")
    names = {p.name for p in os.scandir(tmp_path)}
    assert names == {"plain_0.xdat.json", "plain_0_data.xdat", "plain_0_timestamp.xdat"}


async def test_spikes_of_a_linked_recording(address: str, tmp_path: Path) -> None:
    """get_spike_timestamps / get_spike_waveforms read the .spikes set of a linked recording."""
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=2)
        await allego.spike_sorter().set_sorting("on")
        await allego.set_recording_config(tmp_path, "linked", 0, False)
        await allego.set_recording("on")
        await asyncio.sleep(4.0)
        await allego.set_recording("off")
        await allego.spike_sorter().set_sorting("off")
        await allego.set_recording_config(tmp_path, "nospikes", 0, False)
        await allego.set_recording("on")
        await asyncio.sleep(0.3)
        await allego.set_recording("off")
        await allego.set_streaming("off")
        await allego.spike_sorter().set_sorting("on")
        with pytest.raises(radiens.FailedPrecondition, match="VidereClient"):
            await allego.spikes().get_spike_timestamps("linked_0")
    await _wait_complete(tmp_path / "linked_0.spikes.json")
    with SpikesReader(tmp_path / "linked_0.spikes") as reader:
        expected = reader.spike_timestamps_table()
        t0, t1 = reader.time_range
        mid = (t0 + t1) / 2
        expected_half = reader.spike_timestamps_table((t0, mid))
        waves_half = reader.waveforms((t0, mid), max_per_channel=1000)
        n_spikes = reader.n_spikes
    assert expected["timestamps"].size > 100

    async with radiens.AsyncVidereClient(address) as videre:
        meta = await videre.link_data_file(tmp_path / "linked_0.xdat")
        spikes = videre.spikes()
        got = await spikes.get_spike_timestamps(meta.id)
        assert set(got) == {"timestamps", "labels", "dset_idxs"}
        assert got["timestamps"].dtype == np.float64
        for key in got:
            np.testing.assert_array_equal(got[key], expected[key])
        half = await spikes.get_spike_timestamps(meta.id, [t0, mid])
        np.testing.assert_array_equal(half["timestamps"], expected_half["timestamps"])
        waves = await spikes.get_spike_waveforms(meta.id, [t0, mid])
        assert waves.dtype == np.float32 and waves.shape == (waves_half.shape[0], 45)
        np.testing.assert_array_equal(waves, waves_half)
        assert (await spikes.get_spike_waveforms(meta.id)).shape[0] <= n_spikes

        # bad input: typed errors, the catalog unchanged
        ids_before = (await videre.get_dataset_ids()).copy()
        with pytest.raises(radiens.NotFound):
            await spikes.get_spike_timestamps("no_such_dataset")
        with pytest.raises(radiens.InvalidArgument):
            await spikes.get_spike_timestamps(meta.id, [mid, t0])
        with pytest.raises(radiens.InvalidArgument):
            await spikes.get_spike_waveforms(meta.id, [0.0, float("nan")])
        with pytest.raises(radiens.InvalidArgument):
            await spikes.get_spike_waveforms("")
        plain = await videre.link_data_file(tmp_path / "nospikes_0.xdat")
        with pytest.raises(radiens.FailedPrecondition, match="no spikes"):
            await spikes.get_spike_timestamps(plain.id)
        ids_after = await videre.get_dataset_ids()
        assert set(ids_before["dataset ID"]) <= set(ids_after["dataset ID"])
        assert len(ids_after) == len(ids_before) + 1  # only the deliberate second link


def test_spikes_of_a_linked_recording_blocking(address: str, tmp_path: Path) -> None:
    """The blocking twins return the same arrays."""
    allego = radiens.AllegoClient(address)
    allego.restart("sim-spikes", seed=4)
    allego.set_recording_config(str(tmp_path), "sync", 0, False)
    allego.set_recording("on")
    time.sleep(2.0)
    allego.set_recording("off")
    allego.set_streaming("off")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with SpikesReader(tmp_path / "sync_0.spikes") as reader:
                if reader.metadata.complete:
                    expected = reader.spike_timestamps_table()
                    waves = reader.waveforms(max_per_channel=1000)
                    break
        except Exception:
            pass
        time.sleep(0.2)
    else:
        raise AssertionError("sync_0.spikes was not completed")
    videre = radiens.VidereClient(address)
    meta = videre.link_data_file(tmp_path / "sync_0.xdat")
    got = videre.spikes().get_spike_timestamps(meta.id)
    np.testing.assert_array_equal(got["timestamps"], expected["timestamps"])
    np.testing.assert_array_equal(videre.spikes().get_spike_waveforms(meta.id), waves)
    with pytest.raises(radiens.NotFound):
        videre.spikes().get_spike_waveforms("missing_dataset")
