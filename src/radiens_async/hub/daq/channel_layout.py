"""The channels a device delivers: one record per channel, in stream (sys index) order.

This is hub domain code: plain dataclasses, no gRPC and no pydantic. The servicer converts a
:class:`ChannelLayout` to the wire message; clients turn that into ``ChannelMetadata``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class StreamSignalType(IntEnum):
    """Signal types in their fixed stream order (the documented ``SignalType`` values)."""

    AMP = 0
    AIN = 1
    DIN = 2
    DOUT = 3


@dataclass(frozen=True, slots=True)
class SiteGeometry:
    """Where a probe site sits, in µm in the probe coordinate system (y = height above the tip)."""

    x_um: float
    y_um: float
    z_um: float = 0.0
    shape: str = "circle"
    area_um2: float = 177.0
    shank: int = 0

    @property
    def half_width_um(self) -> float:
        """Half the side of the square that has the site's area (for the site limits)."""
        return float(self.area_um2**0.5) / 2.0


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One channel of the live stream.

    ``ntv_idx`` counts within the signal type in hardware order, ``sys_idx`` counts across all
    types in the order amp, ain, din, dout, and ``dset_idx`` equals ``ntv_idx`` for live data.
    """

    signal_type: StreamSignalType
    ntv_idx: int
    sys_idx: int
    port: str
    chan_name: str
    ntv_chan_name: str
    site_num: int = -23
    site: SiteGeometry | None = None
    headstage_id: str = ""
    probe_id: str = ""
    sensor_uid: str = ""

    @property
    def dset_idx(self) -> int:
        return self.ntv_idx


@dataclass(frozen=True, slots=True)
class PortSensor:
    """A headstage + probe pair connected to one port."""

    port: str
    headstage_id: str
    probe_id: str
    n_channels: int


@dataclass(frozen=True)
class ChannelLayout:
    """All channels of a device, in sys-index order, plus what is connected where."""

    channels: tuple[ChannelSpec, ...]
    sensors: tuple[PortSensor, ...] = field(default_factory=tuple)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def of_type(self, stype: StreamSignalType) -> tuple[ChannelSpec, ...]:
        return tuple(c for c in self.channels if c.signal_type == stype)

    def count(self, stype: StreamSignalType) -> int:
        return sum(1 for c in self.channels if c.signal_type == stype)

    @property
    def port_num_channels(self) -> dict[str, int]:
        """Amplifier channel count per connected port, ports in letter order."""
        out: dict[str, int] = {}
        for c in self.channels:
            if c.signal_type == StreamSignalType.AMP:
                out[c.port] = out.get(c.port, 0) + 1
        return dict(sorted(out.items()))
