"""LiveDspGroup: designs and causal filtering against scipy.signal, references against numpy,
chunked == whole (per-row state, and warm-up margin on cache reads), validation that changes
nothing, stage 1 on the acquisition source, stage 2 in the spike feeder."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
from scipy import signal

from radiens_async.errors import FailedPrecondition, InvalidArgument
from radiens_async.hub.daq import sensors_catalog
from radiens_async.hub.daq.channel_layout import ChannelLayout, PortSensor
from radiens_async.hub.daq.live_dsp_group import (
    DspParams,
    DspType,
    FilterFamily,
    FilterStage,
    LiveDspGroup,
    Stage1Source,
    Stage2Reader,
)
from radiens_async.hub.daq.signal_cache import SignalCache
from radiens_async.hub.daq.spike_feeder import SpikeFeeder

FS = 30000.0
N_PORT = 16
A = np.arange(0, N_PORT)  # port A amplifier rows (sys indices)
B = np.arange(N_PORT, 2 * N_PORT)
AIN0 = 2 * N_PORT  # first analog-in row
N_ROWS = 2 * N_PORT + 6


@pytest.fixture(scope="module")
def layout() -> ChannelLayout:
    sensor = ("acute_smartlink_A16", "a1x16_5mm150_177", N_PORT)
    return sensors_catalog.build_layout(
        (PortSensor("A", *sensor), PortSensor("B", *sensor)), 2, 2, 2
    )


@pytest.fixture
def group(layout: ChannelLayout) -> LiveDspGroup:
    return LiveDspGroup(layout, FS)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    rng = np.random.default_rng(7)
    t = np.arange(60000) / FS
    data = rng.normal(0.0, 20.0, (N_ROWS, t.size)) + 200.0 * np.sin(2 * np.pi * 60.0 * t)
    return data.astype(np.float32)


def stage2(group: LiveDspGroup, *steps: DspParams) -> np.ndarray:
    group.set_stage(FilterStage.STAGE2, steps)
    assert group.stage2_chain is not None
    return group.stage2_chain  # type: ignore[return-value]


def run(group: LiveDspGroup, x: np.ndarray, *steps: DspParams) -> np.ndarray:
    chain = stage2(group, *steps)
    return chain.new_state().process(x)  # type: ignore[attr-defined, no-any-return]


def close(a: np.ndarray, b: np.ndarray) -> None:
    # float32 output of a float64 filter
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-3)


# -- filters vs scipy ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("step", "reference"),
    [
        (
            DspParams(DspType.HIGHPASS, "A", freq=300.0),
            signal.butter(4, 300.0, "highpass", fs=FS, output="sos"),
        ),
        (
            DspParams(DspType.LOWPASS, "A", freq=6000.0, filter_order=7),
            signal.butter(7, 6000.0, "lowpass", fs=FS, output="sos"),
        ),
        (
            DspParams(DspType.BANDPASS, "A", band=(300.0, 6000.0)),
            signal.butter(2, [300.0, 6000.0], "bandpass", fs=FS, output="sos"),
        ),
        (
            DspParams(DspType.BANDSTOP, "A", band=(50.0, 70.0), filter_order=6),
            signal.butter(3, [50.0, 70.0], "bandstop", fs=FS, output="sos"),
        ),
        (
            DspParams(
                DspType.LOWPASS, "A", freq=3000.0, family=FilterFamily.CHEBYSHEV_I, filter_order=5
            ),
            signal.cheby1(5, 0.05, 3000.0, "lowpass", fs=FS, output="sos"),
        ),
        (
            DspParams(
                DspType.HIGHPASS,
                "A",
                freq=500.0,
                family=FilterFamily.CHEBYSHEV_I,
                ripple_db=1.0,
            ),
            signal.cheby1(4, 1.0, 500.0, "highpass", fs=FS, output="sos"),
        ),
    ],
)
def test_filters_equal_scipy_sosfilt_on_their_port_only(
    group: LiveDspGroup, x: np.ndarray, step: DspParams, reference: np.ndarray
) -> None:
    y = run(group, x, step)
    close(y[A], signal.sosfilt(reference, x[A].astype(np.float64), axis=-1))
    np.testing.assert_array_equal(y[N_PORT:], x[N_PORT:])  # port B and GPIO untouched


def test_notch_equals_scipy_iirnotch(group: LiveDspGroup, x: np.ndarray) -> None:
    y = run(group, x, DspParams(DspType.NOTCH, "B", freq=60.0, notch_bandwidth=4.0))
    b, a = signal.iirnotch(60.0, 60.0 / 4.0, fs=FS)
    close(y[B], signal.lfilter(b, a, x[B].astype(np.float64), axis=-1))
    np.testing.assert_array_equal(y[A], x[A])
    # and it does remove the 60 Hz line once settled
    assert np.abs(y[B, 30000:]).max() < 0.5 * np.abs(x[B, 30000:]).max()


def test_aux_filter_applies_to_one_analog_in_channel(group: LiveDspGroup, x: np.ndarray) -> None:
    y = run(group, x, DspParams(DspType.LOWPASS, "A", freq=100.0, is_aux=True, aux_ntv_idx=1))
    sos = signal.butter(4, 100.0, "lowpass", fs=FS, output="sos")
    close(y[AIN0 + 1], signal.sosfilt(sos, x[AIN0 + 1].astype(np.float64)))
    untouched = np.setdiff1d(np.arange(N_ROWS), [AIN0 + 1])
    np.testing.assert_array_equal(y[untouched], x[untouched])


def test_causal_filter_is_not_zero_phase(group: LiveDspGroup, x: np.ndarray) -> None:
    """The live chain is causal: sosfilt, not sosfiltfilt (zero phase is refused)."""
    y = run(group, x, DspParams(DspType.LOWPASS, "A", freq=1000.0))
    sos = signal.butter(4, 1000.0, "lowpass", fs=FS, output="sos")
    zero_phase = signal.sosfiltfilt(sos, x[A].astype(np.float64), axis=-1)
    assert np.abs(y[A] - zero_phase).max() > 1.0
    with pytest.raises(InvalidArgument, match="zero-phase"):
        group.set_stage(
            FilterStage.STAGE2, [DspParams(DspType.LOWPASS, "A", freq=1e3, zero_phase=True)]
        )


# -- references vs numpy -------------------------------------------------------------------
def test_car_subtracts_the_port_mean(group: LiveDspGroup, x: np.ndarray) -> None:
    y = run(group, x, DspParams(DspType.CAR, "B"))
    expected = x[B].astype(np.float64) - x[B].astype(np.float64).mean(axis=0)
    close(y[B], expected)
    np.testing.assert_array_equal(y[A], x[A])


def test_virtual_and_paired_references(group: LiveDspGroup, x: np.ndarray) -> None:
    y = run(group, x, DspParams(DspType.VIRTUAL_REFERENCE, "A", ref_ntv_idx=3))
    expected = x[A] - x[3]
    expected[3] = 0.0
    close(y[A], expected)
    np.testing.assert_array_equal(y[B], x[B])
    y = run(group, x, DspParams(DspType.PAIRED_REFERENCE, "A", ref_ntv_idx=20, target_ntv_idx=2))
    close(y[2], x[2] - x[20])
    assert not y[20].any()
    keep = np.setdiff1d(np.arange(N_ROWS), [2, 20])
    np.testing.assert_array_equal(y[keep], x[keep])


def test_steps_run_in_list_order(group: LiveDspGroup, x: np.ndarray) -> None:
    y = run(group, x, DspParams(DspType.CAR, "A"), DspParams(DspType.HIGHPASS, "A", freq=300.0))
    car = x[A].astype(np.float64) - x[A].astype(np.float64).mean(axis=0)
    sos = signal.butter(4, 300.0, "highpass", fs=FS, output="sos")
    close(y[A], signal.sosfilt(sos, car, axis=-1))


# -- chunked == whole ----------------------------------------------------------------------
def test_block_by_block_equals_whole(group: LiveDspGroup, x: np.ndarray) -> None:
    steps = (
        DspParams(DspType.HIGHPASS, "A", freq=300.0),
        DspParams(DspType.NOTCH, "B", freq=60.0, notch_bandwidth=2.0),
        DspParams(DspType.CAR, "A"),
    )
    whole = run(group, x, *steps)
    state = group.stage2_chain.new_state()  # type: ignore[union-attr]
    edges = [0, 1, 31, 30, 3000, 7, 20000]
    bounds = np.cumsum([*edges, x.shape[1] - sum(edges)])
    parts = [state.process(x[:, a:b]) for a, b in itertools.pairwise(bounds)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, rtol=1e-6, atol=1e-4)


def filled_cache(x: np.ndarray, skip: int = 0) -> SignalCache:
    """A cache that saw ``x`` (with ``skip`` leading samples already dropped out of it)."""
    cache = SignalCache(x.shape[0], x.shape[1] - skip + 300, 300)
    for a in range(0, x.shape[1], 300):
        cache.append(np.ascontiguousarray(x[:, a : a + 300]))
    assert cache.oldest == skip
    return cache


def test_read_stage2_with_margin_equals_the_whole_stream(group: LiveDspGroup) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 30, (N_ROWS, 90000)).astype(np.float32)
    steps = (DspParams(DspType.HIGHPASS, "A", freq=100.0), DspParams(DspType.CAR, "A"))
    whole = run(group, x, *steps)
    margin = group.stage2_chain.margin  # type: ignore[union-attr]
    assert 1000 < margin < 20000
    cache = filled_cache(x, skip=30000)  # the cache no longer holds the stream's start
    start, stop = 70000, 75000
    assert start - margin > cache.oldest
    rows = np.array([5, 2, 35], np.intp)  # CAR rows need all of port A; 35 is a GPIO row
    w = group.read_stage2(cache, start, stop, rows)
    assert (w.first_sample, w.n_samples, w.missed) == (start, stop - start, 0)
    np.testing.assert_allclose(w.data, whole[rows, start:stop], rtol=1e-5, atol=1e-3)
    # with no stage 2 it is a plain cache read
    group.set_stage(FilterStage.STAGE2, [])
    plain = group.read_stage2(cache, start, stop, rows)
    np.testing.assert_array_equal(plain.data, x[rows, start:stop])


def test_consecutive_stage2_reads_continue_the_filter_state(group: LiveDspGroup) -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(0, 30, (N_ROWS, 60000)).astype(np.float32)
    whole = run(group, x, DspParams(DspType.BANDPASS, "B", band=(300.0, 3000.0)))
    cache = filled_cache(x)
    reader = Stage2Reader(group.stage2_chain)  # type: ignore[arg-type]
    rows = B.astype(np.intp)
    parts = [reader.read(cache, a, a + 10000, rows).data for a in range(20000, 60000, 10000)]
    np.testing.assert_allclose(
        np.concatenate(parts, axis=1), whole[B, 20000:60000], rtol=1e-5, atol=1e-3
    )
    # a read from the very start of the stream is the filter from rest, exactly
    first = reader.read(cache, 0, 5000, rows)
    np.testing.assert_allclose(first.data, whole[B, :5000], rtol=1e-6, atol=1e-5)


def test_a_window_beyond_the_head_is_clipped_and_missed_is_counted(group: LiveDspGroup) -> None:
    x = np.random.default_rng(5).normal(0, 1, (N_ROWS, 30000)).astype(np.float32)
    stage2(group, DspParams(DspType.HIGHPASS, "A", freq=300.0))
    cache = filled_cache(x, skip=10000)
    w = group.read_stage2(cache, 5000, 40000, None)
    assert (w.first_sample, w.stop_sample, w.missed) == (10000, 30000, 5000)
    assert w.data.shape == (N_ROWS, 20000)


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("step", "message"),
    [
        (DspParams(DspType.HIGHPASS, "A", freq=15000.0), "fs/2"),
        (DspParams(DspType.HIGHPASS, "A", freq=float("nan")), "finite"),
        (DspParams(DspType.HIGHPASS, "A"), "takes freq"),
        (DspParams(DspType.BANDPASS, "A", freq=300.0), "takes a band"),
        (DspParams(DspType.BANDPASS, "A", band=(6000.0, 300.0)), "below"),
        (DspParams(DspType.BANDPASS, "A", band=(300.0, 6000.0), filter_order=3), "even order"),
        (DspParams(DspType.LOWPASS, "A", freq=300.0, filter_order=0), "order"),
        (DspParams(DspType.LOWPASS, "A", freq=300.0, filter_order=40), "order"),
        (DspParams(DspType.NOTCH, "A", freq=60.0), "notch_bandwidth"),
        (DspParams(DspType.NOTCH, "A", freq=60.0, notch_bandwidth=-1.0), "bandwidth"),
        (DspParams(DspType.HIGHPASS, "C", freq=300.0), "not connected"),
        (DspParams(DspType.HIGHPASS, "Z", freq=300.0), "unknown port"),
        (DspParams(DspType.VIRTUAL_REFERENCE, "A"), "reference channel"),
        (DspParams(DspType.VIRTUAL_REFERENCE, "A", ref_ntv_idx=99), "amplifier channel"),
        (DspParams(DspType.PAIRED_REFERENCE, "A", ref_ntv_idx=1), "target channel"),
        (DspParams(DspType.PAIRED_REFERENCE, "A", ref_ntv_idx=1, target_ntv_idx=1), "same"),
        (DspParams(DspType.CAR, "A", is_aux=True, aux_ntv_idx=0), "analog in"),
        (DspParams(DspType.LOWPASS, "A", freq=50.0, is_aux=True, aux_ntv_idx=9), "analog-in"),
        (DspParams(DspType.LOWPASS, "A", freq=50.0, family=7), "family"),  # type: ignore[arg-type]
        (DspParams(9, "A"), "unknown DSP type"),  # type: ignore[arg-type]
    ],
)
def test_bad_steps_are_refused_and_nothing_changes(
    group: LiveDspGroup, step: DspParams, message: str
) -> None:
    good = DspParams(DspType.HIGHPASS, "A", freq=300.0)
    group.set_stage(FilterStage.STAGE2, [good])
    chain, version = group.stage2_chain, group.version
    with pytest.raises(InvalidArgument, match=message):
        group.set_stage(FilterStage.STAGE2, [good, step])
    assert group.stage2 == (good,)
    assert group.stage2_chain is chain and group.version == version


def test_stage_rules(group: LiveDspGroup) -> None:
    hp = DspParams(DspType.HIGHPASS, "A", freq=300.0, stage=FilterStage.STAGE1)
    with pytest.raises(FailedPrecondition, match="no acquisition hardware"):
        group.set_stage(FilterStage.HARDWARE, [hp])
    group.set_stage(FilterStage.HARDWARE, [])  # clearing is fine
    with pytest.raises(FailedPrecondition, match="while recording"):
        group.set_stage(FilterStage.STAGE1, [hp], recording=True)
    with pytest.raises(InvalidArgument, match="unknown filter stage"):
        group.set_stage(3, [hp])
    assert group.stage1 == () and group.stage1_chain is None
    group.set_stage(FilterStage.STAGE2, [hp], recording=True)  # stage 2: any time
    assert group.stage2[0].stage == FilterStage.STAGE2  # stored in the stage it was set in
    assert group.stage(FilterStage.STAGE2) == group.stage2


# -- stage 1 on the acquisition source, stage 2 in the spike feeder ------------------------
class ArraySource:
    def __init__(self, x: np.ndarray) -> None:
        self.x, self.next_sample = x, 0

    def generate(self, n: int) -> np.ndarray:
        block = self.x[:, self.next_sample : self.next_sample + n].copy()
        self.next_sample += n
        return block

    def reset(self) -> None:
        self.next_sample = 0


def test_stage1_source_filters_blocks_with_state(group: LiveDspGroup, x: np.ndarray) -> None:
    source = Stage1Source(ArraySource(x), lambda: group)
    raw = source.generate(30)
    np.testing.assert_array_equal(raw, x[:, :30])  # no stage 1: untouched
    group.set_stage(FilterStage.STAGE1, [DspParams(DspType.HIGHPASS, "B", freq=300.0)])
    got = np.concatenate([source.generate(30) for _ in range(100)], axis=1)
    sos = signal.butter(4, 300.0, "highpass", fs=FS, output="sos")
    close(got[B], signal.sosfilt(sos, x[B, 30:3030].astype(np.float64), axis=-1))
    np.testing.assert_array_equal(got[A], x[A, 30:3030])


class CollectingEngine:
    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.lock = threading.Lock()

    def detect(self, rows: np.ndarray, first: int) -> int:
        with self.lock:
            self.rows.append(rows.copy())
        return 0

    def maintain(self, n_samples: int) -> None:
        pass


def test_spike_feeder_sees_stage2_with_per_block_state(group: LiveDspGroup, x: np.ndarray) -> None:
    steps = (DspParams(DspType.HIGHPASS, "A", freq=300.0), DspParams(DspType.CAR, "B"))
    whole = run(group, x, *steps)
    engine = CollectingEngine()
    n_amp = 2 * N_PORT
    feeder = SpikeFeeder(
        engine,  # type: ignore[arg-type]
        n_amp,
        on_processed=lambda: None,
        stage2=lambda: group.stage2_chain,
    )
    blocks = [np.ascontiguousarray(x[:, a : a + 30]) for a in range(0, 6000, 30)]
    for k, block in enumerate(blocks):
        feeder.offer(block, 30 * k)
    feeder.stop()
    got = np.concatenate(engine.rows, axis=1)
    np.testing.assert_allclose(got, whole[:n_amp, :6000], rtol=1e-5, atol=1e-3)
    for k, block in enumerate(blocks):  # the blocks other sinks share were not modified
        np.testing.assert_array_equal(block, x[:, 30 * k : 30 * k + 30])


def test_spike_feeder_without_stage2_passes_rows_through(x: np.ndarray) -> None:
    engine = CollectingEngine()
    feeder = SpikeFeeder(engine, 2 * N_PORT, on_processed=lambda: None)  # type: ignore[arg-type]
    feeder.offer(np.ascontiguousarray(x[:, :30]), 0)
    feeder.stop()
    np.testing.assert_array_equal(engine.rows[0], x[: 2 * N_PORT, :30])
