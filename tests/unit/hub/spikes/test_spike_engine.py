"""The SpikeEngine facade: parameters and their validation, sorter commands, readers, threads."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from radiens_async.errors import InvalidArgument
from radiens_async.hub.daq.channel_layout import StreamSignalType
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.simulator import MODE_SPIKES, DeviceSimulator
from radiens_async.hub.spikes import SpikeBatch, SpikeEngine

FS = 30000.0
PARAM_KEYS = {
    "ntv_idx", "chan_enabled", "thr_activated", "thr", "thr_sd", "thr_wdw", "shadow", "weak_thr",
    "thr_wdw_pts", "shadow_pts", "weak_thr_activated", "weak_thr_sd",
}  # fmt: skip


def _sim(seed: int = 0) -> tuple[DeviceSimulator, int]:
    layout = build_layout(default_sim_sensors(32), n_ain=0, n_din=0, n_dout=0)
    sim = DeviceSimulator(MODE_SPIKES, FS, layout, seed=seed)
    return sim, layout.count(StreamSignalType.AMP)


def _feed(
    engine: SpikeEngine, sim: DeviceSimulator, n_amp: int, seconds: float, start: int = 0
) -> int:
    n = int(seconds * FS)
    for k in range(0, n, 30):
        engine.process(sim.generate(30)[:n_amp], start + k)
    return start + n


@pytest.fixture(scope="module")
def streamed() -> SpikeEngine:
    """An engine that has seen 4 s of simulated spikes on 32 channels."""
    sim, n_amp = _sim()
    engine = SpikeEngine(FS, n_amp, np.zeros((n_amp, 2)))
    _feed(engine, sim, n_amp, 4.0)
    return engine


# --- parameters -------------------------------------------------------------------------------


def test_default_parameters() -> None:
    engine = SpikeEngine(FS, 4, None, ntv_idxs=[10, 11, 12, 13])
    rows = engine.params_rows()
    assert [r["ntv_idx"] for r in rows] == [10, 11, 12, 13]
    r = rows[0]
    assert set(r) == PARAM_KEYS
    assert r["chan_enabled"] is True
    assert r["thr_activated"] == [True, False] and r["thr_sd"] == [-5.0, 5.0]
    assert all(math.isnan(v) for v in r["thr"])  # no noise estimate yet
    assert r["weak_thr"] == [-1000.0, 1000.0] and r["weak_thr_activated"] == [False, False]
    assert r["thr_wdw"] == [0.5, 1.0, 1.8] and r["thr_wdw_pts"] == [15, 30, 54]
    assert r["shadow"] == 1.5 and r["shadow_pts"] == 45
    assert engine.n_pts == 45 and engine.pre_pts == 15 and engine.sorting is True


def test_levels_in_sd_follow_the_noise_estimate(streamed: SpikeEngine) -> None:
    noise = streamed.noise_sd_uv()
    assert np.all((noise > 2.0) & (noise < 6.0))  # 6 µV white noise, band-passed
    r = streamed.params_rows()[3]
    assert r["thr"][0] == pytest.approx(-5.0 * noise[3])
    assert r["weak_thr_sd"][0] == pytest.approx(-1000.0 / noise[3])


def test_set_threshold_level_sign_convention_and_scales() -> None:
    engine = SpikeEngine(FS, 4, None)
    engine.set_threshold_level(85, None, "uV", None, weak=False)  # the documented example
    engine.set_threshold_level(None, 40.0, "uV", [2], weak=False)
    engine.set_threshold_level(-6.5, 7, "sd", [3], weak=False)
    engine.set_threshold_level(-300, 300, "uV", [1], weak=True)
    rows = engine.params_rows()
    assert rows[0]["thr"] == [-85.0, rows[0]["thr"][1]] and math.isnan(rows[0]["thr"][1])
    assert rows[2]["thr"][1] == 40.0
    assert rows[3]["thr_sd"] == [-6.5, 7.0]
    assert rows[1]["weak_thr"] == [-300.0, 300.0]
    # setting a level arms nothing
    assert [r["thr_activated"] for r in rows] == [[True, False]] * 4
    assert [r["weak_thr_activated"] for r in rows] == [[False, False]] * 4


def test_arming_per_slot_and_channel() -> None:
    engine = SpikeEngine(FS, 3, None)
    engine.set_threshold_active(False, True, [1], weak=False)
    engine.set_threshold_active(True, None, None, weak=True)
    rows = engine.params_rows()
    assert [r["thr_activated"] for r in rows] == [[True, False], [False, True], [True, False]]
    assert [r["weak_thr_activated"] for r in rows] == [[True, False]] * 3


def test_window_and_shadow() -> None:
    engine = SpikeEngine(FS, 2, None)
    engine.set_window(1.0, None)
    assert engine.params_rows()[0]["thr_wdw"] == [1.0, 1.0, 2.3]
    engine.set_window(None, 2.0)
    assert engine.params_rows()[0]["thr_wdw_pts"] == [30, 60, 99]
    assert engine.n_pts == 90 and engine.pre_pts == 30
    engine.set_shadow(10)
    assert engine.params_rows()[1]["shadow_pts"] == 300


BAD_CALLS = [
    ("pos threshold below zero", lambda e: e.set_threshold_level(None, -20.0, "uV", None, False)),
    ("zero level", lambda e: e.set_threshold_level(0.0, None, "uV", None, False)),
    ("nan level", lambda e: e.set_threshold_level(float("nan"), None, "uV", None, False)),
    ("inf level", lambda e: e.set_threshold_level(-5, float("inf"), "sd", None, False)),
    ("string level", lambda e: e.set_threshold_level("85", None, "uV", None, False)),
    ("bool level", lambda e: e.set_threshold_level(True, None, "uV", None, False)),
    ("unknown scale", lambda e: e.set_threshold_level(-50, None, "UV", None, False)),
    ("weak not bool", lambda e: e.set_threshold_level(-50, None, "uV", None, "yes")),
    ("unknown channel", lambda e: e.set_threshold_level(-50, None, "uV", [0, 99], False)),
    ("negative channel", lambda e: e.set_threshold_level(-50, None, "uV", [-1], False)),
    ("empty channel list", lambda e: e.set_threshold_level(-50, None, "uV", [], False)),
    ("float channel", lambda e: e.set_threshold_level(-50, None, "uV", [1.0], False)),
    ("channel string", lambda e: e.set_threshold_level(-50, None, "uV", "0", False)),
    ("good level, bad other slot", lambda e: e.set_threshold_level(-50, -50, "uV", None, False)),
    ("arm with a string", lambda e: e.set_threshold_active("on", None, None, False)),
    ("arm unknown channel", lambda e: e.set_threshold_active(True, None, [7], False)),
    ("window zero", lambda e: e.set_window(0.0, None)),
    ("window negative", lambda e: e.set_window(None, -1.0)),
    ("window too long", lambda e: e.set_window(10.5, 1.0)),
    ("window nan", lambda e: e.set_window(float("nan"), None)),
    ("good pre, bad post", lambda e: e.set_window(1.0, 11.0)),
    ("shadow zero", lambda e: e.set_shadow(0.0)),
    ("shadow too long", lambda e: e.set_shadow(10.01)),
    ("shadow none", lambda e: e.set_shadow(None)),
    ("sorting not bool", lambda e: e.set_sorting("on")),
]


@pytest.mark.parametrize("name,call", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_input_is_refused_and_changes_nothing(name: str, call) -> None:
    engine = SpikeEngine(FS, 4, None)
    noise = np.random.default_rng(0).normal(0.0, 6.0, (4, 6000)).astype(np.float32)
    for k in range(0, 6000, 30):  # so that SD and µV levels both have values
        engine.process(noise[:, k : k + 30], k)
    engine.set_threshold_level(-60, 70, "uV", [1], weak=False)
    before, n_pts, sorting = engine.params_rows(), engine.n_pts, engine.sorting
    assert not math.isnan(before[0]["thr"][0])
    with pytest.raises(InvalidArgument) as info:
        call(engine)
    assert str(info.value)  # a message that says what was wrong
    assert repr(engine.params_rows()) == repr(before)  # (repr: NaN != NaN)
    assert engine.n_pts == n_pts and engine.sorting == sorting


def test_invalid_argument_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="pos_thr must be > 0"):
        SpikeEngine(FS, 1, None).set_threshold_level(None, -3, "sd", None, False)


def test_nothing_to_change_is_not_an_error() -> None:
    engine = SpikeEngine(FS, 2, None)
    before = repr(engine.params_rows())
    engine.set_threshold_level(None, None, "uV", None, False)
    engine.set_threshold_active(None, None, None, True)
    engine.set_window(None, None)
    assert repr(engine.params_rows()) == before


# --- detection through the facade ---------------------------------------------------------------


def test_a_fresh_engine_detects_and_sorts_simulated_spikes(streamed: SpikeEngine) -> None:
    batch = streamed.read(0, 10**6)
    assert isinstance(batch, SpikeBatch)
    assert len(batch) > 150 and batch.seq == 0 and batch.missed == 0
    assert batch.next_seq == streamed.next_seq == len(batch)
    assert np.all(np.diff(batch.sample_index) >= 0)
    assert batch.waveform.shape == (len(batch), 45) and batch.waveform.dtype == np.float32
    assert batch.channel.dtype == np.int32 and batch.label.dtype == np.int32
    assert batch.detected_ns.dtype == np.int64 and np.all(batch.detected_ns > 0)
    np.testing.assert_array_equal(np.argmin(batch.waveform, axis=1), 15)  # troughs at pre_pts
    assert batch.sample_index.min() >= int(0.1 * FS)  # nothing during the noise warm-up
    assert streamed.units() and all(u["label"] >= 1 for u in streamed.units())
    counts = streamed.counts()
    assert counts["spikes_processed"] == len(batch)
    rasters = streamed.rasters(0, 10**9)
    assert counts["spikes_labeled"] == int(np.count_nonzero(rasters.label))
    assert counts["num_units_total"] == len(streamed.units())
    np.testing.assert_array_equal(counts["spike_count"], np.bincount(batch.channel, minlength=32))


def test_read_with_a_channel_filter_and_a_cursor(streamed: SpikeEngine) -> None:
    all_ = streamed.read(0, 100)
    some = streamed.read(0, 100, channels=np.array([0, 5, 7]))
    assert some.next_seq == all_.next_seq == 100
    keep = np.isin(all_.channel, [0, 5, 7])
    np.testing.assert_array_equal(some.sample_index, all_.sample_index[keep])
    with pytest.raises(InvalidArgument):
        streamed.read(0, 10, channels=np.array([32]))
    with pytest.raises(InvalidArgument):
        streamed.read(0, -1)


def test_recent_and_rasters(streamed: SpikeEngine) -> None:
    since = int(3.0 * FS)
    recent = streamed.recent(since, None, max_per_channel=2)
    assert np.all(recent.sample_index >= since)
    assert np.bincount(recent.channel).max() <= 2
    assert np.all(np.diff(recent.sample_index) >= 0)
    window = streamed.rasters(int(1.0 * FS), int(2.0 * FS))
    assert window.waveform.shape == (len(window), 0)
    assert np.all((window.sample_index >= FS) & (window.sample_index < 2 * FS))


def test_sorter_commands() -> None:
    sim, n_amp = _sim()
    engine = SpikeEngine(FS, n_amp, None)
    end = _feed(engine, sim, n_amp, 3.0)
    units = engine.units()
    n_spikes = engine.next_seq
    assert units and n_spikes > 0

    engine.clear_spikes()  # spikes go, templates stay
    assert engine.units() and len(engine.read(0, 10**6)) == 0
    assert engine.read(0, 10).missed == n_spikes and engine.next_seq == n_spikes
    assert all(u["spike_count"] == 0 for u in engine.units())

    end = _feed(engine, sim, n_amp, 1.0, end)
    fresh = engine.read(n_spikes, 10**6)
    known = np.isin(fresh.channel, [u["ntv_idx"] for u in units])
    assert known.sum() > 10 and np.count_nonzero(fresh.label[known]) / known.sum() > 0.8

    engine.rebase()  # spikes and templates go
    assert engine.units() == [] and len(engine.read(0, 10**6)) == 0
    engine.set_sorting(False)
    end = _feed(engine, sim, n_amp, 1.0, end)
    assert engine.units() == [] and not np.any(engine.read(0, 10**6).label)

    engine.set_shadow(5.0)
    engine.set_sorting(True)
    engine.initialize()  # defaults, nothing stored, sorting off
    assert engine.sorting is False and engine.units() == []
    assert engine.params_rows()[0]["shadow"] == 1.5 and engine.counts()["spikes_processed"] == 0


def test_changing_the_window_drops_spikes_and_templates() -> None:
    sim, n_amp = _sim()
    engine = SpikeEngine(FS, n_amp, None)
    end = _feed(engine, sim, n_amp, 3.0)
    before = engine.next_seq
    assert engine.units() and before > 0
    engine.set_window(0.8, 1.2)
    assert engine.units() == [] and engine.read(0, 10).missed == before
    _feed(engine, sim, n_amp, 0.5, end)
    batch = engine.read(before, 10**6)
    assert len(batch) > 0 and batch.waveform.shape[1] == engine.n_pts == 24 + 36
    np.testing.assert_array_equal(np.argmin(batch.waveform, axis=1), 24)


def test_reset_stream_renumbers_and_keeps_templates() -> None:
    sim, n_amp = _sim()
    engine = SpikeEngine(FS, n_amp, None)
    _feed(engine, sim, n_amp, 3.0)
    units = len(engine.units())
    engine.reset_stream()
    assert engine.epoch == 1 and engine.next_seq == 0 and len(engine.units()) == units
    sim.reset()
    _feed(engine, sim, n_amp, 0.5)
    batch = engine.read(0, 10**6)
    assert batch.seq == 0 and len(batch) > 0
    # the noise estimate was kept: detection starts right away, labels too
    assert batch.sample_index.min() < int(0.1 * FS)
    assert np.count_nonzero(batch.label) > 0


def test_process_checks_the_block_shape() -> None:
    engine = SpikeEngine(FS, 4, None)
    with pytest.raises(ValueError):
        engine.process(np.zeros((3, 30), np.float32), 0)
    engine.process(np.zeros((4, 0), np.float32), 0)  # an empty block is fine


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        SpikeEngine(0.0, 4, None)
    with pytest.raises(ValueError):
        SpikeEngine(FS, 2, np.zeros((3, 2)))
    with pytest.raises(ValueError):
        SpikeEngine(FS, 2, None, ntv_idxs=[1, 1])
    assert SpikeEngine(FS, 0, None).params_rows() == []


def test_readers_and_setters_run_while_another_thread_processes() -> None:
    sim, n_amp = _sim(seed=1)
    engine = SpikeEngine(FS, n_amp, None)
    blocks = [sim.generate(30)[:n_amp] for _ in range(3000)]
    errors: list[BaseException] = []

    def acquire() -> None:
        try:
            for i, b in enumerate(blocks):
                engine.process(b, 30 * i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=acquire)
    worker.start()
    cursor, seen = 0, 0
    rng = np.random.default_rng(0)
    while worker.is_alive() or cursor < engine.next_seq:
        batch = engine.read(cursor, 50)
        assert batch.missed == 0
        if len(batch):
            assert batch.seq == cursor and np.all(np.diff(batch.sample_index) >= 0)
        seen += len(batch)
        cursor = batch.next_seq
        engine.set_threshold_level(-float(rng.uniform(4.5, 5.5)), None, "sd", None, False)
        engine.set_shadow(float(rng.uniform(1.0, 2.0)))
        engine.params_rows()
        engine.units()
        engine.counts()
        engine.recent(0)
    worker.join()
    assert not errors
    assert seen == engine.next_seq > 100


def test_detect_then_maintain_is_process() -> None:
    """The feeder's split calls (wake readers between them) give exactly ``process``'s result."""
    sim_a, n_amp = _sim(seed=3)
    sim_b, _ = _sim(seed=3)
    whole = SpikeEngine(FS, n_amp, None)
    split = SpikeEngine(FS, n_amp, None)
    for k in range(0, int(3.0 * FS), 30):
        whole.process(sim_a.generate(30)[:n_amp], k)
        before = split.next_seq
        stored = split.detect(sim_b.generate(30)[:n_amp], k)
        assert split.next_seq - before == stored
        split.maintain(30)
    a, b = whole.read(0, 10**6), split.read(0, 10**6)
    assert len(a) > 100 and a.missed == b.missed == 0
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    np.testing.assert_array_equal(a.label, b.label)
    ca, cb = whole.counts(), split.counts()
    assert ca.keys() == cb.keys()
    for key in ca:
        np.testing.assert_array_equal(np.asarray(ca[key]), np.asarray(cb[key]))


def test_detect_refuses_a_block_of_the_wrong_shape() -> None:
    engine = SpikeEngine(FS, 4, None)
    with pytest.raises(ValueError, match="shape"):
        engine.detect(np.zeros((3, 30), np.float32), 0)
    assert engine.processed_until == -1 and engine.next_seq == 0


def test_maintain_refuses_a_negative_sample_count() -> None:
    engine = SpikeEngine(FS, 4, None)
    with pytest.raises(ValueError, match="n_samples"):
        engine.maintain(-30)
    engine.maintain(0)  # nothing happened: nothing to do
    assert engine.next_seq == 0
