"""ChannelSelection (selected flags, colour groups, display order) and the Radiens time-range
selector on the live cache: plain domain code, no hub process."""

from __future__ import annotations

import math

import pytest

from radiens_async.errors import InvalidArgument, OutOfRange
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.channel_selection import ChannelSelection
from radiens_async.hub.radiens.live_time_range import LiveSelMode, resolve_live_span
from radiens_async.utils.constants import COLOR_GROUP_IDX_UNSET

AMP, AIN = StreamSignalType.AMP, StreamSignalType.AIN


def layout(n: int = 32) -> sensors_catalog.ChannelLayout:
    return sensors_catalog.build_layout(sensors_catalog.default_sim_sensors(n), 2, 2, 2)


def test_defaults_all_selected_groups_by_shank_sys_order() -> None:
    lay = layout()
    sel = ChannelSelection(lay)
    for c in lay.channels:
        assert sel.is_selected(c)
        assert sel.sort_position(c) == c.sys_idx
        assert sel.color_group(c) == (c.site.shank if c.site else COLOR_GROUP_IDX_UNSET)


def test_a_refused_edit_changes_nothing() -> None:
    lay = layout()
    sel = ChannelSelection(lay)
    version = sel.version
    with pytest.raises(InvalidArgument, match="99"):
        sel.deselect(AMP, [0, 99])
    assert all(sel.is_selected(c) for c in lay.channels)
    assert sel.version == version
    with pytest.raises(InvalidArgument, match="sort axes"):
        sel.sort(AMP, [])


def test_color_groups_skip_unselected_and_take_the_smallest_free_index() -> None:
    lay = layout()
    sel = ChannelSelection(lay)
    amp = lay.of_type(AMP)
    sel.remove_color_group(AMP, [c.ntv_idx for c in amp])
    sel.deselect(AMP, [2])
    assert sel.add_color_group(AMP, [0, 1, 2]) == 1
    assert sel.add_color_group(AIN, [0]) == 2
    assert [sel.color_group(c) for c in amp[:3]] == [1, 1, COLOR_GROUP_IDX_UNSET]
    sel.remove_color_group(AMP, [0, 1])
    assert sel.add_color_group(AMP, [5]) == 1  # 1 is free again
    assert sel.add_color_group(AMP, [2]) is None  # only unselected channels: no group


def test_sort_reorders_one_type_within_its_slots() -> None:
    lay = layout()
    sel = ChannelSelection(lay)
    sel.sort(AMP, ["y", "x"])
    amp = sorted(lay.of_type(AMP), key=sel.sort_position)
    keys = [(c.site.y_um, c.site.x_um) for c in amp if c.site]
    assert keys == sorted(keys)
    assert sorted(sel.sort_position(c) for c in amp) == list(range(len(amp)))
    assert all(sel.sort_position(c) == c.sys_idx for c in lay.of_type(AIN))


def test_follow_keeps_state_for_the_same_channels_and_resets_for_new_ones() -> None:
    sel = ChannelSelection(layout(32))
    sel.deselect(AMP, [3])
    sel.follow(layout(32))  # e.g. a new sampling rate: the same channels
    assert not sel.is_selected(sel.layout.of_type(AMP)[3])
    sel.follow(layout(64))
    assert all(sel.is_selected(c) for c in sel.layout.channels)


# -- the Radiens time-range selector -------------------------------------------------------------
FS, OLDEST, HEAD = 1000.0, 500, 3000


@pytest.mark.parametrize(
    ("mode", "sec", "span"),
    [
        (LiveSelMode.SUBSET, [1.0, 2.0], (1000, 2000)),
        (LiveSelMode.SUBSET, [0.0, 1.0], (500, 1000)),  # clipped at the oldest sample
        (LiveSelMode.SUBSET, [2.5, 9.0], (2500, 3000)),  # and at the head
        (LiveSelMode.SUBSET, [-math.inf, math.inf], (500, 3000)),
        (LiveSelMode.SUBSET, [1.0, math.inf], (1000, 3000)),
        (LiveSelMode.TO_HEAD, [1.0], (1000, 3000)),
        (LiveSelMode.TO_HEAD, [1.0, math.nan], (1000, 3000)),
        (LiveSelMode.FROM_HEAD, [0.5, math.nan], (2500, 3000)),
        (LiveSelMode.FROM_HEAD, [100.0, math.nan], (500, 3000)),
        (LiveSelMode.FROM_HEAD, [math.inf], (500, 3000)),
        (LiveSelMode.SUBSET, [0.0012345, 1.0], (500, 1000)),
    ],
)
def test_spans(mode: LiveSelMode, sec: list[float], span: tuple[int, int]) -> None:
    got = resolve_live_span(mode, sec, FS, OLDEST, HEAD)
    assert (got.start, got.stop) == span


def test_seconds_map_to_samples_like_our_protocol() -> None:
    # 0.1 * 30000 = 3000.0000000000005 in binary: rounding keeps it sample 3000
    got = resolve_live_span(LiveSelMode.SUBSET, [0.1, 0.2], 30000.0, 0, 10**6)
    assert (got.start, got.stop) == (3000, 6000)


def test_timestamps_select_samples_directly() -> None:
    got = resolve_live_span(LiveSelMode.SUBSET, [], FS, OLDEST, HEAD, timestamps=[700, 900])
    assert (got.start, got.stop) == (700, 900)


@pytest.mark.parametrize(
    ("mode", "sec"),
    [
        (LiveSelMode.SUBSET, [4.0, 5.0]),
        (LiveSelMode.SUBSET, [0.0, 0.4]),
        (LiveSelMode.TO_HEAD, [3.0]),
    ],
)
def test_no_overlap_is_out_of_range(mode: LiveSelMode, sec: list[float]) -> None:
    with pytest.raises(OutOfRange, match="live cache"):
        resolve_live_span(mode, sec, FS, OLDEST, HEAD)


def test_an_empty_cache_is_out_of_range() -> None:
    with pytest.raises(OutOfRange, match="no samples yet"):
        resolve_live_span(LiveSelMode.FROM_HEAD, [0.1], FS, 0, 0)


@pytest.mark.parametrize(
    ("mode", "sec"),
    [
        (LiveSelMode.SUBSET, [math.nan, 1.0]),
        (LiveSelMode.SUBSET, [2.0, 1.0]),
        (LiveSelMode.SUBSET, [1.0, 1.0]),
        (LiveSelMode.SUBSET, [1.0]),
        (LiveSelMode.SUBSET, [math.inf, math.inf]),
        (LiveSelMode.SUBSET, [-math.inf, -math.inf]),
        (LiveSelMode.TO_HEAD, []),
        (LiveSelMode.TO_HEAD, [math.inf]),
        (LiveSelMode.FROM_HEAD, [0.0]),
        (LiveSelMode.FROM_HEAD, [-1.0]),
        (LiveSelMode.FROM_HEAD, [math.nan]),
    ],
)
def test_malformed_ranges_are_invalid(mode: LiveSelMode, sec: list[float]) -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_live_span(mode, sec, FS, OLDEST, HEAD)
    assert not isinstance(info.value, OutOfRange)
