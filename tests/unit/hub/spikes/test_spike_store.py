from __future__ import annotations

import numpy as np
import pytest

from radiens_async.hub.spikes.spike_store import MAX_WAVEFORM_BYTES, SpikeStore


def _append(store: SpikeStore, samples: list[int], channels: list[int], labels=None) -> int:
    n = len(samples)
    wave = np.repeat(np.asarray(samples, np.float32)[:, None], store.n_pts, axis=1)
    return store.append(
        np.asarray(samples, np.int64),
        np.asarray(channels, np.int32),
        np.zeros(n, np.int32) if labels is None else np.asarray(labels, np.int32),
        wave,
        123,
    )


def test_read_in_order_with_cursor() -> None:
    store = SpikeStore(capacity=10, n_pts=3)
    assert _append(store, [5, 6, 9], [0, 1, 0]) == 0
    assert _append(store, [12], [2]) == 3
    got = store.read(0, 2)
    assert got.seq.tolist() == [0, 1] and got.next_seq == 2 and got.missed == 0
    assert got.sample_index.tolist() == [5, 6] and got.waveform[:, 0].tolist() == [5.0, 6.0]
    got = store.read(got.next_seq, 100)
    assert (
        got.seq.tolist() == [2, 3] and got.next_seq == 4 and got.detected_ns.tolist() == [123, 123]
    )
    got = store.read(4, 100)
    assert got.seq.size == 0 and got.next_seq == 4


def test_a_reader_that_falls_behind_gets_a_gap() -> None:
    store = SpikeStore(capacity=4, n_pts=2)
    _append(store, list(range(10)), [0] * 10)
    got = store.read(3, 100)
    assert got.missed == 3 and got.seq.tolist() == [6, 7, 8, 9]
    assert got.sample_index.tolist() == [6, 7, 8, 9]


def test_channel_filter_is_applied_after_counting() -> None:
    store = SpikeStore(capacity=100, n_pts=2)
    _append(store, list(range(10)), [0, 1] * 5)
    got = store.read(0, 4, channels=np.array([1]))
    assert got.seq.tolist() == [1, 3] and got.next_seq == 4
    got = store.read(got.next_seq, 4, channels=np.array([1]))
    assert got.seq.tolist() == [5, 7] and got.next_seq == 8


def test_between_finds_sample_ranges_across_the_wrap() -> None:
    store = SpikeStore(capacity=8, n_pts=1)
    _append(store, [10 * k for k in range(13)], [0] * 13)  # slots wrap; 50..120 held
    got = store.between(55, 101, waveforms=False)
    assert got.sample_index.tolist() == [60, 70, 80, 90, 100] and got.waveform.shape == (5, 0)
    assert store.between(0, 1000).sample_index.tolist() == list(range(50, 130, 10))
    assert store.between(121, 1000).seq.size == 0


def test_recent_keeps_the_latest_per_channel_in_order() -> None:
    store = SpikeStore(capacity=100, n_pts=1)
    _append(store, list(range(20)), [0, 0, 1, 2] * 5)
    got = store.recent(4, None, max_per_channel=2)
    assert got.sample_index.tolist() == [14, 15, 16, 17, 18, 19]
    assert sorted(np.unique(got.channel, return_counts=True)[1].tolist()) == [2, 2, 2]
    got = store.recent(10, np.array([1, 2]), max_per_channel=100)
    assert got.sample_index.tolist() == [10, 11, 14, 15, 18, 19]


def test_relabel_clear_restart_resize() -> None:
    store = SpikeStore(capacity=4, n_pts=2)
    _append(store, list(range(6)), [0] * 6)
    held = store.relabel(np.array([0, 3, 5]), np.array([7, 8, 9], np.int32))
    assert held.tolist() == [False, True, True]
    assert store.read(2, 10).label.tolist() == [0, 8, 0, 9]
    store.clear()
    got = store.read(2, 10)
    assert got.seq.size == 0 and got.missed == 4 and store.next_seq == 6
    _append(store, [7], [1])
    assert store.read(6, 10).seq.tolist() == [6]
    store.resize(5)
    assert store.n_pts == 5 and len(store) == 0 and store.next_seq == 7
    store.restart()
    assert store.next_seq == 0 and _append(store, [1], [0]) == 0


def test_capacity_is_bounded_by_memory() -> None:
    store = SpikeStore(capacity=10**9, n_pts=100)
    assert store.capacity == MAX_WAVEFORM_BYTES // 400


@pytest.mark.parametrize("cursor", [0, 2, 3, 7])
def test_a_cursor_from_a_previous_stream_starts_over(cursor: int) -> None:
    store = SpikeStore(capacity=4, n_pts=1)
    _append(store, [1, 2], [0, 0])
    got = store.read(cursor, 10)
    assert got.missed == 0
    assert got.seq.tolist() == ([] if cursor == 2 else [0, 1])
