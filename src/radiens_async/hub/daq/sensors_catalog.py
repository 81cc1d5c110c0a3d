"""Headstage and probe models the hub knows, and the channel layout they produce on a device.

IDs are kept **without** the wire prefixes ``hstg__`` / ``probe__``; :func:`strip_prefix` removes
them (an exact prefix removal, unlike the documented client's character-set strip).

Probe geometry is derived from the NeuroNexus model name rather than from hand-written tables::

    a{shanks}x{sites per shank}[_{layout}]_{length}mm{site spacing}[s][_{shank spacing}]_{area}

* ``a`` (acute) and ``v`` (vector) probes parse the same way.
* ``layout`` is empty (one column), ``polyN`` (N staggered columns), ``edge`` (one column along
  the shank edge) or ``tet`` (one tetrode per ``sites`` count; no site spacing in the name).
* ``{area}`` is the site area in µm²; sites are circles of that area.
* A missing shank spacing on a multi-shank probe defaults to :data:`DEFAULT_SHANK_SPACING_UM`.

Coordinates follow the probe coordinate system of the spec: µm, ``y`` = height above the tip,
shank 0 centred on ``x = 0`` and further shanks at ``+shank spacing``. Sites are numbered from 1,
shank by shank, from the tip upwards. Conventions for the layouts (ours, not NeuroNexus data):

* one column / edge: site ``j`` at ``y = TIP_OFFSET_UM + j * spacing``;
* ``polyN``: site ``j`` in column ``j % N``, row ``j // N``; columns are ``spacing`` apart in x,
  and odd columns are shifted up by ``spacing / 2`` (so ``spacing`` is the pitch within a column);
* ``tet``: a diamond of 4 sites, :data:`TETRODE_HALF_SPAN_UM` from its centre (bottom, left,
  right, top);
* Buzsaki (``buz32``, ``buz64``): 8 sites per shank, 20 µm apart vertically, alternating sides and
  widening away from the tip, shanks 200 µm apart, 160 µm² sites.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from radiens_async.hub.daq.channel_layout import (
    ChannelLayout,
    ChannelSpec,
    PortSensor,
    SiteGeometry,
    StreamSignalType,
)

HEADSTAGE_PREFIX = "hstg__"
PROBE_PREFIX = "probe__"

PORTS = "ABCDEFGH"
"""Port letters of a SmartBox, in stream order."""

UNSET_SITE_NUM = -23
"""``site_num`` of a channel with no probe site (the spec's "unset" value)."""

TIP_OFFSET_UM = 50.0
"""Height above the tip of the lowest site centre."""

DEFAULT_SHANK_SPACING_UM = 200.0
TETRODE_HALF_SPAN_UM = 20.0

_WIREFRAME_MARGIN_UM = 10.0
_WIREFRAME_TOP_UM = 100.0
_WIREFRAME_BASE_UM = 100.0
_EDGE_EXTRA_WIDTH_UM = 40.0

_HEADSTAGES: dict[str, int] = {
    "acute_smartlink_A16": 16,
    "chronic_smartlink_HC16": 16,
    "acute_smartlink_A32": 32,
    "chronic_smartlink_CM32": 32,
    "passthrough_32": 32,
    "acute_smartlink_A64": 64,
    "chronic_smartlink_H64": 64,
    "passthrough_64": 64,
    "passthrough_128": 128,
    "smartlink_128": 128,
}

_PARSED_PROBES: tuple[str, ...] = (
    "a1x16_3mm50_177",
    "a1x16_5mm150_177",
    "v1x16_edge_10mm200_177",
    "a1x32_5mm25_177",
    "a1x32_6mm50_177",
    "a1x32_poly3_8mm50s_177",
    "a1x32_poly5_6mm35s_100",
    "a2x16_10mm50_500_177",
    "a4x8_5mm100_200_177",
    "a8x1_tet_7mm_200_121",
    "a1x64_poly2_6mm23s_160",
    "v1x64_poly3_10mm25s_177",
    "a2x32_5mm25_200_177",
    "a4x16_5mm50_200_177",
    "a8x8_5mm200_200_413",
    "a2x64_poly2_6mm23s_160",
    "a4x32_poly2_5mm23s_160",
)

_BUZSAKI_SHANKS: dict[str, int] = {"buz32": 4, "buz64": 8}

_NAME_RE = re.compile(
    r"^(?P<kind>[av])(?P<shanks>\d+)x(?P<per_shank>\d+)"
    r"(?:_(?P<layout>poly\d+|edge|tet))?"
    r"_(?P<length>\d+)mm(?P<spacing>\d+)?(?P<staggered>s)?"
    r"(?:_(?P<shank_spacing>\d+))?"
    r"_(?P<area>\d+)$"
)


@dataclass(frozen=True, slots=True)
class HeadstageModel:
    """A headstage: its ID (no prefix) and how many amplifier channels it carries."""

    id: str
    n_channels: int


@dataclass(frozen=True, slots=True)
class ProbeModel:
    """A probe: its sites in site-number order and its outline.

    Attributes
    ----------
    id : str
        Model ID without the ``probe__`` prefix.
    n_channels : int
        Number of sites (one channel each).
    sites : tuple of SiteGeometry
        ``sites[i]`` is site number ``i + 1``.
    wireframe_x, wireframe_y : tuple of float
        Closed outline of the probe (first vertex repeated last), µm.
    n_shanks : int
        Number of shanks.
    shank_length_um : float
        Shank length from the name (drawing stops shortly above the top site).
    """

    id: str
    n_channels: int
    sites: tuple[SiteGeometry, ...]
    wireframe_x: tuple[float, ...]
    wireframe_y: tuple[float, ...]
    n_shanks: int = 1
    shank_length_um: float = 0.0

    @property
    def x_lim(self) -> tuple[float, float]:
        """``(min, max)`` of the wireframe x vertices (contains every site)."""
        return (min(self.wireframe_x), max(self.wireframe_x))

    @property
    def y_lim(self) -> tuple[float, float]:
        """``(min, max)`` of the wireframe y vertices (the tip is at 0)."""
        return (min(self.wireframe_y), max(self.wireframe_y))

    @property
    def site_x_lim(self) -> tuple[float, float]:
        """``(min, max)`` x over the site squares (centre ± half width)."""
        return (
            min(s.x_um - s.half_width_um for s in self.sites),
            max(s.x_um + s.half_width_um for s in self.sites),
        )

    @property
    def site_y_lim(self) -> tuple[float, float]:
        """``(min, max)`` y over the site squares (centre ± half width)."""
        return (
            min(s.y_um - s.half_width_um for s in self.sites),
            max(s.y_um + s.half_width_um for s in self.sites),
        )


def strip_prefix(name: str) -> str:
    """Remove a leading ``hstg__`` or ``probe__`` (exactly that prefix, once).

    Parameters
    ----------
    name : str
        A wire name such as ``"probe__buz32"`` or a bare ID.

    Returns
    -------
    str
        The ID without its prefix; other names are returned unchanged.

    Examples
    --------
    >>> strip_prefix("probe__buz32")
    'buz32'
    >>> strip_prefix("hstg__smartlink_128")
    'smartlink_128'
    """
    for prefix in (HEADSTAGE_PREFIX, PROBE_PREFIX):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def headstages() -> dict[str, int]:
    """All headstage IDs (no prefix) with their channel counts, sorted by ID."""
    return dict(sorted(_HEADSTAGES.items()))


def probes() -> dict[str, int]:
    """All probe IDs (no prefix) with their channel counts, sorted by ID."""
    return {pid: p.n_channels for pid, p in sorted(_probe_table().items())}


def get_headstage(headstage_id: str) -> HeadstageModel:
    """Look up a headstage by ID, with or without the ``hstg__`` prefix.

    Raises
    ------
    KeyError
        If the ID is not in the catalog.
    """
    key = strip_prefix(headstage_id)
    if key not in _HEADSTAGES:
        raise KeyError(
            f"unknown headstage {headstage_id!r}; available: {', '.join(sorted(_HEADSTAGES))}"
        )
    return HeadstageModel(id=key, n_channels=_HEADSTAGES[key])


def get_probe(probe_id: str) -> ProbeModel:
    """Look up a probe by ID, with or without the ``probe__`` prefix.

    Raises
    ------
    KeyError
        If the ID is not in the catalog.
    """
    key = strip_prefix(probe_id)
    table = _probe_table()
    if key not in table:
        raise KeyError(f"unknown probe {probe_id!r}; available: {', '.join(sorted(table))}")
    return table[key]


# --- geometry -------------------------------------------------------------------------------


@cache
def _probe_table() -> dict[str, ProbeModel]:
    table = {pid: _parse_probe(pid) for pid in _PARSED_PROBES}
    for pid, n_shanks in _BUZSAKI_SHANKS.items():
        table[pid] = _buzsaki_probe(pid, n_shanks)
    return table


def _parse_probe(probe_id: str) -> ProbeModel:
    m = _NAME_RE.match(probe_id)
    if m is None:
        raise ValueError(f"probe name {probe_id!r} does not follow the NeuroNexus convention")
    n_shanks = int(m["shanks"])
    per_shank = int(m["per_shank"])
    layout = m["layout"] or "linear"
    area = float(m["area"])
    shank_spacing = float(m["shank_spacing"] or DEFAULT_SHANK_SPACING_UM)
    if layout != "tet" and m["spacing"] is None:
        raise ValueError(f"probe name {probe_id!r} has no site spacing")
    spacing = float(m["spacing"] or 0.0)

    sites: list[SiteGeometry] = []
    for shank in range(n_shanks):
        x0 = shank * shank_spacing
        for x, y in _shank_sites(layout, per_shank, spacing):
            sites.append(SiteGeometry(x_um=x0 + x, y_um=y, area_um2=area, shank=shank))
    extra_right = _EDGE_EXTRA_WIDTH_UM if layout == "edge" else 0.0
    wx, wy = _wireframe(sites, n_shanks, extra_right)
    return ProbeModel(
        id=probe_id,
        n_channels=len(sites),
        sites=tuple(sites),
        wireframe_x=wx,
        wireframe_y=wy,
        n_shanks=n_shanks,
        shank_length_um=float(m["length"]) * 1000.0,
    )


def _shank_sites(layout: str, per_shank: int, spacing: float) -> list[tuple[float, float]]:
    """Site centres of one shank centred on x = 0, from the tip upwards."""
    if layout in ("linear", "edge"):
        return [(0.0, TIP_OFFSET_UM + j * spacing) for j in range(per_shank)]
    if layout == "tet":
        d = TETRODE_HALF_SPAN_UM
        out: list[tuple[float, float]] = []
        for t in range(per_shank):
            yc = TIP_OFFSET_UM + d + t * 4.0 * d
            out += [(0.0, yc - d), (-d, yc), (d, yc), (0.0, yc + d)]
        return out
    n_cols = int(layout.removeprefix("poly"))
    if n_cols < 1:
        raise ValueError(f"bad layout {layout!r}")
    half = (n_cols - 1) / 2.0
    return [
        (
            (j % n_cols - half) * spacing,
            TIP_OFFSET_UM + (j // n_cols) * spacing + (j % n_cols % 2) * spacing / 2.0,
        )
        for j in range(per_shank)
    ]


def _buzsaki_probe(probe_id: str, n_shanks: int) -> ProbeModel:
    pitch, area, per_shank = 20.0, 160.0, 8
    sites = [
        SiteGeometry(
            x_um=shank * DEFAULT_SHANK_SPACING_UM + (-1.0) ** k * (4.0 + 2.5 * k),
            y_um=TIP_OFFSET_UM + k * pitch,
            area_um2=area,
            shank=shank,
        )
        for shank in range(n_shanks)
        for k in range(per_shank)
    ]
    wx, wy = _wireframe(sites, n_shanks, 0.0)
    return ProbeModel(
        id=probe_id,
        n_channels=len(sites),
        sites=tuple(sites),
        wireframe_x=wx,
        wireframe_y=wy,
        n_shanks=n_shanks,
        shank_length_um=5000.0,
    )


def _wireframe(
    sites: Sequence[SiteGeometry], n_shanks: int, extra_right: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """One closed polygon: every shank as a pointed strip, joined by a base above the sites."""
    radius = max(math.sqrt(s.area_um2 / math.pi) for s in sites)
    top = max(s.y_um for s in sites) + radius + _WIREFRAME_TOP_UM
    xs: list[float] = []
    ys: list[float] = []
    for shank in range(n_shanks):
        on_shank = [s for s in sites if s.shank == shank]
        left = min(s.x_um for s in on_shank) - radius - _WIREFRAME_MARGIN_UM
        right = max(s.x_um for s in on_shank) + radius + _WIREFRAME_MARGIN_UM + extra_right
        shoulder = min(s.y_um for s in on_shank) - radius - 5.0
        xs += [left, left, (left + right) / 2.0, right, right]
        ys += [top, shoulder, 0.0, shoulder, top]
    xs += [xs[-1], xs[0], xs[0]]
    ys += [top + _WIREFRAME_BASE_UM, top + _WIREFRAME_BASE_UM, ys[0]]
    return tuple(xs), tuple(ys)


# --- channel layout -------------------------------------------------------------------------


def sensor_uid(port: str, headstage_id: str, probe_id: str) -> str:
    """Deterministic UID of a sensor on a port, e.g. ``"A-smartlink_128-buz32"``."""
    return f"{port}-{strip_prefix(headstage_id)}-{strip_prefix(probe_id)}"


def build_layout(
    sensors: Sequence[PortSensor], n_ain: int, n_din: int, n_dout: int
) -> ChannelLayout:
    """Lay out the channels of a device: amplifier channels port by port, then AIN, DIN, DOUT.

    Parameters
    ----------
    sensors : sequence of PortSensor
        One per connected port (any order; ports are laid out A..H). ``n_channels`` is the
        number of amplifier channels the port delivers.
    n_ain, n_din, n_dout : int
        Number of analog-in, digital-in and digital-out channels (all on port ``"A"``).

    Returns
    -------
    ChannelLayout
        Channels in sys order. Amplifier channels are named ``"A-000"`` (port letter and
        0-based channel within the port) for both ``chan_name`` and ``ntv_chan_name``; GPIO
        channels are named ``"AIN-01"`` / ``"DIN-01"`` / ``"DOUT-01"`` (1-based) with
        ``ntv_chan_name`` ``"ain-001"`` / ``"din-001"`` / ``"dout-001"``. Channel ``i`` of a
        port maps to probe site ``i + 1``; channels beyond the probe's sites have no site and
        ``site_num = -23``.

    Raises
    ------
    ValueError
        For a port outside A..H, a port listed twice, or a negative channel count.
    KeyError
        For an unknown headstage or probe ID.

    Examples
    --------
    >>> s = PortSensor("A", "chronic_smartlink_CM32", "buz32", 32)
    >>> layout = build_layout([s], n_ain=2, n_din=2, n_dout=2)
    >>> layout.channels[32].chan_name, layout.channels[32].sys_idx
    ('AIN-01', 32)
    """
    for name, n in (("n_ain", n_ain), ("n_din", n_din), ("n_dout", n_dout)):
        if n < 0:
            raise ValueError(f"{name} must be >= 0, got {n}")
    seen: set[str] = set()
    for s in sensors:
        if s.port not in PORTS or len(s.port) != 1:
            raise ValueError(f"port must be one of {', '.join(PORTS)}, got {s.port!r}")
        if s.port in seen:
            raise ValueError(f"port {s.port} has more than one sensor")
        if s.n_channels < 0:
            raise ValueError(f"port {s.port}: n_channels must be >= 0, got {s.n_channels}")
        seen.add(s.port)

    channels: list[ChannelSpec] = []
    ordered = tuple(sorted(sensors, key=lambda s: s.port))
    for s in ordered:
        hstg = get_headstage(s.headstage_id)
        probe = get_probe(s.probe_id)
        uid = sensor_uid(s.port, hstg.id, probe.id)
        for i in range(s.n_channels):
            has_site = i < probe.n_channels
            name = f"{s.port}-{i:03d}"
            channels.append(
                ChannelSpec(
                    signal_type=StreamSignalType.AMP,
                    ntv_idx=len(channels),
                    sys_idx=len(channels),
                    port=s.port,
                    chan_name=name,
                    ntv_chan_name=name,
                    site_num=i + 1 if has_site else UNSET_SITE_NUM,
                    site=probe.sites[i] if has_site else None,
                    headstage_id=hstg.id,
                    probe_id=probe.id,
                    sensor_uid=uid,
                )
            )
    for stype, n in (
        (StreamSignalType.AIN, n_ain),
        (StreamSignalType.DIN, n_din),
        (StreamSignalType.DOUT, n_dout),
    ):
        label = stype.name
        for i in range(n):
            channels.append(
                ChannelSpec(
                    signal_type=stype,
                    ntv_idx=i,
                    sys_idx=len(channels),
                    port="A",
                    chan_name=f"{label}-{i + 1:02d}",
                    ntv_chan_name=f"{label.lower()}-{i + 1:03d}",
                )
            )
    normalized = tuple(
        PortSensor(s.port, strip_prefix(s.headstage_id), strip_prefix(s.probe_id), s.n_channels)
        for s in ordered
    )
    return ChannelLayout(channels=tuple(channels), sensors=normalized)


_SIM_SENSORS: dict[int, tuple[str, str]] = {
    16: ("acute_smartlink_A16", "a1x16_5mm150_177"),
    32: ("chronic_smartlink_CM32", "a1x32_poly3_8mm50s_177"),
    64: ("chronic_smartlink_H64", "v1x64_poly3_10mm25s_177"),
    128: ("smartlink_128", "a4x32_poly2_5mm23s_160"),
}


def default_sim_sensors(n_channels: int) -> tuple[PortSensor, ...]:
    """The sensors the simulator connects for a given amplifier channel count.

    Parameters
    ----------
    n_channels : int
        16, 32, 64 or 128 (one sensor on port A), or a multiple of 128 up to 1024 (one
        ``smartlink_128`` + ``a4x32_poly2_5mm23s_160`` per port, from A).

    Returns
    -------
    tuple of PortSensor

    Raises
    ------
    ValueError
        For any other count.
    """
    if n_channels in _SIM_SENSORS:
        hstg, probe = _SIM_SENSORS[n_channels]
        return (PortSensor("A", hstg, probe, n_channels),)
    if n_channels > 128 and n_channels % 128 == 0 and n_channels // 128 <= len(PORTS):
        hstg, probe = _SIM_SENSORS[128]
        return tuple(PortSensor(p, hstg, probe, 128) for p in PORTS[: n_channels // 128])
    raise ValueError(
        f"cannot lay out {n_channels} simulated channels; "
        "supported: 16, 32, 64, 128 and multiples of 128 up to 1024"
    )
