from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from radiens_async.hub.daq import sensors_catalog as sc
from radiens_async.hub.daq.channel_layout import PortSensor, StreamSignalType

REQUIRED_HEADSTAGES = {
    "acute_smartlink_A16": 16,
    "chronic_smartlink_HC16": 16,
    "chronic_smartlink_CM32": 32,
    "acute_smartlink_A32": 32,
    "passthrough_32": 32,
    "acute_smartlink_A64": 64,
    "chronic_smartlink_H64": 64,
    "passthrough_64": 64,
    "passthrough_128": 128,
    "smartlink_128": 128,
}
REQUIRED_PROBES = {
    "a1x16_5mm150_177": 16,
    "v1x16_edge_10mm200_177": 16,
    "a2x16_10mm50_500_177": 32,
    "a4x8_5mm100_200_177": 32,
    "a8x1_tet_7mm_200_121": 32,
    "buz32": 32,
    "a1x32_poly3_8mm50s_177": 32,
    "a1x32_poly5_6mm35s_100": 32,
    "a1x32_6mm50_177": 32,
    "a8x8_5mm200_200_413": 64,
    "v1x64_poly3_10mm25s_177": 64,
    "buz64": 64,
    "a1x64_poly2_6mm23s_160": 64,
    "a4x32_poly2_5mm23s_160": 128,
    "a2x64_poly2_6mm23s_160": 128,
}
# behaviour-notes §3.8
HEADSTAGE_ALIAS = {
    "smart-16": "acute_smartlink_A16",
    "smart-32": "chronic_smartlink_CM32",
    "pass-32": "passthrough_32",
    "pass-64": "passthrough_64",
    "chronic-64": "chronic_smartlink_H64",
}
PROBE_ALIAS = {
    "v1x16-16": "v1x16_edge_10mm200_177",
    "4x8-32": "a4x8_5mm100_200_177",
    "8x1tet-32": "a8x1_tet_7mm_200_121",
    "buz-32": "buz32",
    "poly3-32": "a1x32_poly3_8mm50s_177",
    " poly5-32": "a1x32_poly5_6mm35s_100",
    "8x8-64": "a8x8_5mm200_200_413",
    "poly3-64": "v1x64_poly3_10mm25s_177",
    "buz-64": "buz64",
}


def test_required_headstages_and_probes_with_counts() -> None:
    hs = sc.headstages()
    pr = sc.probes()
    assert REQUIRED_HEADSTAGES.items() <= hs.items()
    assert REQUIRED_PROBES.items() <= pr.items()
    assert list(hs) == sorted(hs)
    assert list(pr) == sorted(pr)
    assert not any(k.startswith(("hstg__", "probe__")) for k in [*hs, *pr])


def test_alias_targets_exist() -> None:
    for target in HEADSTAGE_ALIAS.values():
        assert sc.get_headstage(target).id == target
    for target in PROBE_ALIAS.values():
        assert sc.get_probe(target).id == target


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("probe__buz32", "buz32"),
        ("hstg__smartlink_128", "smartlink_128"),
        ("hstg__hstg__x", "hstg__x"),
        ("buz32", "buz32"),
        ("probe_buz32", "probe_buz32"),
        ("shtg__x", "shtg__x"),
    ],
)
def test_strip_prefix_is_exact(name: str, expected: str) -> None:
    assert sc.strip_prefix(name) == expected


def test_lookup_accepts_prefixed_ids_and_rejects_unknown() -> None:
    assert sc.get_probe("probe__buz32") == sc.get_probe("buz32")
    assert sc.get_headstage("hstg__smartlink_128").n_channels == 128
    with pytest.raises(KeyError, match="unknown probe 'nope'"):
        sc.get_probe("nope")
    with pytest.raises(KeyError, match="unknown headstage 'hstg__nope'"):
        sc.get_headstage("hstg__nope")


@pytest.mark.parametrize("probe_id", sorted(sc.probes()))
def test_geometry_sanity(probe_id: str) -> None:
    p = sc.get_probe(probe_id)
    assert len(p.sites) == p.n_channels
    xy = {(s.x_um, s.y_um) for s in p.sites}
    assert len(xy) == p.n_channels, "site positions must be unique"
    assert all(s.y_um > 0 for s in p.sites)
    assert {s.shank for s in p.sites} == set(range(p.n_shanks))
    # wireframe is closed and contains every site
    assert (p.wireframe_x[0], p.wireframe_y[0]) == (p.wireframe_x[-1], p.wireframe_y[-1])
    assert len(p.wireframe_x) == len(p.wireframe_y)
    x0, x1 = p.x_lim
    y0, y1 = p.y_lim
    sx0, sx1 = p.site_x_lim
    sy0, sy1 = p.site_y_lim
    assert x0 < sx0 and sx1 < x1 and y0 <= 0.0 < sy0 and sy1 < y1
    m = re.search(r"_(\d+)$", probe_id)
    if m:
        assert all(s.area_um2 == float(m.group(1)) for s in p.sites)


def _shank_centres(probe_id: str) -> list[float]:
    p = sc.get_probe(probe_id)
    return [float(np.mean([s.x_um for s in p.sites if s.shank == k])) for k in range(p.n_shanks)]


@pytest.mark.parametrize(
    ("probe_id", "n_shanks", "spacing", "shank_spacing"),
    [
        ("a1x16_5mm150_177", 1, 150.0, None),
        ("a1x32_6mm50_177", 1, 50.0, None),
        ("v1x16_edge_10mm200_177", 1, 200.0, None),
        ("a2x16_10mm50_500_177", 2, 50.0, 500.0),
        ("a4x8_5mm100_200_177", 4, 100.0, 200.0),
        ("a8x8_5mm200_200_413", 8, 200.0, 200.0),
    ],
)
def test_linear_spacing_from_name(
    probe_id: str, n_shanks: int, spacing: float, shank_spacing: float | None
) -> None:
    p = sc.get_probe(probe_id)
    assert p.n_shanks == n_shanks
    for k in range(n_shanks):
        on = [s for s in p.sites if s.shank == k]
        assert len({s.x_um for s in on}) == 1
        np.testing.assert_allclose(np.diff([s.y_um for s in on]), spacing)
    if shank_spacing is not None:
        np.testing.assert_allclose(np.diff(_shank_centres(probe_id)), shank_spacing)


@pytest.mark.parametrize(
    ("probe_id", "n_cols", "spacing", "n_shanks"),
    [
        ("a1x32_poly3_8mm50s_177", 3, 50.0, 1),
        ("a1x32_poly5_6mm35s_100", 5, 35.0, 1),
        ("v1x64_poly3_10mm25s_177", 3, 25.0, 1),
        ("a1x64_poly2_6mm23s_160", 2, 23.0, 1),
        ("a4x32_poly2_5mm23s_160", 2, 23.0, 4),
        ("a2x64_poly2_6mm23s_160", 2, 23.0, 2),
    ],
)
def test_poly_columns_are_staggered(
    probe_id: str, n_cols: int, spacing: float, n_shanks: int
) -> None:
    p = sc.get_probe(probe_id)
    assert p.n_shanks == n_shanks
    on = [s for s in p.sites if s.shank == 0]
    cols = sorted({s.x_um for s in on})
    assert len(cols) == n_cols
    firsts = []
    for x in cols:
        ys = sorted(s.y_um for s in on if s.x_um == x)
        np.testing.assert_allclose(np.diff(ys), spacing)
        firsts.append(ys[0])
    assert len(set(firsts)) == 2, "neighbouring columns are offset vertically"
    if n_shanks > 1:
        np.testing.assert_allclose(np.diff(_shank_centres(probe_id)), 200.0)


def test_tetrodes_and_buzsaki() -> None:
    tet = sc.get_probe("a8x1_tet_7mm_200_121")
    assert tet.n_shanks == 8
    for k in range(8):
        on = [s for s in tet.sites if s.shank == k]
        assert len(on) == 4
        d = [np.hypot(a.x_um - b.x_um, a.y_um - b.y_um) for a, b in itertools.combinations(on, 2)]
        assert max(d) <= 50.0
    np.testing.assert_allclose(np.diff(_shank_centres("a8x1_tet_7mm_200_121")), 200.0)
    for pid, n_shanks in (("buz32", 4), ("buz64", 8)):
        p = sc.get_probe(pid)
        assert p.n_shanks == n_shanks
        for k in range(n_shanks):
            on = [s for s in p.sites if s.shank == k]
            assert len(on) == 8
            xs = np.array([s.x_um for s in on]) - k * 200.0
            assert np.all(np.sign(xs[::2]) == 1) and np.all(np.sign(xs[1::2]) == -1)
            assert np.all(np.diff(np.abs(xs)) > 0), "wider away from the tip"


def test_build_layout_indices_and_names() -> None:
    layout = sc.build_layout(
        [PortSensor("A", "hstg__chronic_smartlink_CM32", "probe__buz32", 32)], 2, 2, 2
    )
    assert layout.n_channels == 38
    assert [c.sys_idx for c in layout.channels] == list(range(38))
    amp = layout.of_type(StreamSignalType.AMP)
    ain = layout.of_type(StreamSignalType.AIN)
    din = layout.of_type(StreamSignalType.DIN)
    dout = layout.of_type(StreamSignalType.DOUT)
    assert [c.ntv_idx for c in amp] == list(range(32))
    assert [(c.ntv_idx, c.sys_idx) for c in ain] == [(0, 32), (1, 33)]
    assert [(c.ntv_idx, c.sys_idx) for c in din] == [(0, 34), (1, 35)]
    assert [(c.ntv_idx, c.sys_idx) for c in dout] == [(0, 36), (1, 37)]
    assert all(c.dset_idx == c.ntv_idx for c in layout.channels)
    assert amp[0].chan_name == amp[0].ntv_chan_name == "A-000"
    assert amp[31].chan_name == "A-031"
    assert [c.chan_name for c in ain] == ["AIN-01", "AIN-02"]
    assert [c.ntv_chan_name for c in dout] == ["dout-001", "dout-002"]
    probe = sc.get_probe("buz32")
    assert all(c.site == probe.sites[i] and c.site_num == i + 1 for i, c in enumerate(amp))
    assert {c.sensor_uid for c in amp} == {"A-chronic_smartlink_CM32-buz32"}
    assert all(c.site is None and c.port == "A" and c.site_num == -23 for c in ain + din + dout)
    assert layout.sensors == (PortSensor("A", "chronic_smartlink_CM32", "buz32", 32),)


def test_build_layout_orders_ports_and_marks_missing_sites() -> None:
    layout = sc.build_layout(
        [
            PortSensor("C", "smartlink_128", "a1x32_6mm50_177", 128),
            PortSensor("A", "acute_smartlink_A16", "a1x16_5mm150_177", 16),
        ],
        0,
        1,
        0,
    )
    amp = layout.of_type(StreamSignalType.AMP)
    assert [c.port for c in amp] == ["A"] * 16 + ["C"] * 128
    assert [c.ntv_idx for c in amp] == list(range(144))
    assert amp[16].chan_name == "C-000"
    assert amp[16 + 31].site_num == 32 and amp[16 + 31].site is not None
    assert all(c.site is None and c.site_num == -23 for c in amp[16 + 32 :])
    assert layout.port_num_channels == {"A": 16, "C": 128}
    assert layout.channels[-1].sys_idx == 144


@pytest.mark.parametrize(
    "sensors",
    [
        [PortSensor("I", "smartlink_128", "buz32", 32)],
        [PortSensor("a", "smartlink_128", "buz32", 32)],
        [PortSensor("A", "smartlink_128", "buz32", 32)] * 2,
        [PortSensor("A", "smartlink_128", "buz32", -1)],
    ],
)
def test_build_layout_rejects_bad_ports(sensors: list[PortSensor]) -> None:
    with pytest.raises(ValueError):
        sc.build_layout(sensors, 0, 0, 0)


def test_build_layout_rejects_unknown_ids() -> None:
    with pytest.raises(KeyError):
        sc.build_layout([PortSensor("A", "nope", "buz32", 32)], 0, 0, 0)
    with pytest.raises(KeyError):
        sc.build_layout([PortSensor("A", "smartlink_128", "nope", 32)], 0, 0, 0)
    with pytest.raises(ValueError):
        sc.build_layout([], -1, 0, 0)


def test_default_sim_sensors() -> None:
    (s32,) = sc.default_sim_sensors(32)
    assert s32 == PortSensor("A", "chronic_smartlink_CM32", "a1x32_poly3_8mm50s_177", 32)
    for n in (16, 64, 128):
        (s,) = sc.default_sim_sensors(n)
        assert s.port == "A" and s.n_channels == n
        assert sc.get_headstage(s.headstage_id).n_channels == n
        assert sc.get_probe(s.probe_id).n_channels == n
    big = sc.default_sim_sensors(1024)
    assert [s.port for s in big] == list("ABCDEFGH")
    assert [s.port for s in sc.default_sim_sensors(384)] == list("ABC")
    layout = sc.build_layout(sc.default_sim_sensors(256), 0, 0, 0)
    assert layout.n_channels == 256
    for n in (0, 8, 48, 96, 200, 2048, 1152):
        with pytest.raises(ValueError, match="cannot lay out"):
            sc.default_sim_sensors(n)
