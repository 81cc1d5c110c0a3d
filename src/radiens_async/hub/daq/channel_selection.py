"""Which live channels are selected, their colour groups and their display order.

Allego keeps, per channel of the live signal group, a selected flag, a colour-group index and a
dynamic sort position (what its wireframe "Order" tool changes). None of it changes the samples:
acquisition, the cache and recording always carry every channel. This is hub domain code (no
gRPC); the Radiens ``UpdateSignalGroup`` call edits it and every signal-group reply shows it.

Channels are addressed as (signal type, native index), as the Radiens protocol does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.channel_layout import ChannelLayout, ChannelSpec, StreamSignalType
from radiens_async.utils.constants import COLOR_GROUP_IDX_UNSET

SORT_AXES = ("x", "y", "z")
"""Site-centre coordinates a sort may use, by name."""


def default_color_group(channel: ChannelSpec) -> int:
    """A channel's colour group before any change: its probe shank, or unset with no site.

    This matches what our own protocol reports as ``color_group_idx`` for the same channel.
    """
    return channel.site.shank if channel.site is not None else COLOR_GROUP_IDX_UNSET


class ChannelSelection:
    """Selection, colour groups and sort order of the channels of one :class:`ChannelLayout`.

    Parameters
    ----------
    layout : ChannelLayout
        The channels; the state starts at its defaults (all selected, groups by shank, sys
        order).

    Examples
    --------
    >>> from radiens_async.hub.daq import sensors_catalog
    >>> layout = sensors_catalog.build_layout(sensors_catalog.default_sim_sensors(16), 2, 2, 2)
    >>> sel = ChannelSelection(layout)
    >>> sel.deselect(StreamSignalType.AMP, [1, 2])
    >>> [c.ntv_idx for c in layout.of_type(StreamSignalType.AMP) if sel.is_selected(c)][:3]
    [0, 3, 4]
    """

    def __init__(self, layout: ChannelLayout) -> None:
        self.layout = layout
        self.version = 0  # moves on with every change (lets readers cache what they build)
        self.reset()

    # -- lifecycle ----------------------------------------------------------------------
    def reset(self) -> None:
        """Every channel selected, colour groups by shank, channels in sys order."""
        self._keys = {(c.signal_type, c.ntv_idx): c for c in self.layout.channels}
        self._selected = {key: True for key in self._keys}
        self._groups = {key: default_color_group(c) for key, c in self._keys.items()}
        self._sort_pos = {c.sys_idx: c.sys_idx for c in self.layout.channels}
        self.version += 1

    def follow(self, layout: ChannelLayout) -> None:
        """Adopt the device's new layout; the state is kept if the channels are the same.

        A change of sampling rate rebuilds an identical layout (the selection stays); new
        sensors change the channels (the state returns to its defaults).
        """
        same = layout.channels == self.layout.channels
        self.layout = layout
        self.version += 1
        if not same:
            self.reset()

    # -- reads --------------------------------------------------------------------------
    def is_selected(self, channel: ChannelSpec) -> bool:
        return self._selected[(channel.signal_type, channel.ntv_idx)]

    def color_group(self, channel: ChannelSpec) -> int:
        return self._groups[(channel.signal_type, channel.ntv_idx)]

    def sort_position(self, channel: ChannelSpec) -> int:
        """The channel's position in the display order (0..n-1 over all channels)."""
        return self._sort_pos[channel.sys_idx]

    # -- edits (validate everything first: a refused edit changes nothing) -----------------
    def _checked(
        self, stype: StreamSignalType, ntv_idxs: Iterable[int]
    ) -> list[tuple[StreamSignalType, int]]:
        keys = [(stype, int(i)) for i in ntv_idxs]
        unknown = sorted({i for s, i in keys if (s, i) not in self._keys})
        if unknown:
            n = self.layout.count(stype)
            valid = f"0..{n - 1}" if n else "none"
            raise InvalidArgument(
                f"unknown {stype.name.lower()} channel native indices {unknown} (valid: {valid})"
            )
        return keys

    def select(self, stype: StreamSignalType, ntv_idxs: Iterable[int]) -> None:
        """Add channels to the selection."""
        for key in self._checked(stype, ntv_idxs):
            self._selected[key] = True
        self.version += 1

    def deselect(self, stype: StreamSignalType, ntv_idxs: Iterable[int]) -> None:
        """Remove channels from the selection (their colour group is kept)."""
        for key in self._checked(stype, ntv_idxs):
            self._selected[key] = False
        self.version += 1

    def add_color_group(self, stype: StreamSignalType, ntv_idxs: Iterable[int]) -> int | None:
        """Put the *selected* ones of these channels into a new colour group.

        The group gets the smallest index >= 1 that no channel holds (Allego numbers groups as
        they are added); unselected channels are skipped, as Allego does. Returns the index,
        or None when no listed channel is selected.
        """
        keys = [k for k in self._checked(stype, ntv_idxs) if self._selected[k]]
        if not keys:
            return None
        used = set(self._groups.values())
        index = 1
        while index in used:
            index += 1
        for key in keys:
            self._groups[key] = index
        self.version += 1
        return index

    def remove_color_group(self, stype: StreamSignalType, ntv_idxs: Iterable[int]) -> None:
        """Take channels out of their colour group (their index becomes unset)."""
        for key in self._checked(stype, ntv_idxs):
            self._groups[key] = COLOR_GROUP_IDX_UNSET
        self.version += 1

    def sort(self, stype: StreamSignalType, axes: Sequence[str]) -> None:
        """Order the channels of ``stype`` by site centre along ``axes`` (lexicographic).

        The channels keep the display slots their type occupies; channels without a site go
        last, in sys order. Other signal types keep their positions.
        """
        bad = [a for a in axes if a not in SORT_AXES]
        if bad or not axes:
            raise InvalidArgument(
                f"sort axes must be a non-empty list of {', '.join(SORT_AXES)}, got {list(axes)}"
            )
        channels = self.layout.of_type(stype)
        slots = sorted(self._sort_pos[c.sys_idx] for c in channels)

        def key(c: ChannelSpec) -> tuple[int, tuple[float, ...], int]:
            if c.site is None:
                return (1, (), c.sys_idx)
            xyz = {"x": c.site.x_um, "y": c.site.y_um, "z": c.site.z_um}
            return (0, tuple(xyz[a] for a in axes), c.sys_idx)

        for slot, c in zip(slots, sorted(channels, key=key), strict=True):
            self._sort_pos[c.sys_idx] = slot
        self.version += 1
