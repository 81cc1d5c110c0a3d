"""The documented enums: values, the generic parse rule and the special parsers."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np
import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.utils.enums import (
    ClientType,
    DioMode,
    FftWindow,
    KeyIndex,
    MetricMode,
    MetricName,
    Port,
    PsdScaling,
    RadiensEnum,
    RadiensFileType,
    RadiensService,
    RasterMode,
    RecordMode,
    SignalType,
    SignalUnits,
    StatsVector,
    StreamMode,
    SummaryStats,
    SystemMode,
    TrsMode,
    WorkspaceApp,
)

EXPECTED_VALUES: dict[type[RadiensEnum], dict[str, int]] = {
    StreamMode: {"OFF": 0, "ON": 1},
    RecordMode: {"OFF": 0, "ON": 1},
    Port: {letter: i for i, letter in enumerate("ABCDEFGH")},
    SignalType: {"AMP": 0, "AIN": 1, "DIN": 2, "DOUT": 3},
    KeyIndex: {"NTV": 0, "DATA": 1, "SYS": 2},
    SignalUnits: {"UNKNOWN": 0, "MICROVOLTS": 1, "VOLTS": 2, "BINARY": 3},
    TrsMode: {"SUBSET": 0, "TO_HEAD": 1, "FROM_HEAD": 2},
    FftWindow: {"HAMMING_p01": 0, "HAMMING_p05": 1, "PASS_THROUGH": 2},
    PsdScaling: {"ABSOLUTE": 0},
    DioMode: {"MANUAL": 0, "EVENTS": 1, "GATED": 2},
    WorkspaceApp: {"ALLEGO": 0, "CURATE": 1, "VIDERE": 2},
    RasterMode: {"CHANNELS": 0, "NEURONS": 1},
    SummaryStats: {
        "MEAN": 0, "SD": 1, "MODE": 2, "MIN": 3, "MAX": 4, "MODE_COUNT": 5, "MEDIAN": 6,
        "Q25": 7, "Q75": 8, "SKEW": 9, "KURTOSIS": 10, "N": 11,
    },
    MetricMode: {"BASE": 0, "AVG": 1, "STREAM": 2},
    RadiensService: {"CORE": 1, "DASH": 2, "SORTER": 3, "DEV": 4, "RADIENSPY": 5},
    RadiensFileType: {
        "RHD": 0, "XDAT": 1, "CSV": 2, "HDF5": 3, "NEX5": 4, "NWB": 5, "KILOSORT2": 8,
        "NSX": 13, "TDT": 15, "SPIKES": 16, "OE_DAT": 22,
    },
    SystemMode: {
        "SMARTBOX_PRO": 0, "SMARTBOX_SIM_GEN_SINE": 1, "SMARTBOX_SIM_GEN_SPIKES": 2,
        "OPEN_EPHYS_USB3": 4, "INTAN_RECORDING_CONTROLLER_1024": 5, "SMARTBOX_CLASSIC": 6,
        "INTAN_RECORDING_CONTROLLER_512": 7, "OPEN_EPHYS_USB2": 8, "INTAN_USB2": 9,
        "SMARTBOX_SIM_GEN_SINE_MAPPED": 10, "SMARTBOX_SIM_GEN_SINE_HIGH_FREQ": 11,
        "SMARTBOX_SIM_GEN_SINE_MULTI_BAND": 12, "SMARTBOX_PRO_SINAPS_256": 13,
        "SMARTBOX_PRO_SINAPS_1024": 14, "XDAQ_ONE_REC": 15, "XDAQ_ONE_STIM": 16,
        "XDAQ_CORE_REC": 17, "XDAQ_CORE_STIM": 18, "SMARTBOX_PRO_SINAPS_512": 19,
    },
}  # fmt: skip


@pytest.mark.parametrize("enum", list(EXPECTED_VALUES), ids=lambda e: e.__name__)
def test_members_and_values_are_the_documented_ones(enum: type[RadiensEnum]) -> None:
    assert {m.name: m.value for m in enum} == EXPECTED_VALUES[enum]
    assert issubclass(enum, IntEnum)


def test_metric_names_are_numbered_0_to_36_in_documented_order() -> None:
    assert len(MetricName) == 37
    assert MetricName.NUM_PTS == 0
    assert MetricName.NOISE_UV == 20
    assert MetricName.MAX_MIN_DIFF_ABS_AMPLIFIED == 36
    assert MetricName.all() == list(range(37))


def test_summary_stats_count_is_an_alias_and_stats_vector_the_same_enum() -> None:
    assert SummaryStats.COUNT is SummaryStats.MODE_COUNT
    assert SummaryStats.parse("count") is SummaryStats.MODE_COUNT
    assert StatsVector is SummaryStats


# -- generic parse rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, Port.B),
        (7, Port.H),
        (1.0, Port.B),
        (True, Port.B),
        (False, Port.A),
        (np.int64(2), Port.C),
        ("b", Port.B),
        ("B", Port.B),
        (Port.D, Port.D),
    ],
)
def test_parse_numbers_names_and_members(value: Any, expected: Port) -> None:
    assert Port.parse(value) is expected


def test_parse_strings_by_member_name_only() -> None:
    assert StreamMode.parse("on") is StreamMode.ON
    assert StreamMode.parse("ON") is StreamMode.ON
    with pytest.raises(ValueError, match=r"^Invalid StreamMode value: S_ON$"):
        StreamMode.parse("S_ON")


def test_parse_member_names_with_lowercase_letters() -> None:
    assert FftWindow.parse("hamming_p05") is FftWindow.HAMMING_p05
    assert FftWindow.parse("HAMMING_P01") is FftWindow.HAMMING_p01


@pytest.mark.parametrize(
    ("enum", "value", "message"),
    [
        (SignalType, 4, "Invalid SignalType value: 4"),
        (SignalType, -1, "Invalid SignalType value: -1"),
        (SignalType, 1.5, "Invalid SignalType value: 1.5"),
        (SignalType, "pri", "Invalid SignalType value: pri"),
        (SystemMode, 3, "Invalid SystemMode value: 3"),
        (SystemMode, "sim-spikes", "Invalid SystemMode value: sim-spikes"),
        (Port, "I", "Invalid Port value: I"),
    ],
)
def test_parse_unknown_values_raise_the_documented_value_error(
    enum: type[RadiensEnum], value: Any, message: str
) -> None:
    with pytest.raises(InvalidArgument) as info:
        enum.parse(value)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == message


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"A"])
def test_parse_other_types_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError) as info:
        Port.parse(value)
    assert not isinstance(info.value, InvalidArgument)
    assert str(info.value) == f"Expected int, str, or Port instance, got {type(value)}."


def test_system_mode_parses_lowercase_member_names() -> None:
    assert SystemMode.parse("smartbox_pro") is SystemMode.SMARTBOX_PRO
    assert SystemMode.parse("xdaq_one_rec") is SystemMode.XDAQ_ONE_REC
    with pytest.raises(ValueError, match="Invalid SystemMode value: xdaq_one_req"):
        SystemMode.parse("xdaq_one_req")


def test_helpers_all_all_string_all_enum_pb_value() -> None:
    assert TrsMode.all() == [0, 1, 2]
    assert TrsMode.all_string() == ["SUBSET", "TO_HEAD", "FROM_HEAD"]
    assert TrsMode.all_enum() == [TrsMode.SUBSET, TrsMode.TO_HEAD, TrsMode.FROM_HEAD]
    assert SummaryStats.all() == list(range(12))  # the COUNT alias is not listed twice
    assert Port.H.pb_value == 7
    assert type(Port.H.pb_value) is int


def test_map_into_keys_helpers() -> None:
    assert Port.map_into_keys({"a": 1, 2: 3}) == {Port.A: 1, Port.C: 3}
    assert Port.map_into_keys_as_names({0: "x", Port.B: "y"}) == {"A": "x", "B": "y"}
    assert Port.map_into_keys_as_values({"h": None}) == {7: None}


def test_str_and_format_name_the_member_and_numeric_format_gives_the_value() -> None:
    assert str(Port.A) == "Port.A"
    assert f"{SystemMode.SMARTBOX_PRO}" == "SystemMode.SMARTBOX_PRO"
    assert f"{Port.C:d}" == "2"
    assert Port.C + 1 == 3


def test_signal_units_str_is_the_label() -> None:
    assert [str(u) for u in SignalUnits] == ["Unknown", "μV", "V", "Bin"]
    assert f"{SignalUnits.MICROVOLTS}" == "μV"
    assert SignalUnits.VOLTS.label == "V"


# -- stream / record status strings -------------------------------------------------------------


def test_status_strings() -> None:
    assert StreamMode.ON.status == "S_ON"
    assert StreamMode.OFF.status == "S_OFF"
    assert RecordMode.ON.status == "R_ON"
    assert RecordMode.OFF.status == "R_OFF"
    assert StreamMode.from_status("S_ON") is StreamMode.ON
    assert RecordMode.from_status("r_off") is RecordMode.OFF
    with pytest.raises(InvalidArgument, match="Invalid RecordMode value: S_ON"):
        RecordMode.from_status("S_ON")


# -- RadiensFileType ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ext", "expected"),
    [
        ("rhd", RadiensFileType.RHD),
        (".xdat", RadiensFileType.XDAT),
        ("XDAT", RadiensFileType.XDAT),
        ("csv", RadiensFileType.CSV),
        ("hdf5", RadiensFileType.HDF5),
        (".H5", RadiensFileType.HDF5),
        ("nex5", RadiensFileType.NEX5),
        ("nwb", RadiensFileType.NWB),
        ("kilosort2", RadiensFileType.KILOSORT2),
        (".bin", RadiensFileType.KILOSORT2),
        ("nsx", RadiensFileType.NSX),
        ("tdt", RadiensFileType.TDT),
        ("spikes", RadiensFileType.SPIKES),
        (".oebin", RadiensFileType.OE_DAT),
        ("oe_dat", RadiensFileType.OE_DAT),
    ],
)
def test_file_type_parses_extensions(ext: str, expected: RadiensFileType) -> None:
    assert RadiensFileType.parse(ext) is expected


def test_file_type_parses_numbers_and_members_generically() -> None:
    assert RadiensFileType.parse(1) is RadiensFileType.XDAT
    assert RadiensFileType.parse(RadiensFileType.NWB) is RadiensFileType.NWB
    with pytest.raises(InvalidArgument, match="Invalid RadiensFileType value: 6"):
        RadiensFileType.parse(6)


@pytest.mark.parametrize(("ext", "shown"), [(".foo", ".foo"), ("pl2", ".pl2"), ("", ".")])
def test_file_type_unknown_extension(ext: str, shown: str) -> None:
    with pytest.raises(ValueError) as info:
        RadiensFileType.parse(ext)
    assert str(info.value) == f"{shown} is invalid or unknown file extension"


def test_file_type_from_path() -> None:
    assert RadiensFileType.from_path("~/data/rec_0.xdat") is RadiensFileType.XDAT
    assert RadiensFileType.from_path("/data/rec_0") is RadiensFileType.XDAT
    assert RadiensFileType.from_path("/data.dir/rec_0") is RadiensFileType.XDAT
    assert RadiensFileType.from_path("rec.NWB") is RadiensFileType.NWB
    assert RadiensFileType.from_path("C:\\d\\rec.bin") is RadiensFileType.KILOSORT2
    with pytest.raises(ValueError, match=r"^\.txt is invalid or unknown file extension$"):
        RadiensFileType.from_path("notes.txt")


def test_file_type_suffix_and_ext() -> None:
    suffixes = {t.name: t.suffix for t in RadiensFileType}
    assert suffixes == {
        "RHD": ".rhd", "XDAT": ".xdat", "CSV": ".csv", "HDF5": ".h5", "NEX5": ".nex5",
        "NWB": ".nwb", "KILOSORT2": ".bin", "NSX": ".nsx", "TDT": ".tdt", "SPIKES": ".spikes",
        "OE_DAT": ".oebin",
    }  # fmt: skip
    assert RadiensFileType.KILOSORT2.ext == "kilosort2"
    assert RadiensFileType.OE_DAT.ext == "oe_dat"
    # every composed suffix parses back to its type
    assert all(RadiensFileType.parse(t.suffix) is t for t in RadiensFileType)


# -- ClientType ---------------------------------------------------------------------------------


def test_client_type_values_and_str() -> None:
    assert [c.value for c in ClientType] == ["AllegoClient", "VidereClient", "CurateClient"]
    assert str(ClientType.ALLEGO) == "ClientType.ALLEGO"
    assert f"Confirm {ClientType.ALLEGO} is running" == "Confirm ClientType.ALLEGO is running"
    assert ClientType.ALLEGO == "AllegoClient"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("allego", ClientType.ALLEGO),
        ("AllegoClient", ClientType.ALLEGO),
        ("ALLEGOCLIENT", ClientType.ALLEGO),
        ("Videre", ClientType.VIDERE),
        ("videreclient", ClientType.VIDERE),
        ("curate", ClientType.CURATE),
        ("CurateClient", ClientType.CURATE),
        (ClientType.CURATE, ClientType.CURATE),
    ],
)
def test_client_type_parse(value: Any, expected: ClientType) -> None:
    assert ClientType.parse(value) is expected


def test_client_type_parse_errors() -> None:
    with pytest.raises(InvalidArgument, match=r"^Invalid ClientType value: radiens$"):
        ClientType.parse("radiens")
    with pytest.raises(TypeError):
        ClientType.parse(0)
    with pytest.raises(TypeError):
        ClientType.parse(None)
