"""Bounds and thread safety of the hub's heavy requests, without a network."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import DeviceSimulator
from radiens_async.hub.servicers.allego_service import MAX_GROUND_TRUTH_S, MAX_STREAM_CHUNK_BYTES


@pytest.fixture
def sim() -> DeviceSimulator:
    layout = build_layout(default_sim_sensors(64), n_ain=2, n_din=2, n_dout=2)
    return DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=4)


def test_ground_truth_from_worker_threads_equals_one_sequential_query(
    sim: DeviceSimulator,
) -> None:
    """Queries run concurrently in worker threads (and beside acquisition) give the same
    spikes as one query: each query owns no block cache of the acquisition thread."""
    ranges = [(k * 50_000, (k + 1) * 50_000) for k in range(8)]
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(lambda r: sim.ground_truth(*r), ranges))
    sim.generate(40_000)  # acquisition moves the synthesis trains; the truth is unchanged
    whole = sim.ground_truth(0, 400_000)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert whole.size > 0 and whole["sample_index"].max() < 400_000


def test_ground_truth_of_an_empty_or_reversed_range_is_empty(sim: DeviceSimulator) -> None:
    assert sim.ground_truth(100, 100).size == 0
    assert sim.ground_truth(100, 10).size == 0


def test_bounds_are_positive_and_keep_a_chunk_small() -> None:
    assert 0 < MAX_GROUND_TRUTH_S <= 3600
    # a 1024-channel chunk at the bound is still several thousand samples
    assert MAX_STREAM_CHUNK_BYTES // (4 * 1024) >= 1024
