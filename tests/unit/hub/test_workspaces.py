"""Workspaces domain: capture, all-or-nothing restore, persistence, bad input (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from radiens_async.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.store import HubStore
from radiens_async.hub.workspaces import Workspaces, instrument_snapshot
from radiens_async.utils.enums import SystemMode


def configure(device: AllegoDevice, rec_dir: Path) -> None:
    """Change every part of the instrument state away from its defaults."""
    device.restart(int(SystemMode.SMARTBOX_SIM_GEN_SINE), seed=5, num_channels=64)
    device.set_sampling_freq(20000)
    device.set_sensor("A", "passthrough_32", "buz32")
    engine = device.spike_engine
    engine.set_threshold_level(70.0, None, "uV", [0, 1, 2], weak=False)
    engine.set_threshold_level(None, 4.0, "sd", None, weak=False)
    engine.set_threshold_active(None, True, [5], weak=False)
    engine.set_threshold_level(-300.0, 300.0, "uV", None, weak=True)
    engine.set_threshold_active(True, True, None, weak=True)
    engine.set_window(0.8, 1.6)
    engine.set_shadow(2.0)
    engine.set_sorting(False)
    device.outputs.stim.set(
        {
            "stim_sys_chan_idx": 7,
            "enabled": True,
            "stim_shape": 2,
            "first_phase_amplitude_uA": 12.5,
            "trigger_source_is_keypress": True,
            "trigger_source_idx": 3,
            "refactory_period_ms": 4.0,
        }
    )
    device.outputs.set_digital_outs({0: True, 1: False})
    device.outputs.set_analog_out_high_pass(250.0, True)
    device.set_recording_config(str(rec_dir), "mouse", 7, False)


def state(device: AllegoDevice) -> dict[str, Any]:
    return instrument_snapshot.capture(device)


def test_switch_restores_everything(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    ws = Workspaces(HubStore(tmp_path / "hub"), device)
    configure(device, tmp_path)
    saved = state(device)
    info = ws.save("rig-1", tags="t1", notes="n1")
    assert (info.id, info.tags, info.notes, info.is_modified) == ("rig-1", "t1", "n1", False)
    device.restart(int(SystemMode.SMARTBOX_SIM_GEN_SPIKES))
    assert ws.current() is not None and ws.current().is_modified  # type: ignore[union-attr]
    ws.switch("rig-1")
    assert state(device) == saved
    assert device.mode == SystemMode.SMARTBOX_SIM_GEN_SINE and device.fs == 20000.0
    assert device.outputs.stim.get()[7]["stim_shape"] == 2
    assert device.simulator.digital_out_state == (True, False)
    assert device.recording_config.base_name == "mouse"
    assert ws.current().is_modified is False  # type: ignore[union-attr]


def test_workspaces_persist_in_the_store(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    Workspaces(HubStore(tmp_path / "hub"), device).save("a")
    configure(device, tmp_path)
    saved = state(device)
    Workspaces(HubStore(tmp_path / "hub"), device).save("b", notes="x")
    fresh = AllegoDevice(data_dir=tmp_path)  # a restarted hub
    again = Workspaces(HubStore(tmp_path / "hub"), fresh)
    assert [i.id for i in again.list()] == ["a", "b"]
    assert again.current().id == "b" and again.current().is_modified  # type: ignore[union-attr]
    again.switch("b")
    assert state(fresh) == saved


def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    ws = Workspaces(HubStore(tmp_path / "hub"), device)
    ws.save("Main")
    ws.save("other")
    before = state(device)
    with pytest.raises(NotFound, match="unknown workspace 'nope'"):
        ws.switch("nope")
    with pytest.raises(NotFound):
        ws.delete("nope")
    with pytest.raises(AlreadyExists, match="duplicates"):
        ws.save("main")
    with pytest.raises(AlreadyExists, match="force"):
        ws.save("Main", force=False)
    with pytest.raises(FailedPrecondition, match="current workspace 'other'"):
        ws.delete("other")
    for bad in ("", "  ", " lead", "a\nb", "x" * 200, 5):
        with pytest.raises(InvalidArgument):
            ws.save(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        ws.save("ok", tags=3)  # type: ignore[arg-type]
    assert [i.id for i in ws.list()] == ["Main", "other"] and ws.current().id == "other"  # type: ignore[union-attr]
    assert state(device) == before
    ws.delete("Main")
    assert [i.id for i in ws.list()] == ["other"]


def test_a_snapshot_that_cannot_be_restored_changes_nothing(tmp_path: Path) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    ws = Workspaces(HubStore(tmp_path / "hub"), device)
    gone = tmp_path / "gone"
    gone.mkdir()
    device.set_recording_config(str(gone), "x", 0, True)
    ws.save("w")
    gone.rmdir()
    device.set_recording_config(str(tmp_path), "y", 0, True)
    device.set_sampling_freq(10000)
    before = state(device)
    with pytest.raises(FailedPrecondition, match="recording configuration"):
        ws.switch("w")
    assert state(device) == before
    snap = state(device)
    snap["sorter"]["thr"]["level"] = [[0.0, 1.0]]
    with pytest.raises(InvalidArgument, match="thresholds"):
        instrument_snapshot.prepare_restore(device, snap)
    snap = state(device)
    snap["outputs"]["stim"]["3"]["first_phase_amplitude_uA"] = -4.0
    with pytest.raises(InvalidArgument, match="first_phase_amplitude_uA"):
        instrument_snapshot.prepare_restore(device, snap)
    snap = state(device)
    snap["mode"] = "SMARTBOX_PRO"
    with pytest.raises(FailedPrecondition, match="hardware"):
        instrument_snapshot.prepare_restore(device, snap)
    assert state(device) == before


def test_a_switch_that_fails_while_applying_puts_the_instrument_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = AllegoDevice(data_dir=tmp_path)
    ws = Workspaces(HubStore(tmp_path / "hub"), device)
    configure(device, tmp_path)
    ws.save("w")
    device.restart(int(SystemMode.SMARTBOX_SIM_GEN_SPIKES), seed=1)
    before = state(device)
    real = device.outputs.apply_restore
    calls = []

    def failing_once(prepared: Any) -> None:
        calls.append(prepared)
        if len(calls) == 1:
            raise RuntimeError("disk on fire")
        real(prepared)

    monkeypatch.setattr(device.outputs, "apply_restore", failing_once)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ws.switch("w")
    assert state(device) == before
