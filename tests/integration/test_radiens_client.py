"""``RadiensAllegoBackend`` against our hub's Radiens ports, checked against what our own client
(``AsyncAllegoClient`` over ``radiens.v1``) reads for the same state of the one instrument."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest

from radiens_async.client.allego import AsyncAllegoClient
from radiens_async.client.backends.arguments import SignalWindow, SorterCommand, SorterParam
from radiens_async.client.backends.radiens_allego import RadiensAllegoBackend
from radiens_async.client.hub_registry import HubAddress
from radiens_async.errors import ConnectError, FailedPrecondition, NotFound, NotSupported
from radiens_async.models.allego_state import RecordingConfig
from radiens_async.models.signal_metrics import MetricID
from radiens_async.utils.enums import MetricMode, MetricName, Port, SignalType, SystemMode, TrsMode

from hub_process import HubProcess, free_port_block

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("radiens-client"), radiens_base_port=0) as process:
        yield process


@pytest.fixture
async def radiens(hub: HubProcess) -> AsyncIterator[RadiensAllegoBackend]:
    backend = RadiensAllegoBackend(HubAddress.parse(hub.radiens_address))
    await backend.open()
    try:
        yield backend
    finally:
        await backend.aclose()


@pytest.fixture
async def ours(hub: HubProcess) -> AsyncIterator[AsyncAllegoClient]:
    async with AsyncAllegoClient(hub.address) as client:
        yield client


async def _fresh(ours: AsyncAllegoClient, mode: str = "smartbox_sim_gen_spikes") -> None:
    await ours.set_recording("off")
    await ours.set_streaming("off")
    await ours.restart(mode)


# -- transport --------------------------------------------------------------------------------
async def test_auth_is_the_device_uuid_of_the_core_port(radiens: RadiensAllegoBackend) -> None:
    auth = radiens.transport.authorization
    assert auth is not None and auth.startswith("deviceUUID ") and len(auth) > len("deviceUUID ")


async def test_no_allego_is_a_connect_error() -> None:
    backend = RadiensAllegoBackend(HubAddress("127.0.0.1", free_port_block()), connect_timeout=2)
    with pytest.raises(ConnectError):
        await backend.get_status()
    await backend.aclose()


# -- status, configuration, channels ------------------------------------------------------------
async def test_status_matches_our_protocol(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    await radiens.restart(SystemMode.SMARTBOX_SIM_GEN_SPIKES, None, None)
    mine, theirs = await radiens.get_status(), await ours.get_status()
    assert mine.system_mode is theirs.system_mode is SystemMode.SMARTBOX_SIM_GEN_SPIKES
    assert mine.stream.mode == theirs.stream.mode == "S_OFF"
    assert mine.recording.mode == theirs.recording.mode
    assert mine.sample_freq == theirs.sample_freq
    assert mine.port_num_channels == theirs.port_num_channels
    assert mine.gpio == theirs.gpio
    assert mine.connected == theirs.connected
    assert mine.stream_loop_dur_ms == theirs.stream_loop_dur_ms
    assert await radiens.get_stream_loop_dur_ms() == await ours.get_stream_loop_dur_ms()


async def test_restart_while_streaming_stops_the_stream_first(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    """An Allego refuses Restart while streaming; the documented restart stops it first."""
    await _fresh(ours)
    await ours.set_streaming("on")
    await radiens.restart(SystemMode.SMARTBOX_SIM_GEN_SINE, None, None)
    status = await ours.get_status()
    assert status.stream.mode == "S_OFF"
    assert status.system_mode is SystemMode.SMARTBOX_SIM_GEN_SINE


async def test_modes_an_allego_lacks_are_not_supported(radiens: RadiensAllegoBackend) -> None:
    with pytest.raises(NotSupported):
        await radiens.restart(SystemMode.SMARTBOX_SIM_GEN_SINE_MAPPED, None, None)
    with pytest.raises(NotSupported):
        await radiens.restart(SystemMode.SMARTBOX_SIM_GEN_SPIKES, 7, None)


async def test_a_hardware_mode_is_refused_and_changes_nothing(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    with pytest.raises(FailedPrecondition):
        await radiens.restart(SystemMode.SMARTBOX_PRO, None, None)
    assert (await ours.get_status()).system_mode is SystemMode.SMARTBOX_SIM_GEN_SPIKES


async def test_sampling_rate_and_recording_config_are_seen_through_both(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient, tmp_path: Path
) -> None:
    await _fresh(ours)
    await radiens.set_sampling_freq(20000.0)
    assert (await ours.get_status()).sample_freq == 20000.0
    config = RecordingConfig(path=str(tmp_path), base_name="viaradiens", index=3, time_stamp=False)
    await radiens.set_recording_config(config)
    assert await ours.get_recording_config() == config
    assert await radiens.get_recording_config() == config


async def test_channel_metadata_matches_our_protocol(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    mine, theirs = await radiens.get_channel_metadata(), await ours.get_channel_metadata()
    assert mine.fs == theirs.fs
    for stype in SignalType:
        assert mine.index(stype) == theirs.index(stype)
    for a, b in zip(mine.channels, theirs.channels, strict=True):
        assert (a.port, a.chan_name, a.chan_type, a.site_num) == (
            b.port,
            b.chan_name,
            b.chan_type,
            b.site_num,
        )
        assert a.site_ctr_x == pytest.approx(b.site_ctr_x)
        assert a.site_ctr_y == pytest.approx(b.site_ctr_y)
        assert (a.probe_id, a.headstage_id) == (b.probe_id, b.headstage_id)


async def test_sensors_match_and_set_sensor_is_seen_through_both(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    assert await radiens.get_available_sensors() == await ours.get_available_sensors()
    await radiens.set_sensor(Port.A, "passthrough_32", "buz32")
    meta = await ours.get_channel_metadata()
    assert {c.probe_id for c in meta.channels if c.chan_type == SignalType.AMP} == {"buz32"}


# -- live signals --------------------------------------------------------------------------------
async def _stream_on(ours: AsyncAllegoClient) -> None:
    await _fresh(ours)
    await ours.set_streaming("on")


async def test_get_signals_is_contiguous_and_equals_our_samples(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    import anyio

    await _stream_on(ours)
    await radiens.set_time_to_cache_head("c1")
    blocks = []
    for _ in range(4):
        await anyio.sleep(0.05)
        blocks.append(await radiens.get_signals("c1", 0))
    for prev, nxt in itertools.pairwise(blocks):
        assert nxt.first_sample == prev.stop_sample + nxt.missed_samples
    meta = await ours.get_channel_metadata()
    assert all(b.data.shape[0] == meta.num_sigs_total() for b in blocks)
    # the same samples through our protocol
    first, stop = blocks[1].first_sample, blocks[-1].stop_sample
    window = SignalWindow(TrsMode.SUBSET, timestamp=(first, stop))
    theirs = await ours.signals().get_signals([first / meta.fs, stop / meta.fs])
    mine = np.concatenate([b.data for b in blocks[1:]], axis=1)
    n_amp = meta.num_sigs(SignalType.AMP)
    np.testing.assert_allclose(mine[:n_amp], theirs.signals.amp, rtol=1e-6, atol=1e-3)
    live = await radiens.get_live_signals(window)
    np.testing.assert_allclose(live.signals.amp, mine[:n_amp], rtol=1e-6, atol=1e-3)


async def test_a_cursor_never_set_starts_at_the_head(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    import anyio

    await _stream_on(ours)
    await anyio.sleep(0.1)
    first = await radiens.get_signals("fresh", 0)
    assert first.n_samples == 0 and first.first_sample > 0
    await anyio.sleep(0.05)
    second = await radiens.get_signals("fresh", 0)
    assert second.first_sample == first.first_sample and second.n_samples > 0


async def test_stream_signals_polls_without_gaps_or_repeats_and_ends_with_streaming(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _stream_on(ours)
    chunks = []
    stream = radiens.stream_signals("head", [], 0, 0.5)
    async with contextlib.aclosing(stream) as it:  # type: ignore[type-var]
        async for chunk in it:
            chunks.append(chunk)
            if sum(c.n_samples for c in chunks) >= 30000 * 0.3:
                await ours.set_streaming("off")
    assert len(chunks) >= 2
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.first_sample == prev.stop_sample + nxt.missed_samples
    assert sum(c.missed_samples for c in chunks) == 0


async def test_stream_signals_needs_streaming(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    with pytest.raises(FailedPrecondition):
        async for _ in radiens.stream_signals("head", [], 0, 0.5):
            pass


async def test_ground_truth_is_not_in_the_protocol(radiens: RadiensAllegoBackend) -> None:
    with pytest.raises(NotSupported):
        await radiens.get_ground_truth(0, 0)


# -- stimulation, DIO, DAC ------------------------------------------------------------------------
async def test_stim_params_match_and_a_change_is_seen_through_both(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    assert await radiens.get_stim_params() == await ours.get_stim_params()
    after = await radiens.set_stim_params(
        {"stim_sys_chan_idx": 6, "enabled": True, "first_phase_amplitude_uA": 10.0}
    )
    assert after == (await ours.get_stim_params())[6]
    assert after["enabled"] is True and after["first_phase_amplitude_uA"] == 10.0
    with pytest.raises(NotFound):
        await radiens.set_stim_params({"stim_sys_chan_idx": 9999, "enabled": True})


async def test_digital_and_analog_out_match(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _stream_on(ours)
    await radiens.set_digital_out_manual(True, False)
    assert await radiens.get_digital_out_states() == await ours.get_digital_out_states()
    states = (await ours.get_digital_out_states())["states"]
    assert [s["state"] for s in states[:2]] == [True, False]
    settings = await radiens.set_analog_out_high_pass(300.0, True)
    assert settings == await ours.get_analog_out_settings()
    assert settings["high_pass"] == {"enable": True, "cutoff_freq": 300.0}


# -- spike sorter, spikes, metrics ----------------------------------------------------------
async def test_sorter_params_state_and_dashboard_match(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _stream_on(ours)
    await radiens.set_sorter_param(SorterParam.THR_LEVEL, [-70.0, 0.0], [True, False], [])
    mine, theirs = await radiens.get_sorter_params(), await ours.spike_sorter().get_params()
    assert mine["ntv_idx"].tolist() == theirs["ntv_idx"].tolist()
    assert (
        [float(t[0]) for t in mine["thr"]]
        == [float(t[0]) for t in theirs["thr"]]
        == [-70.0] * len(mine)
    )
    np.testing.assert_allclose(np.stack(mine["thr_wdw"]), np.stack(theirs["thr_wdw"]))
    await radiens.sorter_command(SorterCommand.ON)
    assert (await radiens.get_sorter_state()).mode == (await ours.spike_sorter().get_state()).mode
    dash, their_dash = (
        await radiens.get_sorter_dashboard(),
        await ours.spike_sorter().get_dashboard(),
    )
    assert dash.num_sites_total == their_dash.num_sites_total
    await radiens.sorter_command(SorterCommand.OFF)


async def test_spikes_metadata_recent_spikes_and_neurons(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    import anyio

    await _stream_on(ours)
    await ours.spike_sorter().set_threshold_level(neg_thr=60)
    await ours.spike_sorter().set_threshold(neg_thr="on")
    await ours.spike_sorter().set_sorting("on")
    await anyio.sleep(1.0)
    meta = await radiens.get_spikes_metadata()
    assert {s.ntv_idx for s in meta.site_list} == set(
        (await ours.get_channel_metadata()).index(SignalType.AMP).ntv
    )
    recent = await radiens.get_recent_spikes(1.0, list(range(4)), 50)
    assert recent.num_channels == 4
    assert set(recent.channel.tolist()) <= {0, 1, 2, 3}
    neurons = await radiens.get_neurons()
    assert list(neurons.columns)[:3] == ["id", "ntv_idx", "label"]
    rasters = await radiens.get_spike_rasters()
    assert rasters["spikes"]["timestamps"].dtype == np.int64


async def test_spike_stream_polls_each_spike_once(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _stream_on(ours)
    await ours.spike_sorter().set_threshold_level(neg_thr=60)
    await ours.spike_sorter().set_threshold(neg_thr="on")
    await ours.spike_sorter().set_sorting("on")
    seen: list[tuple[int, int]] = []
    batches = 0
    stream = radiens.stream_spikes("now", [], 0)
    async with contextlib.aclosing(stream) as it:  # type: ignore[type-var]
        async for batch in it:
            batches += 1
            seen += list(zip(batch.sample_index.tolist(), batch.channel.tolist(), strict=True))
            if len(seen) >= 20 or batches >= 50:
                break
    assert seen and len(seen) == len(set(seen))


async def test_live_metrics_status_and_values(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    import anyio

    await _stream_on(ours)
    await anyio.sleep(1.0)
    status = await radiens.get_metrics_status()
    assert status.type == "cache" and status.num_sigs > 0
    ids = [MetricID(MetricMode.BASE, MetricName.RMS)]
    m = await radiens.get_metrics(1.0, ids, True)
    n_amp = (await ours.get_channel_metadata()).num_sigs(SignalType.AMP)
    assert m.val.shape == (1, n_amp, 1) and np.all(m.val > 0)
    frame = await radiens.set_metrics_packet_duration(0.5)
    assert frame["packet_dur_sec"].iloc[0] == 0.5


# -- workspaces ------------------------------------------------------------------------------------
async def test_workspaces_are_seen_through_both(
    radiens: RadiensAllegoBackend, ours: AsyncAllegoClient
) -> None:
    await _fresh(ours)
    await radiens.workspace_save("via_radiens", "t1", "n1", True)
    mine = await radiens.workspace_list()
    theirs = await ours.workspace().workspace_list()
    assert mine["ID"].tolist() == theirs["ID"].tolist()
    assert "via_radiens" in mine["ID"].tolist()
    current = await radiens.workspace_current()
    assert current["ID"].tolist() == ["via_radiens"]
    assert current.loc[0, "tags"] == "t1"
    with pytest.raises(NotFound):
        await radiens.workspace_switch("no_such_workspace")
