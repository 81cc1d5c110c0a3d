from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import signal

from radiens_async.hub.daq.channel_layout import (
    ChannelLayout,
    ChannelSpec,
    StreamSignalType,
)
from radiens_async.hub.daq.sensors_catalog import build_layout, default_sim_sensors
from radiens_async.hub.daq.sim_waveforms import BLOCK_SAMPLES
from radiens_async.hub.daq.simulator import SIM_MODES, DeviceSimulator

VALID_FS = (625, 1000, 1250, 1500, 2000, 2500, 3000, 3333, 4000, 5000, 6250, 8000, 10000,
            12500, 15000, 20000, 25000, 30000)  # fmt: skip
SINE_MODES = (
    "smartbox_sim_gen_sine",
    "smartbox_sim_gen_sine_mapped",
    "smartbox_sim_gen_sine_high_freq",
)


@pytest.fixture(scope="module")
def layout32() -> ChannelLayout:
    return build_layout(default_sim_sensors(32), n_ain=2, n_din=2, n_dout=2)


def _amp(sim: DeviceSimulator, n: int) -> np.ndarray:
    n_amp = sim.layout.count(StreamSignalType.AMP)
    return sim.generate(n)[:n_amp].astype(np.float64)


# --- determinism --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", SIM_MODES)
def test_output_does_not_depend_on_call_split(mode: str, layout32: ChannelLayout) -> None:
    total = 2 * BLOCK_SAMPLES + 1000
    a = DeviceSimulator(mode, 30000.0, layout32, seed=3)
    whole = a.generate(total)
    assert whole.dtype == np.float32 and whole.flags.c_contiguous
    assert whole.shape == (38, total) and a.next_sample == total

    b = DeviceSimulator(mode, 30000.0, layout32, seed=3)
    parts = [b.generate(30) for _ in range(total // 30)]
    parts.append(b.generate(total - 30 * (total // 30)))
    np.testing.assert_array_equal(np.hstack(parts), whole)

    c = DeviceSimulator(mode, 30000.0, layout32, seed=3)
    uneven = [c.generate(n) for n in (7, 0, BLOCK_SAMPLES - 7, 1, 5000)]
    uneven.append(c.generate(total - sum(p.shape[1] for p in uneven)))
    np.testing.assert_array_equal(np.hstack(uneven), whole)

    a.reset()
    assert a.next_sample == 0
    np.testing.assert_array_equal(a.generate(total), whole)


@pytest.mark.parametrize("mode", SIM_MODES)
def test_seeds_differ(mode: str, layout32: ChannelLayout) -> None:
    x = DeviceSimulator(mode, 30000.0, layout32, seed=1).generate(3000)
    y = DeviceSimulator(mode, 30000.0, layout32, seed=2).generate(3000)
    assert not np.array_equal(x[:32], y[:32])
    np.testing.assert_array_equal(x[32:36], y[32:36])  # GPIO is seed independent


def test_generate_zero_and_continuity(layout32: ChannelLayout) -> None:
    sim = DeviceSimulator("smartbox_sim_gen_sine", 1000.0, layout32)
    assert sim.generate(0).shape == (38, 0)
    assert sim.next_sample == 0
    first = sim.generate(10)
    out = sim.generate(10)
    assert sim.next_sample == 20
    assert not np.shares_memory(first, out)


# --- sine modes ---------------------------------------------------------------------------


def _welch_peaks(x: np.ndarray, fs: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    f, p = signal.welch(x, fs=fs, nperseg=nperseg, axis=-1)
    return f, p


@pytest.mark.parametrize("mode", SINE_MODES)
@pytest.mark.parametrize("fs", [2000.0, 30000.0])
def test_sine_psd_peaks_at_configured_frequency(
    mode: str, fs: float, layout32: ChannelLayout
) -> None:
    sim = DeviceSimulator(mode, fs, layout32, seed=5)
    freqs = sim.sine_frequencies_hz
    assert freqs is not None and freqs.shape == (32,)
    assert len(np.unique(freqs)) == 32
    assert np.all(freqs < fs / 2)
    nperseg = int(fs * 2)  # 0.5 Hz bins
    x = _amp(sim, nperseg * 8)
    f, p = _welch_peaks(x, fs, nperseg)
    df = f[1] - f[0]
    peak = f[np.argmax(p, axis=1)]
    np.testing.assert_array_less(np.abs(peak - freqs), df * 1.0001)
    # ~100 µV amplitude: the sine carries 100²/2 µV² of power
    power = np.sum(p * df, axis=1) - 6.0**2
    np.testing.assert_allclose(power, 100.0**2 / 2, rtol=0.1)


def test_sine_band_ranges(layout32: ChannelLayout) -> None:
    low = DeviceSimulator("smartbox_sim_gen_sine", 30000.0, layout32).sine_frequencies_hz
    high = DeviceSimulator("smartbox_sim_gen_sine_high_freq", 30000.0, layout32).sine_frequencies_hz
    assert low is not None and high is not None
    assert low.min() == pytest.approx(1.0) and low.max() == pytest.approx(100.0)
    assert high.min() == pytest.approx(300.0) and high.max() == pytest.approx(5000.0)


def test_sine_mapped_follows_site_depth(layout32: ChannelLayout) -> None:
    sim = DeviceSimulator("smartbox_sim_gen_sine_mapped", 30000.0, layout32)
    freqs = sim.sine_frequencies_hz
    assert freqs is not None
    amp = layout32.of_type(StreamSignalType.AMP)
    sites = [c.site for c in amp]
    assert all(s is not None for s in sites)
    order = sorted(range(32), key=lambda i: (sites[i].y_um, sites[i].x_um))  # type: ignore[union-attr]
    assert np.all(np.diff(freqs[order]) > 0)
    # neighbouring sites -> neighbouring frequencies
    step = np.diff(np.sort(freqs)).max()
    for i in range(32):
        for j in range(32):
            si, sj = sites[i], sites[j]
            assert si is not None and sj is not None
            if i != j and abs(si.y_um - sj.y_um) <= 25.0:
                assert abs(freqs[i] - freqs[j]) <= 3 * step + 1e-9


def test_multi_band_has_all_components(layout32: ChannelLayout) -> None:
    fs = 1000.0
    sim = DeviceSimulator("smartbox_sim_gen_sine_multi_band", fs, layout32, seed=9)
    bands = sim.band_frequencies_hz
    assert bands is not None and bands.shape == (32, 6)
    assert sim.sine_frequencies_hz is None
    assert sim.band_names == ("delta", "theta", "alpha", "beta", "gamma", "high")
    edges = [(1, 4), (4, 8), (8, 13), (13, 30), (30, 100), (120, 240)]
    for k, (lo, hi) in enumerate(edges):
        assert np.all((bands[:, k] >= lo) & (bands[:, k] <= hi))
    nperseg = 8192
    x = _amp(sim, nperseg * 8)
    f, p = _welch_peaks(x, fs, nperseg)
    df = f[1] - f[0]
    floor = np.median(p, axis=1)
    for ch in range(32):
        for comp in bands[ch]:
            k = round(comp / df)
            window = p[ch, k - 2 : k + 3]
            local_peak = f[k - 2 + int(np.argmax(window))]
            assert abs(local_peak - comp) <= df * 1.0001
            assert window.max() > 1000 * floor[ch]


@pytest.mark.parametrize("fs", VALID_FS)
def test_every_valid_fs(fs: int, layout32: ChannelLayout) -> None:
    for mode in SIM_MODES:
        sim = DeviceSimulator(mode, float(fs), layout32, seed=1)
        x = sim.generate(BLOCK_SAMPLES + 100)
        assert x.shape == (38, BLOCK_SAMPLES + 100)
        assert np.all(np.isfinite(x))
        if sim.sine_frequencies_hz is not None:
            assert np.all(sim.sine_frequencies_hz < 0.4 * fs + 1e-9)
        if sim.band_frequencies_hz is not None:
            assert np.all(sim.band_frequencies_hz < 0.4 * fs + 1e-9)


# --- GPIO ---------------------------------------------------------------------------------


def test_gpio_units_and_waveforms(layout32: ChannelLayout) -> None:
    fs = 1000.0
    sim = DeviceSimulator("smartbox_sim_gen_spikes", fs, layout32)
    x = sim.generate(5000).astype(np.float64)
    ain, din = x[32:34], x[34:36]
    t = np.arange(5000) / fs
    np.testing.assert_allclose(ain[0], 0.5 * np.sin(2 * np.pi * 1.0 * t), atol=1e-6)
    np.testing.assert_allclose(ain[1], 0.5 * np.sin(2 * np.pi * 1.5 * t), atol=1e-6)
    expected = ((t % 1.0) < 0.5).astype(np.float64)
    np.testing.assert_array_equal(din[0], expected)
    np.testing.assert_array_equal(din[1], 0.0)
    np.testing.assert_array_equal(x[36:], 0.0)


def test_digital_out_takes_effect_at_next_sample(layout32: ChannelLayout) -> None:
    sim = DeviceSimulator("smartbox_sim_gen_sine", 30000.0, layout32)
    sim.generate(4090)
    sim.set_digital_out(1, True)
    assert sim.digital_out_state == (False, True)
    a = sim.generate(30)  # crosses a block boundary
    sim.set_digital_out(1, False)
    sim.set_digital_out(0, True)
    b = sim.generate(1)
    np.testing.assert_array_equal(a[36], 0.0)
    np.testing.assert_array_equal(a[37], 1.0)
    assert b[36, 0] == 1.0 and b[37, 0] == 0.0
    with pytest.raises(KeyError, match="no digital output 2"):
        sim.set_digital_out(2, True)
    with pytest.raises(KeyError):
        sim.set_digital_out(-1, True)
    sim.reset()
    assert sim.digital_out_state == (False, False)
    assert np.all(sim.generate(10)[36:] == 0.0)


# --- spikes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spikes_run(layout32: ChannelLayout) -> tuple[DeviceSimulator, np.ndarray]:
    sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout32, seed=11, noise_uv=6.0)
    x = sim.generate(20 * 30000)[:32]
    return sim, x


def test_units_ground_truth_fields(spikes_run: tuple[DeviceSimulator, np.ndarray]) -> None:
    sim, _ = spikes_run
    units = sim.units()
    assert 8 <= len(units) <= 12
    assert [u.unit_id for u in units] == list(range(1, len(units) + 1))
    snrs = np.array([u.snr for u in units])
    assert snrs.min() == pytest.approx(3.0) and snrs.max() == pytest.approx(15.0)
    for u in units:
        assert 2.0 <= u.rate_hz <= 20.0
        assert u.refractory_s >= 2e-3
        assert u.channels[0] == u.peak_channel and 0 <= u.peak_channel < 32
        assert u.template.shape == (len(u.channels), u.template.shape[1])
        assert 0.0015 <= u.template.shape[1] / 30000.0 <= 0.0025
        assert u.trough_uv == pytest.approx(-u.snr * 6.0, rel=1e-5)
        assert u.template[0, u.trough_index] == pytest.approx(u.trough_uv)
        assert int(np.argmin(u.template[0])) == u.trough_index
        # negative trough dominates, amplitude decays away from the peak channel
        assert u.template[0].max() < 0.6 * abs(u.trough_uv)
        mins = u.template.min(axis=1)
        assert np.all(np.abs(mins[1:]) <= abs(mins[0]))
        assert len(u.channels) > 1


def test_ground_truth_is_consistent(spikes_run: tuple[DeviceSimulator, np.ndarray]) -> None:
    sim, _ = spikes_run
    gt = sim.ground_truth(0, 20 * 30000)
    assert gt.dtype.names == ("sample_index", "unit_id", "channel")
    assert gt["sample_index"].dtype == np.int64 and gt["unit_id"].dtype == np.int32
    assert np.all(np.diff(gt["sample_index"]) >= 0)
    peaks = {u.unit_id: u.peak_channel for u in sim.units()}
    assert all(peaks[int(u)] == int(c) for u, c in zip(gt["unit_id"], gt["channel"], strict=True))
    cut = 123_457
    joined = np.concatenate([sim.ground_truth(0, cut), sim.ground_truth(cut, 20 * 30000)])
    np.testing.assert_array_equal(joined, gt)
    # a fresh simulator gives the same truth without generating anything
    again = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, sim.layout, seed=11)
    np.testing.assert_array_equal(again.ground_truth(0, 20 * 30000), gt)
    assert len(sim.ground_truth(500, 500)) == 0
    assert (
        len(DeviceSimulator("smartbox_sim_gen_sine", 30000.0, sim.layout).ground_truth(0, 10**6))
        == 0
    )


def test_refractory_and_rates(spikes_run: tuple[DeviceSimulator, np.ndarray]) -> None:
    sim, _ = spikes_run
    duration = 20.0
    gt = sim.ground_truth(0, int(duration * 30000))
    for u in sim.units():
        t = gt["sample_index"][gt["unit_id"] == u.unit_id]
        assert np.all(np.diff(t) >= round(u.refractory_s * 30000))
        expected = u.rate_hz * duration
        assert abs(len(t) - expected) <= 4 * np.sqrt(expected) + 0.05 * expected


def test_noise_sd_on_band_passed_trace(spikes_run: tuple[DeviceSimulator, np.ndarray]) -> None:
    sim, x = spikes_run
    fs = 30000.0
    sos = signal.butter(3, [300, 6000], btype="bandpass", fs=fs, output="sos")
    ref = signal.sosfiltfilt(sos, np.random.default_rng(0).standard_normal(x.shape[1]))
    gain = np.median(np.abs(ref)) / 0.6745  # robust SD of filtered unit white noise
    filtered = signal.sosfiltfilt(sos, x.astype(np.float64), axis=1)
    robust_sd = np.median(np.abs(filtered), axis=1) / 0.6745
    np.testing.assert_allclose(robust_sd / gain, sim.noise_uv, rtol=0.10)
    # the raw trace holds noise + a background of tens of µV, not more
    assert 6.0 < np.std(x, axis=1).mean() < 60.0


def test_troughs_line_up_with_ground_truth(layout32: ChannelLayout) -> None:
    fs = 30000.0
    sim = DeviceSimulator("smartbox_sim_gen_spikes", fs, layout32, seed=11)
    chunk = 30000
    n_chunks = 60
    pre, post = 45, 30
    base = slice(0, 15)  # 1.5 .. 1.0 ms before the trough: outside every template
    sums: dict[int, np.ndarray] = {u.unit_id: np.zeros(pre + post) for u in sim.units()}
    counts = dict.fromkeys(sums, 0)
    peaks = {u.unit_id: u.peak_channel for u in sim.units()}
    for c in range(n_chunks):
        x = sim.generate(chunk)
        for t, uid in zip(*(sim.ground_truth(c * chunk, (c + 1) * chunk)[f].tolist()
                            for f in ("sample_index", "unit_id")), strict=True):  # fmt: skip
            i = t - c * chunk
            if i - pre < 0 or i + post > chunk:
                continue
            snippet = x[peaks[uid], i - pre : i + post].astype(np.float64)
            sums[uid] += snippet - snippet[base].mean()
            counts[uid] += 1
    for u in sim.units():
        mean = sums[u.unit_id] / counts[u.unit_id]
        assert counts[u.unit_id] > 60
        assert mean[pre] == pytest.approx(u.trough_uv, rel=0.10)
        if u.snr >= 5:
            assert int(np.argmin(mean)) == pre


def test_spike_units_without_geometry() -> None:
    layout = build_layout(default_sim_sensors(16), 0, 0, 0)
    bare = ChannelLayout(
        channels=tuple(
            ChannelSpec(c.signal_type, c.ntv_idx, c.sys_idx, c.port, c.chan_name, c.ntv_chan_name)
            for c in layout.channels
        )
    )
    sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, bare, seed=2)
    units = sim.units()
    assert 4 <= len(units) <= 6
    for u in units:
        # adjacency fallback: the unit reaches the channels around its peak, nearest first
        distance = np.abs(u.channels - u.peak_channel)
        assert np.all(np.diff(distance) >= 0) and distance.max() <= 6
    x = sim.generate(30000)
    assert np.all(np.isfinite(x))


def test_spikes_layout_with_unconnected_channels() -> None:
    from radiens_async.hub.daq.channel_layout import PortSensor

    layout = build_layout([PortSensor("B", "smartlink_128", "buz32", 64)], 0, 0, 0)
    sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=2)
    assert all(u.channels.max() < 32 for u in sim.units())
    assert sim.generate(100).shape == (64, 100)


# --- validation and cost ------------------------------------------------------------------


def test_bad_inputs(layout32: ChannelLayout) -> None:
    with pytest.raises(ValueError, match="unknown simulator mode"):
        DeviceSimulator("smartbox_pro", 30000.0, layout32)
    for fs in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fs"):
            DeviceSimulator("smartbox_sim_gen_sine", fs, layout32)
    with pytest.raises(ValueError, match="seed"):
        DeviceSimulator("smartbox_sim_gen_sine", 1000.0, layout32, seed=-1)
    with pytest.raises(ValueError, match="noise_uv"):
        DeviceSimulator("smartbox_sim_gen_sine", 1000.0, layout32, noise_uv=-1.0)
    with pytest.raises(ValueError, match="noise_uv"):
        DeviceSimulator("smartbox_sim_gen_spikes", 1000.0, layout32, noise_uv=0.0)
    sim = DeviceSimulator("smartbox_sim_gen_sine", 1000.0, layout32, noise_uv=0.0)
    with pytest.raises(ValueError, match="n_samples"):
        sim.generate(-1)
    shuffled = ChannelLayout(channels=layout32.channels[::-1])
    with pytest.raises(ValueError, match="sys order"):
        DeviceSimulator("smartbox_sim_gen_sine", 1000.0, shuffled)


def test_noiseless_sine_is_exact(layout32: ChannelLayout) -> None:
    fs = 3333.0
    sim = DeviceSimulator("smartbox_sim_gen_sine", fs, layout32, noise_uv=0.0)
    x = _amp(sim, 3 * BLOCK_SAMPLES)
    freqs = sim.sine_frequencies_hz
    assert freqs is not None
    k = np.arange(x.shape[1])
    for ch in range(32):
        w = 2 * np.pi * freqs[ch] * k / fs
        basis = np.stack([np.sin(w), np.cos(w)], axis=1)
        coef, *_ = np.linalg.lstsq(basis, x[ch], rcond=None)
        assert np.hypot(*coef) == pytest.approx(100.0, rel=1e-4)
        np.testing.assert_allclose(x[ch], basis @ coef, atol=0.05)


def test_generation_cost_1024_channels() -> None:
    """Loose guard; the precise figure is measured by the benchmark script in the report."""
    layout = build_layout(default_sim_sensors(1024), 8, 2, 2)
    sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=1)
    sim.generate(30)
    seconds = 0.5
    start = time.process_time()
    for _ in range(int(seconds * 1000)):
        sim.generate(30)
    cpu_per_second = (time.process_time() - start) / seconds
    assert cpu_per_second < 1.0


# --- blocks built ahead on a worker thread --------------------------------------------------


@pytest.mark.parametrize("mode", ["smartbox_sim_gen_spikes", "smartbox_sim_gen_sine_multi_band"])
def test_prefetched_blocks_equal_blocks_built_in_place(mode: str) -> None:
    layout = build_layout(default_sim_sensors(128), n_ain=2, n_din=2, n_dout=2)
    assert layout.n_channels * BLOCK_SAMPLES >= 64 * 4096  # large enough to prefetch
    whole = DeviceSimulator(mode, 30000.0, layout, seed=3).generate(12357)
    sim = DeviceSimulator(mode, 30000.0, layout, seed=3)
    pieces = [sim.generate(n) for n in (30, 4000, 4096, 1, 4200, 30)]
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole[:, :12357])


def test_reset_with_a_block_in_flight_restarts_the_same_samples() -> None:
    layout = build_layout(default_sim_sensors(128), n_ain=0, n_din=0, n_dout=2)
    sim = DeviceSimulator("smartbox_sim_gen_spikes", 30000.0, layout, seed=5)
    first = sim.generate(5000)
    sim.set_digital_out(1, True)
    sim.reset()
    np.testing.assert_array_equal(sim.generate(5000), first)
