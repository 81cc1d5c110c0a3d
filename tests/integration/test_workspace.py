"""Workspaces against real hubs: round trips through save, a hub restart and a switch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import radiens_async as radiens
from radiens_async.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from radiens_async.models.converters.workspace import WORKSPACE_COLUMNS
from radiens_async.utils.enums import SystemMode

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

STIM = {
    "stim_sys_chan_idx": 9,
    "stim_shape": 2,
    "stim_polarity": 1,
    "first_phase_duration_us": 80.0,
    "second_phase_duration_us": 160.0,
    "interphase_delay_us": 20.0,
    "first_phase_amplitude_uA": 7.5,
    "second_phase_amplitude_uA": 7.5,
    "baseline_voltage": 0.5,
    "trigger_edge_or_level": 1,
    "trigger_high_or_low": 1,
    "enabled": True,
    "post_trigger_delay_us": 100.0,
    "pulse_or_train": 1,
    "number_of_stim_pulses": 4,
    "pulse_train_period_us": 5000.0,
    "refactory_period_ms": 3.0,
    "pre_stim_amp_settle_us": 5.0,
    "post_stim_amp_settle_us": 15.0,
    "maintain_amp_settle_us": True,
    "enable_amp_settle": True,
    "post_stim_charge_recovery_on_us": 10.0,
    "post_stim_charge_recovery_off_us": 90.0,
    "enable_charge_recovery": True,
    "trigger_source_is_keypress": True,
    "trigger_source_idx": 4,
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workspace-hub")


@pytest.fixture(scope="module")
def ws_hub(data_dir: Path) -> Iterator[HubProcess]:
    """A hub of this module's own (switching workspaces changes the whole instrument)."""
    with HubProcess(data_dir) as process:
        yield process


async def configure(allego: radiens.AsyncAllegoClient, rec_dir: Path) -> None:
    await allego.set_streaming("off")
    await allego.restart("smartbox_sim_gen_sine_multi_band", seed=9, num_channels=64)
    await allego.set_sampling_freq(12500)
    await allego.set_sensor("A", "passthrough_64", "buz64")
    sorter = allego.spike_sorter()
    await sorter.set_threshold_level(neg_thr=70)
    await sorter.set_threshold_level(pos_thr=4, scale="sd", ntv_idxs=[1, 2])
    await sorter.set_threshold(pos_thr="on")
    await sorter.set_spike_window(0.8, 1.6)
    await sorter.set_spike_shadow(2.0)
    await sorter.set_sorting("off")
    await allego.set_stim_params(STIM)
    await allego.set_digital_out_manual(False, True)
    await allego.set_analog_out_high_pass(250.0, True)
    await allego.set_recording_config(rec_dir, "mouse7", 12, False)


def _plain(value: Any) -> Any:
    """A table cell as plain values, NaN (unknown noise) as None so that it compares equal."""
    out = np.asarray(value, dtype=object).tolist()
    if isinstance(out, list):
        return [None if isinstance(x, float) and np.isnan(x) else x for x in out]
    return None if isinstance(out, float) and np.isnan(out) else out


async def instrument(allego: radiens.AsyncAllegoClient) -> dict[str, Any]:
    """Every part of the state a workspace restores, read through the public API."""
    status = await allego.get_status()
    meta = await allego.get_channel_metadata()
    params = await allego.spike_sorter().get_params()
    state = await allego.spike_sorter().get_state()
    cfg = await allego.get_recording_config()
    return {
        "mode": status.system_mode,
        "fs": status.sample_freq,
        "ports": status.port_num_channels,
        "sensors": {
            p: [(s["headstage_id"], s["probe_id"]) for s in v] for p, v in meta.sensor_spec.items()
        },
        "thr": {
            col: [_plain(v) for v in params[col]]
            for col in (
                "ntv_idx",
                "thr_activated",
                "thr",
                "thr_sd",
                "thr_wdw",
                "shadow",
                "weak_thr",
            )
        },
        "sorting": bool(state.state.loc["is_on"].iloc[0]),
        "stim": await allego.get_stim_params(),
        "dout": await allego.get_digital_out_states(),
        "aout": await allego.get_analog_out_settings(),
        "recording": (cfg.path, cfg.base_name, cfg.index, cfg.time_stamp),
    }


async def test_workspace_survives_save_hub_restart_and_switch(
    ws_hub: HubProcess, data_dir: Path, tmp_path: Path
) -> None:
    async with radiens.AsyncAllegoClient(ws_hub.address) as allego:
        ws = allego.workspace()
        assert list((await ws.workspace_current()).columns) == WORKSPACE_COLUMNS
        assert (await ws.workspace_current()).empty
        await configure(allego, tmp_path)
        saved = await instrument(allego)
        assert saved["mode"] == SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND
        assert saved["stim"][9] == STIM
        await ws.workspace_save(workspace_id="rig", tags="mouse-7", notes="baseline day 1")
        await allego.restart("sim-spikes")  # the defaults again
        await ws.workspace_save("scratch")
        listed = await ws.workspace_list()
        assert listed["ID"].tolist() == ["rig", "scratch"]
        assert listed.set_index("ID").loc["rig", "tags"] == "mouse-7"
        assert listed["app"].tolist() == ["ALLEGO", "ALLEGO"]
    ws_hub.stop()
    with HubProcess(data_dir) as second:  # a restarted hub on the same data directory
        async with radiens.AsyncAllegoClient(second.address) as allego:
            ws = allego.workspace()
            listed = await ws.workspace_list()
            assert listed["ID"].tolist() == ["rig", "scratch"]
            assert listed.set_index("ID").loc["rig", "notes"] == "baseline day 1"
            current = await ws.workspace_current()
            assert current["ID"].tolist() == ["scratch"]
            assert isinstance(current["last_used"].iloc[0], pd.Timestamp)
            await ws.workspace_switch("rig")
            assert await instrument(allego) == saved
            current = await ws.workspace_current()
            assert current["ID"].tolist() == ["rig"] and not current["is_modified"].iloc[0]
            await allego.set_digital_out_manual(True, True)
            assert (await ws.workspace_current())["is_modified"].iloc[0]
            await ws.workspace_switch("scratch")
            assert (await allego.get_status()).system_mode == SystemMode.SMARTBOX_SIM_GEN_SPIKES
            assert (await allego.get_stim_params())[9]["enabled"] is False
            await ws.workspace_switch("rig")  # the unsaved dout change is gone
            assert await instrument(allego) == saved
    ws_hub.start()


async def test_workspace_bad_input_is_typed_and_changes_nothing(ws_hub: HubProcess) -> None:
    async with radiens.AsyncAllegoClient(ws_hub.address) as allego:
        ws = allego.workspace()
        await ws.workspace_save("alpha")
        await ws.workspace_save("beta")
        before = await ws.workspace_list()
        status = await allego.get_status()
        with pytest.raises(NotFound, match="unknown workspace 'gamma'"):
            await ws.workspace_switch("gamma")
        with pytest.raises(NotFound):
            await ws.workspace_delete("gamma")
        with pytest.raises(AlreadyExists, match="duplicates"):
            await ws.workspace_save("ALPHA")
        with pytest.raises(AlreadyExists):
            await ws.workspace_save("alpha", force=False)
        with pytest.raises(FailedPrecondition, match="current workspace"):
            await ws.workspace_delete("beta")
        for bad in ("", " x", 3):
            with pytest.raises(InvalidArgument):
                await ws.workspace_save(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await ws.workspace_switch(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            await ws.workspace_save("ok", tags=None)  # type: ignore[arg-type]
        after = await ws.workspace_list()
        pd.testing.assert_frame_equal(
            before.drop(columns="is_modified"), after.drop(columns="is_modified")
        )
        assert (await ws.workspace_current())["ID"].tolist() == ["beta"]
        assert (await allego.get_status()).system_mode == status.system_mode
        await ws.workspace_switch("alpha")
        await ws.workspace_delete("beta")
        assert "beta" not in (await ws.workspace_list())["ID"].tolist()


def test_sync_workspace_client(ws_hub: HubProcess, tmp_path: Path) -> None:
    with radiens.AllegoClient(ws_hub.address) as client:
        ws = client.workspace()
        assert isinstance(ws.id, str) and isinstance(ws.hubs, dict)
        client.set_streaming("off")
        client.restart("sim-spikes", seed=2)
        client.set_digital_out_manual(True, False)
        client.set_analog_out_high_pass(100.0)
        assert ws.workspace_save(workspace_id="sync-ws", tags="my_tags", notes="my_notes") is None
        client.restart("sim-spikes")
        assert ws.workspace_switch("sync-ws") is None
        assert client.get_digital_out_states()["states"][0]["state"] is True
        assert client.get_analog_out_settings()["high_pass"]["cutoff_freq"] == 100.0
        row = ws.workspace_current().iloc[0]
        assert (row["ID"], row["tags"], row["notes"]) == ("sync-ws", "my_tags", "my_notes")
        assert "sync-ws" in ws.workspace_list()["ID"].tolist()
        with pytest.raises(FailedPrecondition):
            ws.workspace_delete("sync-ws")
        with pytest.raises(NotFound):
            ws.workspace_switch("missing")
