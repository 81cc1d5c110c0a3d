"""``ChannelMetadata`` on a realistic live group: 32 amp (port A) + 2 ain + 2 din + 2 dout."""

from __future__ import annotations

import pandas as pd
import pydantic
import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.models.channel_metadata import (
    ChannelInfo,
    ChannelMetadata,
    KeyIdxs,
    SensorSpec,
)
from radiens_async.utils.enums import Port, SignalType, SignalUnits

DOCUMENTED_COLUMNS = [
    "port", "chan_name", "chan_type", "ntv_key_idx", "site_num", "color_group_idx", "selected",
    "audio", "site_shape", "site_ctr_x", "site_ctr_y", "site_ctr_z", "site_lim_x_min",
    "site_lim_y_min", "site_lim_z_min", "site_lim_x_max", "site_lim_y_max", "site_lim_z_max",
    "site_ctr_tcs_x", "site_ctr_tcs_y", "site_ctr_tcs_z", "sensor_units", "sys_key_idx",
    "site_area_um2", "scs_to_tcs", "sensor_id", "probe_id", "headstage_id", "ntv_chan_name",
    "sensor_uid", "dataset_key_idx", "dataset_key_idx_abs",
]  # fmt: skip

PROBE = "a1x32_poly3_8mm50s_177"
HEADSTAGE = "chronic_smartlink_CM32"
N_AMP = 32
# Rows are sorted by probe site (bottom to top); the hardware order (ntv) follows the headstage
# wiring, so the amp rows are a permutation of ntv 0..31.
AMP_NTV_BY_ROW = [(7 * (row + 1)) % N_AMP for row in range(N_AMP)]
UNSELECTED_AMP_NTV = {AMP_NTV_BY_ROW[3], AMP_NTV_BY_ROW[10]}


def amp_channel(row: int) -> ChannelInfo:
    ntv = AMP_NTV_BY_ROW[row]
    x = (row % 3 - 1) * 18.0  # three columns
    y = 25.0 * row
    return ChannelInfo(
        port="A",
        chan_name=f"A-{ntv:03d}",
        chan_type=SignalType.AMP,
        ntv_key_idx=ntv,
        site_num=row + 1,
        color_group_idx=0,
        selected=ntv not in UNSELECTED_AMP_NTV,
        audio=[row == 0, row == 1],
        site_shape="circle",
        site_ctr_x=x,
        site_ctr_y=y,
        site_ctr_z=0.0,
        site_lim_x_min=x - 7.5,
        site_lim_y_min=y - 7.5,
        site_lim_z_min=0.0,
        site_lim_x_max=x + 7.5,
        site_lim_y_max=y + 7.5,
        site_lim_z_max=0.0,
        site_ctr_tcs_x=x + 100.0,
        site_ctr_tcs_y=y + 200.0,
        site_ctr_tcs_z=-50.0,
        sensor_units=1,
        sys_key_idx=ntv,
        site_area_um2=177.0,
        scs_to_tcs=[100.0, 200.0, -50.0],
        sensor_id=f"{HEADSTAGE}__{PROBE}",
        probe_id=PROBE,
        headstage_id=HEADSTAGE,
        ntv_chan_name=f"A-{ntv:03d}",
        sensor_uid="A-uid",
    )


def gpio_channels() -> list[ChannelInfo]:
    out = []
    sys_idx = N_AMP
    for stype, prefix in ((SignalType.AIN, "ai"), (SignalType.DIN, "di"), (SignalType.DOUT, "do")):
        for ntv in range(2):
            out.append(
                ChannelInfo(
                    port="A",
                    chan_name=f"{prefix}{ntv}",
                    chan_type=stype,
                    ntv_key_idx=ntv,
                    selected=not (stype is SignalType.DIN and ntv == 1),
                    sensor_units=2 if stype is SignalType.AIN else 3,
                    sys_key_idx=sys_idx,
                    ntv_chan_name=f"{prefix}{ntv}",
                )
            )
            sys_idx += 1
    return out


@pytest.fixture
def meta() -> ChannelMetadata:
    return ChannelMetadata(
        channels=tuple([amp_channel(r) for r in range(N_AMP)] + gpio_channels()),
        fs=30000.0,
        dataset_uid="live-uid-1",
        source_label="Live Signals",
        neighbor_max_radius_um=60.0,
        sensors={
            "A": [
                SensorSpec(
                    probe_id=PROBE,
                    headstage_id=HEADSTAGE,
                    sensor_uid="A-uid",
                    x_min=-30.0,
                    x_max=30.0,
                    y_min=0.0,
                    y_max=800.0,
                    wireframe_x=[-30.0, 30.0, 30.0, 0.0, -30.0],
                    wireframe_y=[800.0, 800.0, 0.0, -50.0, 0.0],
                    wireframe_vtx_x_lim=[-30.0, 30.0],
                    wireframe_vtx_y_lim=[-50.0, 800.0],
                    sensor_pos={"x": 100.0, "y": 200.0, "z": -50.0},
                )
            ]
        },
    )


# -- table --------------------------------------------------------------------------------------


def test_table_columns_index_and_rows(meta: ChannelMetadata) -> None:
    table = meta.table
    assert list(table.columns) == DOCUMENTED_COLUMNS
    assert table.index.name == "dyn_sort_idx"
    assert list(table.index) == list(range(38))
    assert table["ntv_key_idx"].tolist()[:N_AMP] == AMP_NTV_BY_ROW
    assert table["sys_key_idx"].tolist()[N_AMP:] == [32, 33, 34, 35, 36, 37]
    assert table.loc[0, "port"] == "A"
    assert table.loc[0, "audio"] == [True, False]
    assert table.loc[0, "scs_to_tcs"] == [100.0, 200.0, -50.0]
    assert table.loc[5, "site_ctr_y"] == 125.0
    assert table.loc[N_AMP, "site_num"] == -23
    assert table.loc[N_AMP, "color_group_idx"] == 2147483647


def test_table_chan_type_holds_signal_type_members(meta: ChannelMetadata) -> None:
    chan_type = meta.table["chan_type"]
    assert chan_type.dtype == object
    assert all(type(t) is SignalType for t in chan_type)
    expected = [SignalType.AMP] * 32 + [SignalType.AIN] * 2
    expected += [SignalType.DIN] * 2 + [SignalType.DOUT] * 2
    assert chan_type.tolist() == expected
    assert (meta.table["chan_type"] == SignalType.AIN).sum() == 2


def test_table_is_a_copy(meta: ChannelMetadata) -> None:
    table = meta.table
    table.loc[0, "chan_name"] = "changed"
    assert meta.table.loc[0, "chan_name"] == f"A-{AMP_NTV_BY_ROW[0]:03d}"


def test_repr_is_the_table_repr(meta: ChannelMetadata) -> None:
    assert repr(meta) == repr(meta.table)
    assert str(meta) == str(meta.table)


# -- index spaces -------------------------------------------------------------------------------


def test_index_amp_in_table_row_order(meta: ChannelMetadata) -> None:
    idx = meta.index(SignalType.AMP)
    assert isinstance(idx, KeyIdxs)
    assert idx._fields == ("ntv", "dset", "sys")
    assert idx.ntv == AMP_NTV_BY_ROW
    assert idx.dset == AMP_NTV_BY_ROW
    assert idx.sys == AMP_NTV_BY_ROW
    assert sorted(idx.ntv) == list(range(N_AMP))


def test_index_gpio_sys_follows_amp(meta: ChannelMetadata) -> None:
    assert meta.index(SignalType.AIN) == KeyIdxs(ntv=[0, 1], dset=[0, 1], sys=[32, 33])
    assert meta.index(SignalType.DIN) == KeyIdxs(ntv=[0, 1], dset=[0, 1], sys=[34, 35])
    assert meta.index(SignalType.DOUT) == KeyIdxs(ntv=[0, 1], dset=[0, 1], sys=[36, 37])


def test_sel_index_only_selected(meta: ChannelMetadata) -> None:
    expected_amp = [n for n in AMP_NTV_BY_ROW if n not in UNSELECTED_AMP_NTV]
    sel = meta.sel_index(SignalType.AMP)
    assert sel.ntv == expected_amp
    assert sel.sys == expected_amp
    assert meta.sel_index(SignalType.DIN) == KeyIdxs(ntv=[0], dset=[0], sys=[34])
    assert meta.sel_index(SignalType.AIN) == meta.index(SignalType.AIN)


def test_counts(meta: ChannelMetadata) -> None:
    assert [meta.num_sigs(t) for t in SignalType] == [32, 2, 2, 2]
    assert [meta.sel_num_sigs(t) for t in SignalType] == [30, 2, 1, 2]
    assert meta.num_sigs_total() == 38
    assert meta.num_selected_sigs_total == 35


@pytest.mark.parametrize("stype", ["amp", "AMP", 0, Port.A, None])
@pytest.mark.parametrize("method", ["index", "sel_index", "num_sigs", "sel_num_sigs"])
def test_stype_must_be_a_signal_type_member(
    meta: ChannelMetadata, method: str, stype: object
) -> None:
    with pytest.raises(InvalidArgument) as info:
        getattr(meta, method)(stype)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == "stype not in signal map"


def test_dataset_indices_can_differ_from_native() -> None:
    channels = (
        ChannelInfo(chan_type=SignalType.AMP, ntv_key_idx=5, sys_key_idx=5, dataset_key_idx=0),
        ChannelInfo(chan_type=SignalType.AMP, ntv_key_idx=2, sys_key_idx=2, dataset_key_idx=1),
    )
    meta = ChannelMetadata(channels=channels)
    assert meta.index(SignalType.AMP) == KeyIdxs(ntv=[5, 2], dset=[0, 1], sys=[5, 2])
    assert meta.index(SignalType.AIN) == KeyIdxs([], [], [])


# -- attributes, units, sensors, sites ----------------------------------------------------------


def test_attributes(meta: ChannelMetadata) -> None:
    attrs = meta.attributes
    assert attrs == {
        "dataset_uid": "live-uid-1",
        "fs": 30000.0,
        "source_label": "Live Signals",
        "neighbor_max_radius_um": 60.0,
        "signal_units": {
            SignalType.AMP: SignalUnits.MICROVOLTS,
            SignalType.AIN: SignalUnits.VOLTS,
            SignalType.DIN: SignalUnits.BINARY,
            SignalType.DOUT: SignalUnits.BINARY,
        },
        "has_discrete": True,
        "has_continuous_amp": True,
    }


def test_sig_units(meta: ChannelMetadata) -> None:
    units = meta.sig_units
    assert {t: str(u) for t, u in units.items()} == {
        SignalType.AMP: "μV",
        SignalType.AIN: "V",
        SignalType.DIN: "Bin",
        SignalType.DOUT: "Bin",
    }
    units.clear()  # a copy: the metadata is unchanged
    assert len(meta.sig_units) == 4


def test_flags_derive_from_channels_unless_given() -> None:
    amp = ChannelInfo(chan_type=SignalType.AMP, ntv_key_idx=0, sys_key_idx=0)
    amp_only = ChannelMetadata(channels=(amp,))
    assert (amp_only.has_discrete, amp_only.has_continuous_amp) == (False, True)
    din = {"chan_type": "din", "ntv_key_idx": 0, "sys_key_idx": 0}
    din_only = ChannelMetadata.model_validate({"channels": [din]})
    assert (din_only.has_discrete, din_only.has_continuous_amp) == (True, False)
    given = ChannelMetadata(has_discrete=True, has_continuous_amp=False)
    assert (given.has_discrete, given.has_continuous_amp) == (True, False)


def test_sensor_spec(meta: ChannelMetadata) -> None:
    spec = meta.sensor_spec
    assert list(spec) == list("ABCDEFGH")
    assert all(spec[p] == [] for p in "BCDEFGH")
    [sensor] = spec["A"]
    assert set(sensor) == {
        "probe_id", "headstage_id", "sensor_uid", "x_min", "x_max", "y_min", "y_max",
        "wireframe_x", "wireframe_y", "wireframe_vtx_x_lim", "wireframe_vtx_y_lim", "sensor_pos",
    }  # fmt: skip
    assert sensor["probe_id"] == PROBE
    assert sensor["headstage_id"] == HEADSTAGE
    assert sensor["wireframe_vtx_y_lim"] == [-50.0, 800.0]
    assert sensor["sensor_pos"] == {
        "x": 100.0, "y": 200.0, "z": -50.0, "ring_angle": 0.0, "axial_angle": 0.0,
        "arc_angle": 0.0,
    }  # fmt: skip


def test_sensors_accept_port_members_as_keys() -> None:
    meta = ChannelMetadata.model_validate({"sensors": {Port.C: [SensorSpec(probe_id="buz32")]}})
    assert list(meta.sensors) == ["C"]
    assert meta.sensor_spec["C"][0]["probe_id"] == "buz32"


def test_site_positions(meta: ChannelMetadata) -> None:
    sites = meta.site_positions()
    assert isinstance(sites, pd.DataFrame)
    assert sites.index.name == "ntv_key_idx"
    assert list(sites.index) == AMP_NTV_BY_ROW
    assert list(sites.columns) == ["site_ctr_x", "site_ctr_y", "site_ctr_z"]
    ntv = AMP_NTV_BY_ROW[4]
    assert list(sites.loc[ntv]) == [0.0, 100.0, 0.0]
    assert sites["site_ctr_y"].tolist() == [25.0 * r for r in range(N_AMP)]
    ain = meta.site_positions(SignalType.AIN)
    assert list(ain.index) == [0, 1]
    with pytest.raises(InvalidArgument, match=r"^stype not in signal map$"):
        meta.site_positions("amp")  # type: ignore[arg-type]


# -- models -------------------------------------------------------------------------------------


def test_channel_info_defaults_and_parsing() -> None:
    ch = ChannelInfo.model_validate(
        {"port": Port.B, "chan_type": "ain", "ntv_key_idx": 3, "sys_key_idx": 67}
    )
    assert list(ChannelInfo.model_fields) == DOCUMENTED_COLUMNS
    assert ch.port == "B"
    assert ch.chan_type is SignalType.AIN
    assert (ch.site_num, ch.color_group_idx) == (-23, 2147483647)
    assert (ch.dataset_key_idx, ch.dataset_key_idx_abs) == (3, 67)
    assert ch.audio == [False, False]
    assert ch.scs_to_tcs == [0.0, 0.0, 0.0]
    assert ch.selected is True
    h_port = {"port": 7, "chan_type": 1, "ntv_key_idx": 0, "sys_key_idx": 0}
    assert ChannelInfo.model_validate(h_port).port == "H"


@pytest.mark.parametrize(
    "bad",
    [
        {"chan_type": "pri"},
        {"port": "Z"},
        {"audio": [True]},
        {"scs_to_tcs": [1.0, 2.0]},
    ],
)
def test_channel_info_rejects_bad_values(bad: dict[str, object]) -> None:
    args: dict[str, object] = {"chan_type": 0, "ntv_key_idx": 0, "sys_key_idx": 0, **bad}
    with pytest.raises(ValueError):
        ChannelInfo.model_validate(args)


def test_models_are_frozen(meta: ChannelMetadata) -> None:
    with pytest.raises(pydantic.ValidationError):
        meta.fs = 1.0
    with pytest.raises(pydantic.ValidationError):
        meta.channels[0].ntv_key_idx = 3
