"""Live spikes through the hub: sorter controls, tables, recent spikes and the spike stream."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.errors import InvalidArgument

pytestmark = pytest.mark.anyio


async def test_live_spikes_end_to_end(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=5)
        sorter = allego.spike_sorter()
        assert (await sorter.set_threshold_level(neg_thr=5, scale="sd")) == (
            "[32 channels] detect: neg thr=5.00 sd, pos thr=n/a sd"
        )
        await sorter.set_threshold(neg_thr="on")
        await sorter.set_sorting("on")
        params = await sorter.get_params()
        assert list(params.loc[0, "thr_sd"]) == [-5.0, 5.0]
        assert list(params.loc[0, "thr_activated"]) == [True, False]
        await allego.set_streaming("on")
        truth_fs = 30000.0
        seen = 0
        previous = None
        async with contextlib.aclosing(allego.spikes().stream()) as batches:
            async for batch in batches:
                assert batch.missed_spikes == 0
                if previous is not None:
                    assert batch.first_seq == previous
                previous = batch.next_seq
                assert batch.waveforms.shape == (batch.n_spikes, 45)
                assert (np.diff(batch.sample_index) >= 0).all()
                seen += batch.n_spikes
                if seen >= 300:
                    break
        recent = await allego.spikes().get_recent_spikes(2.0, max_spikes_per_chan=5)
        assert recent.num_pts_waveform == 45 and recent.num_spikes_total > 0
        for entry in recent.channels().values():
            assert entry["num_spikes"] <= 5
            if entry["num_spikes"]:
                assert entry["waveforms"].shape == (45, entry["num_spikes"])
        rasters = await allego.spikes().get_spike_rasters()
        assert rasters["spikes"]["timestamps"].size >= seen
        # detected spikes line up with the simulator's ground truth on the unit's peak channel
        truth = await allego.get_ground_truth()
        ts = rasters["spikes"]["timestamps"]
        near = np.abs(ts[:, None] - truth.sample_index[None, :]).min(axis=1) <= 0.0005 * truth_fs
        assert near.mean() > 0.9
        dash = await sorter.get_dashboard()
        assert dash.general.loc["num_sites_total", "value"] == 32
        assert list(dash.summary_stats["stat"][:3]) == ["probe-snr", "probe-noise", "probe-units"]
        state = await sorter.get_state()
        assert state.state.loc["mode", "value"] == "SYS_ON"
        meta = await allego.spikes().get_spikes_metadata()
        assert meta.id == "Live Signals" and len(meta.sites) == 32
        await allego.set_streaming("off")


async def test_live_spikes_bad_input(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        sorter = allego.spike_sorter()
        before = await sorter.get_params()
        with pytest.raises(InvalidArgument):
            await sorter.set_threshold_level(neg_thr=50, ntv_idxs=[0, 99])
        with pytest.raises(InvalidArgument):
            await sorter.set_spike_window(0, 1)
        with pytest.raises(InvalidArgument):
            await sorter.set_spike_shadow(11)
        after = await sorter.get_params()
        assert before.astype(str).equals(after.astype(str))
        with pytest.raises(InvalidArgument):
            await allego.spikes().get_recent_spikes(-1)
        with pytest.raises(InvalidArgument):
            await allego.spikes().get_recent_spikes(1.0, ntv_chan_idxs=[500])
        with pytest.raises(InvalidArgument, match="streaming is off"):
            async for _ in allego.spikes().stream():
                pass
        await asyncio.sleep(0)
