"""``AllegoState``: active-file-name parsing, construction and the status report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pydantic
import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.models.allego_state import (
    AllegoState,
    GPIOSpec,
    RecordingSpec,
    StreamSpec,
    parse_active_file_name,
)
from radiens_async.utils.enums import Port, SystemMode

REC_DIR = "/Users/akelly/sapiens/core_packages/radix/radiens_etc"

# The documented example of get_status().print(), with the notes' two-space indents.
DOCUMENTED_BRIEF = f"""ALLEGO status:
stream       : S_ON
  time range : [0.000, 2149.197] sec
  HW memory  : 0.0 
recording         : R_OFF
  duration        : 0.000 sec
  file name       : allego_0__uid0906-13-55-32
  base name       : allego
  path            : {REC_DIR}
  index           : 0
  file timestamp  : 0906-13-55-32"""  # noqa: W291 - the documented trailing space


def make_state(**overrides: Any) -> AllegoState:
    args: dict[str, Any] = {
        "stream_mode": True,
        "time_range": [1.25, 2149.1974],
        "hw_mem_level": 0.0,
        "recording_on": False,
        "active_file_name": f"{REC_DIR}/allego_0__uid0906-13-55-32.xdat",
        "dur_sec": 0.0,
        "error": "",
        "sample_freq": 30000.0,
        "system_mode": SystemMode.SMARTBOX_SIM_GEN_SPIKES,
        "port_num_channels": {"A": 32},
        "gpio": (2, 2, 2),
        "stream_loop_dur_ms": 50.0,
    }
    args.update(overrides)
    return AllegoState.build(**args)


# -- active file name ---------------------------------------------------------------------------


def test_parse_documented_example() -> None:
    assert parse_active_file_name(f"{REC_DIR}/allego_0__uid0906-13-55-32.xdat") == (
        REC_DIR,
        "allego",
        0,
        "0906-13-55-32",
    )


def test_parse_example_without_directory_or_extension_uses_cwd() -> None:
    path, base, index, stamp = parse_active_file_name("allego_0__uid0906-13-55-32")
    assert (path, base, index, stamp) == (os.getcwd(), "allego", 0, "0906-13-55-32")


def test_parse_base_name_with_underscores_and_large_index() -> None:
    assert parse_active_file_name("/d/my_rat_day_3_117__uid1231-23-59-59.xdat") == (
        "/d",
        "my_rat_day_3",
        117,
        "1231-23-59-59",
    )


def test_parse_without_uid() -> None:
    assert parse_active_file_name("/d/my_rec_12.xdat") == ("/d", "my_rec", 12, "")


def test_parse_without_index() -> None:
    assert parse_active_file_name("/d/my_rec.xdat") == ("/d", "my_rec", -1, "")
    assert parse_active_file_name("/d/myrec.xdat") == ("/d", "myrec", -1, "")
    assert parse_active_file_name("/d/my_rec_.xdat") == ("/d", "my_rec_", -1, "")


def test_parse_only_the_last_extension_is_removed() -> None:
    assert parse_active_file_name("/d/rec_4.xdat.json") == ("/d", "rec_4.xdat", -1, "")
    assert parse_active_file_name("/d/rec_4.data.xdat") == ("/d", "rec_4.data", -1, "")


def test_parse_short_uid_tail_is_not_a_timestamp() -> None:
    # fewer than 6 characters after __uid: falls back to the "<base>_<index>" rule
    assert parse_active_file_name("/d/rec_3__uid12345") == ("/d", "rec_3__uid12345", -1, "")
    assert parse_active_file_name("/d/rec_3__uid123456") == ("/d", "rec", 3, "123456")


def test_parse_empty_name_gives_parent_of_cwd() -> None:
    assert parse_active_file_name("") == (str(Path.cwd().parent), "", -1, "")


def test_parse_expands_home() -> None:
    path, base, index, _ = parse_active_file_name("~/data/rec_2.xdat")
    assert path == str(Path.home() / "data")
    assert (base, index) == ("rec", 2)


def test_parse_relative_path_is_made_absolute() -> None:
    path, *_ = parse_active_file_name("sub/rec_2.xdat")
    assert path == str(Path.cwd() / "sub")


@pytest.mark.parametrize(
    "name", ["/d/rec_x__uid0906-13-55-32.xdat", "/d/rec__uid0906-13-55-32.xdat"]
)
def test_parse_non_integer_index_before_uid_raises_value_error(name: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_active_file_name(name)
    assert isinstance(info.value, InvalidArgument)


# -- the model ----------------------------------------------------------------------------------


def test_build_fills_every_documented_field() -> None:
    state = make_state()
    assert state.stream == StreamSpec("S_ON", [1.25, 2149.1974], 0.0)
    assert state.stream._fields == ("mode", "time_range", "hw_mem_level")
    assert state.recording == RecordingSpec(
        mode="R_OFF",
        file_name=f"{REC_DIR}/allego_0__uid0906-13-55-32.xdat",
        dur_sec=0.0,
        error="",
        path=REC_DIR,
        base_name="allego",
        index=0,
        timestamp="0906-13-55-32",
    )
    assert state.recording._fields == (
        "mode", "file_name", "dur_sec", "error", "path", "base_name", "index", "timestamp",
    )  # fmt: skip
    assert state.sample_freq == 30000.0
    assert state.system_mode is SystemMode.SMARTBOX_SIM_GEN_SPIKES
    assert state.port_num_channels == {Port.A: 32}
    assert list(state.cable_length_ft) == list(Port)
    assert all(v is None for v in state.cable_length_ft.values())
    assert list(state.cable_delay_spec) == list(Port)
    assert state.connected is True
    assert state.gpio == GPIOSpec(ain=2, din=2, dout=2)
    assert state.stream_loop_dur_ms == 50.0
    assert state.base_name == "allego"
    assert state.is_streaming and not state.is_recording


def test_build_modes_accept_the_documented_spellings() -> None:
    state = make_state(stream_mode="on", recording_on=1)
    assert (state.stream.mode, state.recording.mode) == ("S_ON", "R_ON")
    state = make_state(stream_mode=False, recording_on="OFF")
    assert (state.stream.mode, state.recording.mode) == ("S_OFF", "R_OFF")


def test_build_cable_specs_and_connected() -> None:
    state = make_state(
        port_num_channels={Port.A: 32, "C": 64},
        cable_length_ft={"A": 3},
        cable_delay_spec={0: {"delay": 2, "is_auto": True}},
    )
    assert state.port_num_channels == {Port.A: 32, Port.C: 64}
    assert state.cable_length_ft[Port.A] == 3
    assert state.cable_length_ft[Port.H] is None
    assert state.cable_delay_spec[Port.A] == {"delay": 2, "is_auto": True}
    assert state.cable_delay_spec[Port.B] is None
    assert make_state(port_num_channels={}).connected is False
    assert make_state(port_num_channels={}, connected=True).connected is True


def test_build_unknown_system_mode_raises_the_documented_value_error() -> None:
    with pytest.raises(ValueError) as info:
        make_state(system_mode=3)
    assert str(info.value) == "Invalid SystemMode value: 3"


def test_state_is_frozen() -> None:
    state = make_state()
    with pytest.raises(pydantic.ValidationError):
        state.sample_freq = 1000.0


def test_direct_construction_validates_and_completes_ports() -> None:
    state = AllegoState.model_validate(
        {
            "stream": ("S_OFF", [0.0, 0.0], 0.0),
            "recording": ("R_OFF", "", 0.0, "", "/", "", -1, ""),
            "sample_freq": 1000,
            "system_mode": 0,
            "port_num_channels": {"B": 16},
        }
    )
    assert isinstance(state.stream, StreamSpec)
    assert state.system_mode is SystemMode.SMARTBOX_PRO
    assert state.port_num_channels == {Port.B: 16}
    assert len(state.cable_length_ft) == 8
    assert state.gpio == GPIOSpec(0, 0, 0)


# -- status report ------------------------------------------------------------------------------


def test_brief_report_matches_the_documented_layout(capsys: pytest.CaptureFixture[str]) -> None:
    state = make_state()
    state.print()
    assert capsys.readouterr().out == DOCUMENTED_BRIEF + "\n"
    state.print("brief")
    assert capsys.readouterr().out == DOCUMENTED_BRIEF + "\n"
    assert str(state) == DOCUMENTED_BRIEF
    assert state.to_text() == DOCUMENTED_BRIEF


def test_verbose_report_adds_settings(capsys: pytest.CaptureFixture[str]) -> None:
    state = make_state(port_num_channels={"A": 32, "B": 64}, cable_length_ft={"A": 3})
    state.print(detail="verbose")
    out = capsys.readouterr().out
    assert out.startswith(DOCUMENTED_BRIEF + "\n")
    assert out[len(DOCUMENTED_BRIEF) + 1 :] == (
        "settings\n"
        "  sample freq   : 30000\n"
        "  port channels : {'A': 32, 'B': 64}\n"
        "  cable lengths : {'A': 3, 'B': None, 'C': None, 'D': None, 'E': None, 'F': None, "
        "'G': None, 'H': None}\n"
    )


def test_report_recording_values(capsys: pytest.CaptureFixture[str]) -> None:
    state = make_state(
        recording_on=True,
        dur_sec=12.3456,
        active_file_name="/data/run_7__uid0101-00-00-01.xdat",
        hw_mem_level=0.25,
    )
    state.print()
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == "  HW memory  : 0.25 "
    assert lines[4:] == [
        "recording         : R_ON",
        "  duration        : 12.346 sec",
        "  file name       : run_7__uid0101-00-00-01",
        "  base name       : run",
        "  path            : /data",
        "  index           : 7",
        "  file timestamp  : 0101-00-00-01",
    ]


def test_report_when_not_connected(capsys: pytest.CaptureFixture[str]) -> None:
    state = make_state(port_num_channels={})
    state.print()
    assert capsys.readouterr().out == "ALLEGO status:\nnot connected\n"
    state.print("verbose")
    assert capsys.readouterr().out == "ALLEGO status:\nnot connected\n"


@pytest.mark.parametrize("detail", ["all", "BRIEF", ""])
def test_report_bad_detail(detail: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError) as info:
        make_state().print(detail)
    assert str(info.value) == "detail must be [`brief`, `verbose`]"
    assert capsys.readouterr().out == ""
