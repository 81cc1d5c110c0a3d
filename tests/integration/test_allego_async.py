"""AsyncAllegoClient against a real hub: every method's result and its bad-input error."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np
import pytest
from scipy import signal as sps

import radiens_async as radiens
from radiens_async.errors import (
    ClientClosed,
    FailedPrecondition,
    InvalidArgument,
)
from radiens_async.utils import (
    HEADSTAGE_ALIAS,
    PROBE_ALIAS,
    VALID_SAMPLING_FREQS,
    SignalType,
    SystemMode,
    is_simulator,
)

pytestmark = pytest.mark.anyio

SIM_MODES = [m for m in SystemMode if is_simulator(m)]
HW_MODES = [m for m in SystemMode if not is_simulator(m)]


async def test_hub_service(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        health = await allego.hub_health()
        assert health.serving and health.uptime_s > 0 and health.pid > 0
        version = await allego.hub_version()
        assert version.hub_version == radiens.__version__
        assert version.protocol_version == "radiens.v1"
        caps = await allego.hub_capabilities()
        assert "radiens.v1.Allego" in caps.services
        assert set(caps.simulator_modes) == {m.name.lower() for m in SIM_MODES}
        assert caps.sampling_freqs == tuple(float(f) for f in VALID_SAMPLING_FREQS)
        assert not caps.auth_required


@pytest.mark.parametrize("mode", SIM_MODES, ids=lambda m: m.name.lower())
async def test_restart_every_sim_mode(address: str, mode: SystemMode) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart(mode.name.lower())
        status = await allego.get_status()
        assert status.system_mode == mode
        assert status.stream.mode == "S_OFF"
        assert status.sample_freq == 30000.0
        assert status.port_num_channels == {radiens.utils.Port.A: 32}
        assert status.connected


@pytest.mark.parametrize(
    ("alias", "mode"),
    [
        ("sim-spikes", SystemMode.SMARTBOX_SIM_GEN_SPIKES),
        ("SMARTBOX_SIM_GEN_SINE", SystemMode.SMARTBOX_SIM_GEN_SINE),
        ("smartbox-sim-gen-sine-mapped", SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED),
        (
            int(SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ),
            SystemMode.SMARTBOX_SIM_GEN_SINE_HIGH_FREQ,
        ),
        (SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND, SystemMode.SMARTBOX_SIM_GEN_SINE_MULTI_BAND),
    ],
)
async def test_restart_aliases(address: str, alias: object, mode: SystemMode) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart(alias)  # type: ignore[arg-type]
        assert (await allego.get_status()).system_mode == mode


@pytest.mark.parametrize("mode", HW_MODES, ids=lambda m: m.name.lower())
async def test_restart_hardware_mode_fails_and_changes_nothing(
    address: str, mode: SystemMode
) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-sine")
        await allego.set_sampling_freq(20000)
        with pytest.raises(FailedPrecondition, match=r"no .* hardware detected"):
            await allego.restart(mode.name.lower())
        status = await allego.get_status()
        assert status.system_mode == SystemMode.SMARTBOX_SIM_GEN_SINE
        assert status.sample_freq == 20000.0
        assert (await allego.hub_health()).serving


@pytest.mark.parametrize("bad", ["sim-unicorn", "", "smartbox_sim_gen", 999])
async def test_restart_unknown_mode(address: str, bad: object) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        with pytest.raises(InvalidArgument, match="Invalid SystemMode value"):
            await allego.restart(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await allego.restart(None)  # type: ignore[arg-type]
        assert (await allego.hub_health()).serving


async def test_restart_bad_channel_count(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        for bad in (0, -4, 100, 2048):
            with pytest.raises(InvalidArgument):
                await allego.restart("sim-spikes", num_channels=bad)
        assert (await allego.get_status()).port_num_channels == {radiens.utils.Port.A: 32}


async def test_status_and_print(address: str, capsys: pytest.CaptureFixture[str]) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        await asyncio.sleep(0.3)
        status = await allego.get_status()
        assert status.stream.mode == "S_ON"
        t0, t1 = status.stream.time_range
        assert t0 == 0.0 and 0.2 < t1 < 5.0
        assert status.recording.mode == "R_OFF"
        assert status.gpio == (2, 2, 2)
        status.print()
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "ALLEGO status:"
        assert lines[1] == "stream       : S_ON"
        assert lines[2].startswith("  time range : [0.000, ")
        assert lines[4] == "recording         : R_OFF"
        with pytest.raises(ValueError, match="detail must be"):
            status.print("all")
        await allego.set_streaming("off")
        assert (await allego.get_status()).stream.mode == "S_OFF"


async def test_set_streaming_bad_input(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        with pytest.raises(ValueError, match="Invalid StreamMode value"):
            await allego.set_streaming("maybe")
        with pytest.raises(TypeError):
            await allego.set_streaming(None)  # type: ignore[arg-type]
        assert (await allego.get_status()).stream.mode == "S_OFF"
        # idempotent: on twice, off twice
        await allego.set_streaming(True)
        await allego.set_streaming(1)
        await allego.set_streaming("OFF")
        await allego.set_streaming(radiens.utils.StreamMode.OFF)


async def test_sampling_freq(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-sine")
        for fs in VALID_SAMPLING_FREQS:
            await allego.set_sampling_freq(fs)
            assert (await allego.get_status()).sample_freq == fs
        for bad in (0, -30000, 44100, 30000.5, float("nan"), float("inf")):
            with pytest.raises(InvalidArgument, match="sampling frequency"):
                await allego.set_sampling_freq(bad)
        with pytest.raises(InvalidArgument):
            await allego.set_sampling_freq("fast")  # type: ignore[arg-type]
        assert (await allego.get_status()).sample_freq == VALID_SAMPLING_FREQS[-1]
        await allego.set_streaming("on")
        with pytest.raises(FailedPrecondition, match="while streaming"):
            await allego.set_sampling_freq(1000)
        assert (await allego.get_status()).sample_freq == 30000.0
        await allego.set_streaming("off")


async def test_stream_loop_duration(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        assert await allego.get_stream_loop_dur_ms() == pytest.approx(1.0)
        await allego.set_sampling_freq(3333)
        ms = await allego.get_stream_loop_dur_ms()
        assert ms == pytest.approx(3 * 1000 / 3333)  # whole samples per block


async def test_channel_metadata(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        meta = await allego.get_channel_metadata()
        assert meta.num_sigs(SignalType.AMP) == 32
        assert meta.num_sigs(SignalType.AIN) == 2
        assert meta.num_sigs(SignalType.DIN) == 2
        assert meta.num_sigs(SignalType.DOUT) == 2
        assert meta.num_sigs_total() == 38
        amp = meta.index(SignalType.AMP)
        assert amp.ntv == list(range(32)) and amp.sys == list(range(32)) and amp.dset == amp.ntv
        ain = meta.index(SignalType.AIN)
        assert ain.ntv == [0, 1] and ain.sys == [32, 33]
        assert meta.index(SignalType.DOUT).sys == [36, 37]
        table = meta.table
        assert table.index.name == "dyn_sort_idx"
        assert list(table["port"].iloc[:32]) == ["A"] * 32
        # probe geometry: 32 distinct site positions on the poly3 probe, all in µm
        xy = table.loc[table["chan_type"] == SignalType.AMP, ["site_ctr_x", "site_ctr_y"]]
        assert len({tuple(r) for r in xy.to_numpy()}) == 32
        assert xy["site_ctr_y"].max() > 100
        spec = meta.sensor_spec
        assert set(spec) == set("ABCDEFGH") and len(spec["A"]) == 1 and spec["B"] == []
        assert meta.attributes["fs"] == 30000.0
        with pytest.raises(ValueError, match="stype not in signal map"):
            meta.index("amp")  # type: ignore[arg-type]


async def test_sensors(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        sensors = await allego.get_available_sensors()
        assert set(sensors) == {"headstages", "probes"}
        for target in HEADSTAGE_ALIAS.values():
            assert target in sensors["headstages"]
        for target in PROBE_ALIAS.values():
            assert target in sensors["probes"]
        assert not any(k.startswith(("hstg__", "probe__")) for d in sensors.values() for k in d)
        await allego.set_sensor("A", "smart-32", "4x8-32")
        meta = await allego.get_channel_metadata()
        amp_rows = meta.table[meta.table["chan_type"] == SignalType.AMP]
        assert set(amp_rows["probe_id"]) == {PROBE_ALIAS["4x8-32"]}
        assert set(amp_rows["headstage_id"]) == {HEADSTAGE_ALIAS["smart-32"]}
        with pytest.warns(UserWarning, match="does not match headstage"):
            await allego.set_sensor("A", "pass-64", "8x8-64")
        assert (await allego.get_status()).port_num_channels == {radiens.utils.Port.A: 64}
        await allego.set_sensor(radiens.utils.Port.A, "hstg__passthrough_32", "probe__buz32")


async def test_sensors_bad_input(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        before = (await allego.get_channel_metadata()).table.copy()
        with pytest.raises(ValueError, match="port B is not valid"):
            await allego.set_sensor("B", "smart-32", "4x8-32")
        with pytest.raises(ValueError, match="Invalid Port value"):
            await allego.set_sensor("Z", "smart-32", "4x8-32")
        with pytest.raises(ValueError, match="headstage no-such is not an alias"):
            await allego.set_sensor("A", "no-such", "4x8-32")
        with pytest.raises(ValueError, match="probe no-such is not an alias"):
            await allego.set_sensor("A", "smart-32", "no-such")
        after = (await allego.get_channel_metadata()).table
        assert before.equals(after)


async def test_get_signals_cursor_is_contiguous(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        await asyncio.sleep(0.2)
        await allego.set_time_to_cache_head()
        previous_stop = None
        total = 0
        for _ in range(5):
            await asyncio.sleep(0.05)
            sig = await allego.get_signals()
            assert sig.data.dtype == np.float32 and sig.data.shape[0] == 38
            assert not sig.data.flags.writeable
            t0, t1 = sig.time_range
            assert t1 - t0 == pytest.approx(sig.n_samples / 30000.0)
            if previous_stop is not None:
                assert sig.first_sample == previous_stop
                assert t0 == pytest.approx(previous_stop / 30000.0)
            previous_stop = sig.stop_sample
            total += sig.n_samples
            assert sig.missed_samples == 0
        assert total > 0.2 * 30000
        with pytest.raises(InvalidArgument):
            await allego.get_signals(max_samples=-1)
        capped = await allego.get_signals(max_samples=10)
        assert capped.n_samples <= 10
        await allego.set_streaming("off")


async def test_stream_ten_seconds_no_gaps(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        expected = None
        received = 0
        async with contextlib.aclosing(allego.stream_signals()) as chunks:
            async for chunk in chunks:
                assert chunk.missed_samples == 0
                assert chunk.data.shape[0] == 38
                if expected is not None:
                    assert chunk.first_sample == expected
                expected = chunk.stop_sample
                received += chunk.n_samples
                if received >= 10 * 30000:
                    break
        assert received >= 300000
        await allego.set_streaming("off")


async def test_stream_bad_input(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        with pytest.raises(FailedPrecondition, match="streaming is off"):
            async for _ in allego.stream_signals():
                pass
        await allego.set_streaming("on")
        with pytest.raises(InvalidArgument, match="unknown channel"):
            async for _ in allego.stream_signals(channels=[0, 38]):
                pass
        with pytest.raises(InvalidArgument, match="from_sample"):
            async for _ in allego.stream_signals(start=-5):
                pass
        with pytest.raises(InvalidArgument):
            async for _ in allego.stream_signals(start="tail"):  # type: ignore[arg-type]
                pass
        # channel selection works and the hub still streams
        async with contextlib.aclosing(allego.stream_signals(channels=[3, 36])) as chunks:
            async for chunk in chunks:
                assert chunk.data.shape[0] == 2
                break
        await allego.set_streaming("off")


def _psd_peak(x: np.ndarray, fs: float) -> float:
    f, p = sps.welch(x, fs=fs, nperseg=min(len(x), 1 << 14))
    return float(f[np.argmax(p[1:]) + 1])


@pytest.mark.parametrize(
    "mode",
    ["smartbox_sim_gen_sine", "smartbox_sim_gen_sine_mapped", "smartbox_sim_gen_sine_high_freq"],
)
async def test_sine_spectra_peak_at_configured_frequencies(address: str, mode: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart(mode)
        truth = await allego.get_ground_truth()
        freqs = np.asarray(truth.sine_frequencies_hz)
        assert freqs.size == 32 and np.all(freqs > 0) and np.all(freqs < 15000)
        await allego.set_streaming("on")
        await asyncio.sleep(2.2)
        data = []
        async with contextlib.aclosing(allego.stream_signals(start="oldest")) as chunks:
            async for chunk in chunks:
                data.append(chunk.data[:32])
                if sum(d.shape[1] for d in data) >= 60000:
                    break
        await allego.set_streaming("off")
        x = np.concatenate(data, axis=1)[:, :60000]
        resolution = 30000 / (1 << 14)
        for ch in range(32):
            assert abs(_psd_peak(x[ch], 30000.0) - freqs[ch]) <= 1.5 * resolution + 1e-9, ch


async def test_multi_band_spectra_peak_at_band_frequencies(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("smartbox_sim_gen_sine_multi_band")
        truth = await allego.get_ground_truth()
        assert truth.band_names == ("delta", "theta", "alpha", "beta", "gamma", "high")
        assert truth.band_frequencies_hz.shape == (32, 6)
        await allego.set_streaming("on")
        await asyncio.sleep(2.2)
        x = await _collect(allego, 60000)
        await allego.set_streaming("off")
    f, p = sps.periodogram(x, fs=30000.0, window="hann", axis=1)
    # bands above 13 Hz are resolved by a 2 s window (0.5 Hz bins); bins within 1.5 Hz of the
    # channel's other components are masked so their leakage cannot win
    bands = radiens_bands()
    for band in (3, 4, 5):
        lo, hi = bands[band][1], bands[band][2]
        for ch in range(32):
            others = np.delete(truth.band_frequencies_hz[ch], band)
            near_other = np.min(np.abs(f[:, None] - others[None, :]), axis=1) < 1.5
            inside = (f >= lo) & (f <= hi) & ~near_other
            peak = f[inside][np.argmax(p[ch, inside])]
            assert abs(peak - truth.band_frequencies_hz[ch, band]) <= 0.5, (band, ch)


def radiens_bands() -> tuple[tuple[str, float, float, float], ...]:
    from radiens_async.hub.daq.simulator import BANDS

    return BANDS


async def _collect(allego: radiens.AsyncAllegoClient, n: int) -> np.ndarray:
    data = []
    async with contextlib.aclosing(allego.stream_signals(start="oldest")) as chunks:
        async for chunk in chunks:
            data.append(chunk.data[:32])
            if sum(d.shape[1] for d in data) >= n:
                break
    return np.concatenate(data, axis=1)[:, :n]


async def test_closed_client_refuses(address: str) -> None:
    allego = radiens.AsyncAllegoClient(address)
    await allego.open()
    await allego.aclose()
    for call in (
        allego.get_status(),
        allego.get_stream_loop_dur_ms(),
        allego.get_channel_metadata(),
        allego.get_available_sensors(),
        allego.set_time_to_cache_head(),
        allego.get_ground_truth(),
    ):
        with pytest.raises(ClientClosed):
            await call


async def test_ground_truth(address: str) -> None:
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes", seed=3)
        await allego.set_streaming("on")
        await asyncio.sleep(1.5)
        await allego.set_streaming("off")
        truth = await allego.get_ground_truth()
        assert truth.mode == "smartbox_sim_gen_spikes" and truth.seed == 3
        assert len(truth.units) >= 4 and truth.n_spikes > 10
        assert np.all(np.diff(truth.sample_index) >= 0)
        assert set(np.unique(truth.unit_id)) <= {u.unit_id for u in truth.units}
        table = truth.spikes_table()
        assert list(table.columns) == ["sample_index", "unit_id", "channel"]
        with pytest.raises(InvalidArgument):
            await allego.get_ground_truth(-1, 10)
        with pytest.raises(InvalidArgument):
            await allego.get_ground_truth(100, 10)
