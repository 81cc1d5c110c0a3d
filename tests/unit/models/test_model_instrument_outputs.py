"""Converters of stimulation, digital-out, analog-out and workspace messages (round trips)."""

from __future__ import annotations

from radiens_async._generated.radiens.v1 import allego_pb2, workspace_pb2
from radiens_async.hub.daq.instrument_outputs import AnalogOutSettings
from radiens_async.models.converters.instrument_outputs import (
    analog_out_to_dict,
    analog_out_to_proto,
    dout_states_to_dict,
    stim_params_from_proto,
    stim_params_to_proto,
    stim_reply_to_dict,
    stim_trigger_to_model,
)
from radiens_async.models.converters.workspace import WORKSPACE_COLUMNS, workspaces_to_frame
from radiens_async.models.stim_params import checked_update, default_stim_params


def test_stim_params_round_trip_full_and_partial() -> None:
    full = checked_update(
        default_stim_params(4),
        {"stim_sys_chan_idx": 4, "stim_shape": 2, "enabled": True, "baseline_voltage": -1.5},
    )
    msg = stim_params_to_proto(full)
    assert stim_params_from_proto(msg) == full
    back = stim_params_from_proto(msg)
    assert isinstance(back["number_of_stim_pulses"], int)
    assert isinstance(back["first_phase_duration_us"], float)
    assert isinstance(back["trigger_source_is_keypress"], bool)
    partial = stim_params_to_proto({"stim_sys_chan_idx": 4, "enabled": False})
    assert stim_params_from_proto(partial) == {"enabled": False, "stim_sys_chan_idx": 4}
    assert not partial.HasField("stim_shape")  # absent keys stay absent: "keep the current"
    reply = allego_pb2.StimParamsReply(channels=[msg, stim_params_to_proto(default_stim_params(5))])
    assert stim_reply_to_dict(reply) == {4: full, 5: default_stim_params(5)}


def test_dout_aout_and_trigger_conversions() -> None:
    msg = allego_pb2.DigitalOutStatesReply(
        digital_outs_mode="MANUAL",
        states=[
            allego_pb2.DigitalOutState(chan_idx=0, state=True),
            allego_pb2.DigitalOutState(chan_idx=1),
        ],
    )
    assert dout_states_to_dict(msg) == {
        "digital_outs_mode": "MANUAL",
        "states": [{"chan_idx": 0, "state": True}, {"chan_idx": 1, "state": False}],
    }
    settings = AnalogOutSettings.default().with_high_pass(150.0, True, 30000.0).as_dict()
    assert analog_out_to_dict(analog_out_to_proto(settings)) == settings
    trigger = stim_trigger_to_model(
        allego_pb2.StimTriggerReply(
            sample_index=99, fired_sys_chan_idxs=[3], first_pulse_sample=[102], trigger_level=True
        )
    )
    assert (trigger.sample_index, trigger.fired_sys_chan_idxs, trigger.first_pulse_sample) == (
        99,
        (3,),
        (102,),
    )


def test_workspace_frame_has_the_documented_columns() -> None:
    empty = workspaces_to_frame([])
    assert list(empty.columns) == WORKSPACE_COLUMNS and empty.empty
    info = workspace_pb2.WorkspaceInfo(
        id="w", app=0, last_used=1.7e9, last_modified=1.6e9, is_modified=True, notes="n", tags="t"
    )
    frame = workspaces_to_frame([info])
    row = frame.iloc[0]
    assert list(frame.columns) == [
        "ID",
        "app",
        "last_used",
        "last_modified",
        "is_modified",
        "notes",
        "tags",
    ]
    assert (row["ID"], row["app"], bool(row["is_modified"]), row["notes"], row["tags"]) == (
        "w",
        "ALLEGO",
        True,
        "n",
        "t",
    )
    assert row["last_used"].timestamp() == 1.7e9
