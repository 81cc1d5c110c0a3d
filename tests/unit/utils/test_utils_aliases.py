"""Sensor and system-mode aliases and their resolution."""

from __future__ import annotations

from typing import Any

import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.utils.aliases import (
    HEADSTAGE_ALIAS,
    PROBE_ALIAS,
    SYSTEM_MODE_ALIAS,
    hardware_name,
    is_simulator,
    parse_system_mode,
    resolve_headstage,
    resolve_probe,
    strip_sensor_prefix,
)
from radiens_async.utils.enums import SystemMode

AVAILABLE_HEADSTAGES = {"hstg__smartlink_A64": 64, "hstg__passthrough_32": 32, "shh": 16}
AVAILABLE_PROBES = {"probe__buz32": 32, "probe__a1x16_5mm150_177": 16, "ebor": 8}


def test_headstage_alias_table_is_the_documented_one() -> None:
    assert HEADSTAGE_ALIAS == {
        "smart-16": "acute_smartlink_A16",
        "smart-32": "chronic_smartlink_CM32",
        "pass-32": "passthrough_32",
        "pass-64": "passthrough_64",
        "chronic-64": "chronic_smartlink_H64",
    }


def test_probe_alias_table_is_the_documented_one_plus_the_unspaced_poly5() -> None:
    assert PROBE_ALIAS == {
        "v1x16-16": "v1x16_edge_10mm200_177",
        "4x8-32": "a4x8_5mm100_200_177",
        "8x1tet-32": "a8x1_tet_7mm_200_121",
        "buz-32": "buz32",
        "poly3-32": "a1x32_poly3_8mm50s_177",
        " poly5-32": "a1x32_poly5_6mm35s_100",
        "poly5-32": "a1x32_poly5_6mm35s_100",
        "8x8-64": "a8x8_5mm200_200_413",
        "poly3-64": "v1x64_poly3_10mm25s_177",
        "buz-64": "buz64",
    }


@pytest.mark.parametrize(
    ("sensor_id", "expected"),
    [
        ("probe__buz32", "buz32"),
        ("hstg__smartlink_A64", "smartlink_A64"),
        ("hstg__hstg_x", "hstg_x"),
        ("probe__probe", "probe"),
        ("buz32", "buz32"),
        ("shh", "shh"),
        ("", ""),
    ],
)
def test_strip_sensor_prefix_removes_the_prefix_not_a_character_set(
    sensor_id: str, expected: str
) -> None:
    assert strip_sensor_prefix(sensor_id) == expected


def test_resolve_headstage_alias_first() -> None:
    assert resolve_headstage("smart-32", AVAILABLE_HEADSTAGES) == "chronic_smartlink_CM32"
    assert resolve_headstage("pass-64", {}) == "passthrough_64"


@pytest.mark.parametrize("name", ["smartlink_A64", "hstg__smartlink_A64"])
def test_resolve_headstage_available_id_with_or_without_prefix(name: str) -> None:
    assert resolve_headstage(name, AVAILABLE_HEADSTAGES) == "smartlink_A64"


def test_resolve_headstage_accepts_unprefixed_available_ids() -> None:
    assert resolve_headstage("shh", AVAILABLE_HEADSTAGES) == "shh"
    assert resolve_headstage("hstg__x", {"x": 32}) == "x"


def test_resolve_headstage_error_text() -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_headstage("smart-99", AVAILABLE_HEADSTAGES)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == "headstage smart-99 is not an alias nor an available headstage ID"


def test_resolve_probe_alias_first_including_both_poly5_spellings() -> None:
    assert resolve_probe("4x8-32", AVAILABLE_PROBES) == "a4x8_5mm100_200_177"
    assert resolve_probe(" poly5-32", {}) == "a1x32_poly5_6mm35s_100"
    assert resolve_probe("poly5-32", {}) == "a1x32_poly5_6mm35s_100"


@pytest.mark.parametrize("name", ["buz32", "probe__buz32"])
def test_resolve_probe_available_id_with_or_without_prefix(name: str) -> None:
    assert resolve_probe(name, AVAILABLE_PROBES) == "buz32"
    assert resolve_probe("ebor", AVAILABLE_PROBES) == "ebor"


def test_resolve_probe_error_shows_the_probe_argument() -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_probe("uz32", AVAILABLE_PROBES)
    assert str(info.value) == "probe uz32 is not an alias nor an available probe ID"


def test_resolve_refuses_non_strings() -> None:
    with pytest.raises(TypeError):
        resolve_probe(None, AVAILABLE_PROBES)  # type: ignore[arg-type]


# -- system modes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("sbpro", SystemMode.SMARTBOX_PRO),
        ("sbclassic", SystemMode.SMARTBOX_CLASSIC),
        ("sinaps256", SystemMode.SMARTBOX_PRO_SINAPS_256),
        ("sinaps512", SystemMode.SMARTBOX_PRO_SINAPS_512),
        ("sinaps1024", SystemMode.SMARTBOX_PRO_SINAPS_1024),
        ("sim-sine", SystemMode.SMARTBOX_SIM_GEN_SINE),
        ("sim-sine-mapped", SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED),
        ("sim-sine-high-freq", SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ),
        ("sim-sine-multi-band", SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND),
        ("sim-spikes", SystemMode.SMARTBOX_SIM_GEN_SPIKES),
        ("oe-usb2", SystemMode.OPEN_EPHYS_USB2),
        ("open-ephys-usb2", SystemMode.OPEN_EPHYS_USB2),
        ("oe-usb3", SystemMode.OPEN_EPHYS_USB3),
        ("intan-usb2", SystemMode.INTAN_USB2),
        ("intan1024", SystemMode.INTAN_RECORDING_CONTROLLER_1024),
        ("intan512", SystemMode.INTAN_RECORDING_CONTROLLER_512),
        ("xdaq-one-rec", SystemMode.XDAQ_ONE_REC),
        ("xdaq-one-stim", SystemMode.XDAQ_ONE_STIM),
        ("xdaq-core-rec", SystemMode.XDAQ_CORE_REC),
        ("xdaq-core-stim", SystemMode.XDAQ_CORE_STIM),
        ("xdaq_one_req", SystemMode.XDAQ_ONE_REC),
        ("xdaq_core_req", SystemMode.XDAQ_CORE_REC),
    ],
)
def test_system_mode_aliases(alias: str, expected: SystemMode) -> None:
    assert SYSTEM_MODE_ALIAS[alias] is expected
    assert parse_system_mode(alias) is expected
    assert parse_system_mode(alias.upper().replace("-", "_")) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SystemMode.INTAN_USB2, SystemMode.INTAN_USB2),
        (2, SystemMode.SMARTBOX_SIM_GEN_SPIKES),
        (19, SystemMode.SMARTBOX_PRO_SINAPS_512),
        ("smartbox_pro", SystemMode.SMARTBOX_PRO),
        ("SMARTBOX_SIM_GEN_SPIKES", SystemMode.SMARTBOX_SIM_GEN_SPIKES),
        ("smartbox-sim-gen-sine-high-freq", SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ),
        ("  Intan_Recording_Controller_512 ", SystemMode.INTAN_RECORDING_CONTROLLER_512),
    ],
)
def test_parse_system_mode_members_values_and_names(value: Any, expected: SystemMode) -> None:
    assert parse_system_mode(value) is expected


def test_every_documented_restart_name_parses() -> None:
    for member in SystemMode:
        assert parse_system_mode(member.name.lower()) is member
        assert parse_system_mode(member.value) is member


@pytest.mark.parametrize("value", ["sim_spikez", "", 3, 25, "xdaq-one"])
def test_parse_system_mode_invalid_value_message_and_hint(value: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_system_mode(value)
    assert isinstance(info.value, ValueError)
    text = str(info.value)
    assert text.startswith(f"Invalid SystemMode value: {value} (valid modes: smartbox_pro, ")
    assert "sim-spikes" in text
    assert "xdaq_one_req" not in text  # the misspelling is accepted, never advertised


@pytest.mark.parametrize("value", [None, 1.5j, ["sbpro"]])
def test_parse_system_mode_type_error(value: Any) -> None:
    with pytest.raises(TypeError) as info:
        parse_system_mode(value)
    assert not isinstance(info.value, ValueError)


def test_is_simulator() -> None:
    sims = {m for m in SystemMode if is_simulator(m)}
    assert sims == {
        SystemMode.SMARTBOX_SIM_GEN_SINE,
        SystemMode.SMARTBOX_SIM_GEN_SPIKES,
        SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED,
        SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ,
        SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND,
    }
    assert is_simulator("sim-spikes")
    assert not is_simulator("sbpro")


@pytest.mark.parametrize(
    ("mode", "name"),
    [
        ("sbpro", "SmartBox Pro"),
        ("sinaps1024", "SmartBox Pro"),
        ("sbclassic", "SmartBox Classic"),
        ("intan-usb2", "Intan RHD USB"),
        ("intan512", "Intan Recording Controller"),
        ("oe-usb3", "Open Ephys"),
        (SystemMode.OPEN_EPHYS_USB2, "Open Ephys"),
        ("xdaq-core-stim", "XDAQ"),
        (15, "XDAQ"),
        ("sim-sine", "SmartBox simulator"),
    ],
)
def test_hardware_name(mode: Any, name: str) -> None:
    assert hardware_name(mode) == name
    assert f"no {hardware_name(mode)} hardware detected".startswith("no ")
