"""resolve_window (TrsMode) and resolve_columns (signal selection) on a SignalView."""

from __future__ import annotations

import numpy as np
import pytest
from dataset_fixtures import channels

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.datasets.describe import channel_metadata_of
from radiens_async.hub.datasets.signal_view import (
    LiveCacheAdapter,
    SignalView,
    resolve_columns,
    resolve_window,
)
from radiens_async.utils.enums import TrsMode

FS = 1000.0


def _view(n: int = 5000, first: int = 2000) -> SignalView:
    chans = channels(4, 1, 2)
    return SignalView(
        dataset_id="v",
        fs=FS,
        first_sample=first,
        n_samples=n,
        t0_sec=first / FS,
        channels=chans,
        channel_metadata=channel_metadata_of(chans, FS, "uid", "v"),
        read=lambda a, b, c: np.zeros((1, b - a), np.float32),
    )


def test_windows() -> None:
    v = _view()
    assert resolve_window(v, TrsMode.SUBSET) == (0, 5000)
    assert resolve_window(v, TrsMode.SUBSET, [2.5, 3.0]) == (500, 1000)
    assert resolve_window(v, TrsMode.SUBSET, [], [2100, 2200]) == (100, 200)
    assert resolve_window(v, TrsMode.TO_HEAD, [6.0]) == (4000, 5000)
    assert resolve_window(v, TrsMode.TO_HEAD, [6.0, 1e9]) == (4000, 5000)
    assert resolve_window(v, TrsMode.FROM_HEAD, [1.5]) == (3500, 5000)
    assert resolve_window(v, 2, [5.0, float("nan")]) == (0, 5000)
    assert resolve_window(v, TrsMode.SUBSET, [2.0029, 2.0031]) == (2, 3)  # truncated


@pytest.mark.parametrize(
    ("mode", "sec", "ts", "message"),
    [
        (TrsMode.SUBSET, [3.0, 2.5], [], "reversed"),
        (TrsMode.SUBSET, [3.0, 3.0], [], "no samples"),
        (TrsMode.SUBSET, [1.0, 2.5], [], "outside"),
        (TrsMode.SUBSET, [6.5, 7.5], [], "outside"),
        (TrsMode.SUBSET, [], [1000, 2500], "outside"),
        (TrsMode.SUBSET, [3.0], [], r"\[start, end\]"),
        (TrsMode.SUBSET, [2.0, float("inf")], [], "finite"),
        (TrsMode.TO_HEAD, [8.0], [], "outside"),
        (TrsMode.FROM_HEAD, [], [], "duration"),
        (TrsMode.FROM_HEAD, [6.0], [], "before the data"),
        (TrsMode.FROM_HEAD, [0.0], [], "positive"),
    ],
)
def test_bad_windows(mode: TrsMode, sec: list[float], ts: list[int], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        resolve_window(_view(), mode, sec, ts)


def test_empty_view() -> None:
    with pytest.raises(FailedPrecondition):
        resolve_window(_view(n=0), TrsMode.SUBSET)


def test_columns() -> None:
    v = _view()
    all_ = resolve_columns(v, None)
    assert all_.columns.tolist() == list(range(7)) and all_.n_per_type == (4, 1, 2, 0)
    amp = resolve_columns(v, None, ("amp",))
    assert amp.n_per_type == (4, 0, 0, 0) and amp.slice_or_columns() == slice(0, 4)
    pick = resolve_columns(v, {"amp": [3, 1], "din": [-2]})
    assert pick.columns.tolist() == [3, 1, 5, 6] and pick.ntv_idxs["din"] == [0, 1]
    assert pick.channel_metadata.num_sigs_total() == 4
    assert isinstance(pick.slice_or_columns(), np.ndarray)
    assert resolve_columns(v, {"ain": [-3]}).columns.tolist() == [4]


def test_bad_columns() -> None:
    v = _view()
    with pytest.raises(InvalidArgument, match="empty channel selection"):
        resolve_columns(v, {"amp": [], "din": []})
    with pytest.raises(InvalidArgument, match=r"amp native index \[9\]"):
        resolve_columns(v, {"amp": [0, 9]})
    with pytest.raises(InvalidArgument, match="no dout channels"):
        resolve_columns(v, None, ("dout",))


def test_live_adapter_needs_a_stream() -> None:
    class Idle:
        cache = None

    with pytest.raises(FailedPrecondition, match="not streaming"):
        LiveCacheAdapter(Idle()).view()


def test_live_adapter_reuses_the_channel_table_of_a_layout() -> None:
    from radiens_async.hub.daq import sensors_catalog
    from radiens_async.hub.daq.signal_cache import SignalCache

    class Device:
        fs = FS
        layout = sensors_catalog.build_layout(sensors_catalog.default_sim_sensors(16), 1, 1, 1)
        cache = SignalCache(19, capacity=100, max_block=10)

    dev = Device()
    dev.cache.append(np.arange(190, dtype=np.float32).reshape(19, 10))
    live = LiveCacheAdapter(dev)
    first, second = live.view(), live.view()
    assert second.channel_metadata is first.channel_metadata
    assert first.n_samples == 10 and first.read(2, 4, slice(0, 2)).tolist() == [
        [2.0, 3.0],
        [12.0, 13.0],
    ]
    dev.layout = sensors_catalog.build_layout(sensors_catalog.default_sim_sensors(16), 1, 1, 1)
    third = live.view()  # a new layout (reconfigured device): a new table
    assert third.channel_metadata is not first.channel_metadata
    assert third.channel_metadata == first.channel_metadata
