"""radiens-core's own AllegoClient on the hub's AllegoCore: status, configuration, restart,
streaming, recording, sorter IDs, hardware-only calls.

Each result is checked against what our own client reads through radiens.v1 on the same hub.
Run only inside a private network namespace (radiens-core always dials localhost:50051-50055)::

    unshare --net bash -c 'ip link set lo up; cd /work/main; RADIENS_OFFLINE=1 \\
        python -m pytest -q -p no:cacheprovider tests/official_client/test_allego_core.py'
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from radiens_core import AllegoClient as RadiensCoreAllego
from radiens_core.exceptions import ServerCommunicationError
from radiens_core.models.common import ServiceEndpoint
from radiens_core.models.ports import Port as RcPort
from radiens_core.models.signals import SignalType as CoreSignalType
from radiens_core.models.status import (
    BackboneMode,
    BackboneStatus,
    DataRecordingType,
    RecordingConfig,
    RecordMode,
    StreamMode,
)

import radiens_async
from radiens_async.hub.radiens.backbone_modes import SIMULATOR_OF
from radiens_async.hub.radiens.lifecycle_service import ALLEGO_PROTOCOL_VERSION
from radiens_async.models.allego_state import AllegoState
from radiens_async.utils.enums import SignalType, SystemMode

from hub_process import HubProcess

SIMULATED = [BackboneMode(v) for v in sorted(SIMULATOR_OF)]
HARDWARE = [m for m in BackboneMode if m.value not in SIMULATOR_OF]


@pytest.fixture(scope="module")
def rc(radiens_hub: HubProcess) -> Iterator[RadiensCoreAllego]:
    with RadiensCoreAllego() as client:
        yield client


@pytest.fixture
def ours(radiens_hub: HubProcess) -> Iterator[radiens_async.AllegoClient]:
    """Our own blocking client on radiens.v1, the instrument reset to the default simulator."""
    with radiens_async.AllegoClient(radiens_hub.address) as client:
        client.set_recording("off")
        client.set_streaming("off")
        client.restart("smartbox_sim_gen_spikes")
        yield client


def assert_same_status(rc_status: BackboneStatus, state: AllegoState) -> None:
    streaming, recording = rc_status.streaming, rc_status.recording
    assert (streaming.stream_mode == StreamMode.ON) == (state.stream.mode == "S_ON")
    assert streaming.primary_cache_t_range == pytest.approx(list(state.stream.time_range))
    assert streaming.hardware_memory_level == pytest.approx(state.stream.hw_mem_level)
    assert (recording.record_mode == RecordMode.ON) == (state.recording.mode == "R_ON")
    assert recording.active_filename == state.recording.file_name
    assert recording.duration == pytest.approx(state.recording.dur_sec)
    assert recording.error == state.recording.error
    assert {p.port.name: p.channel_count for p in rc_status.ports} == {
        p.name: n for p, n in state.port_num_channels.items()
    }
    assert rc_status.is_connected == state.connected
    gpio = rc_status.gpio_channel_count
    assert (gpio.n_aux, gpio.n_din, gpio.n_dout) == tuple(state.gpio)


def test_healthcheck_and_version(rc: RadiensCoreAllego) -> None:
    rc.healthcheck()
    rc.healthcheck(ServiceEndpoint.ALLEGO_CORE)
    assert tuple(rc.server_version) == tuple(int(p) for p in ALLEGO_PROTOCOL_VERSION.split("."))


def test_status_and_core_config_equal_ours(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient
) -> None:
    ours.set_sampling_freq(25000)
    state = ours.get_status()
    assert_same_status(rc.get_status(), state)
    config = rc.get_core_config()
    assert config.base_samp_freq == state.sample_freq == 25000
    assert config.backbone_mode == BackboneMode.SMARTBOX_SIM_GEN_SPIKES
    assert config.backbone_mode.value == state.system_mode.value
    assert config.stream_loop_dur_ms == round(ours.get_stream_loop_dur_ms())
    assert config.allego_core_server_port == "50051"
    assert config.cable_delays == {} and not config.has_xdaq_gpio_expander


def test_update_core_config_is_seen_by_ours(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient
) -> None:
    rc.update_core_config(samp_freq=10000)
    assert ours.get_status().sample_freq == 10000
    with pytest.raises(ServerCommunicationError):
        rc.update_core_config(samp_freq=12345)
    with pytest.raises(ServerCommunicationError):
        rc.update_core_config(samp_freq=float("nan"))
    ours.set_streaming("on")
    with pytest.raises(ServerCommunicationError, match="streaming"):
        rc.update_core_config(samp_freq=20000)
    assert ours.get_status().sample_freq == 10000


@pytest.mark.parametrize("mode", SIMULATED, ids=lambda m: m.name)
def test_restart_into_every_simulated_mode(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, mode: BackboneMode
) -> None:
    ours.set_sampling_freq(20000)  # the restart resets it
    rc.restart(mode=mode)
    state = ours.get_status()
    assert state.system_mode == SIMULATOR_OF[mode.value]
    assert state.sample_freq == 30000
    assert rc.get_core_config().backbone_mode == mode
    assert_same_status(rc.get_status(), state)
    # it streams on our simulator, and radiens-core reads the same channel table and samples
    rc.start_streaming()
    time.sleep(0.3)
    assert rc.get_status().streaming.primary_cache_t_range[1] > 0
    rc.stop_streaming()
    meta, our_meta = rc.get_channel_metadata(), ours.get_channel_metadata()
    for core_type in CoreSignalType:
        chans = [c for c in our_meta.channels if c.chan_type == SignalType[core_type.name]]
        assert meta.sig_map[core_type].ntv == [c.ntv_key_idx for c in chans]
    t0 = ours.get_status().stream.time_range[0]
    window = [t0 + 0.05, t0 + 0.15]
    theirs = rc.get_signals(window)
    mine = ours.signals().get_signals(window)
    assert list(theirs.time_range.timestamp) == list(mine.time_range.timestamp)
    assert theirs.amp is not None and theirs.amp.shape == mine.signals.amp.shape
    assert np.array_equal(theirs.amp.astype(np.float32), mine.signals.amp.astype(np.float32))


@pytest.mark.parametrize("mode", HARDWARE, ids=lambda m: m.name)
def test_hardware_modes_raise_and_change_nothing(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, mode: BackboneMode
) -> None:
    with pytest.raises(ServerCommunicationError, match="hardware detected"):
        rc.restart(mode=mode)
    assert ours.get_status().system_mode == SystemMode.SMARTBOX_SIM_GEN_SPIKES
    assert rc.get_core_config().backbone_mode == BackboneMode.SMARTBOX_SIM_GEN_SPIKES


def test_restart_while_streaming_raises(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient
) -> None:
    rc.start_streaming()
    with pytest.raises(ServerCommunicationError, match="streaming"):
        rc.restart(mode=BackboneMode.SMARTBOX_SIM_GEN_SINE)
    assert ours.get_status().system_mode == SystemMode.SMARTBOX_SIM_GEN_SPIKES


def test_start_stop_streaming_both_ways(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient
) -> None:
    rc.start_streaming()
    rc.start_streaming()  # does nothing when on
    assert ours.get_status().stream.mode == "S_ON"
    time.sleep(0.2)
    before = ours.get_status().stream.time_range[1]
    t1 = rc.get_status().streaming.primary_cache_t_range[1]
    after = ours.get_status().stream.time_range[1]
    assert before <= t1 <= after
    ours.set_streaming("off")
    status = rc.get_status()
    assert status.streaming.stream_mode == StreamMode.OFF
    assert_same_status(status, ours.get_status())
    ours.set_streaming("on")
    assert rc.get_status().streaming.stream_mode == StreamMode.ON
    rc.stop_streaming()
    assert ours.get_status().stream.mode == "S_OFF"


def test_recording_config_both_ways(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, tmp_path: Path
) -> None:
    rc.update_recording_config(
        RecordingConfig(
            base_file_name="rc_rec",
            base_file_path=str(tmp_path),
            datasource_idx=4,
            time_stamp=False,
        )
    )
    cfg = ours.get_recording_config()
    assert (cfg.path, cfg.base_name, cfg.index, cfg.time_stamp) == (
        str(tmp_path),
        "rc_rec",
        4,
        False,
    )
    ours.set_recording_config(tmp_path, "ours_rec", 9, True)
    got = rc.get_recording_config()
    assert (got.base_file_path, got.base_file_name, got.datasource_idx, got.time_stamp) == (
        str(tmp_path),
        "ours_rec",
        9,
        True,
    )
    assert got.recording_type == DataRecordingType.CONTINUOUS
    assert not got.split_files_by_port and not got.force_start_at_tstamp_0
    # refused, nothing changed
    for bad in (
        got.model_copy(update={"base_file_path": str(tmp_path / "missing")}),
        got.model_copy(update={"base_file_name": "a/b"}),
        got.model_copy(update={"recording_type": DataRecordingType.SPIKES}),
    ):
        with pytest.raises(ServerCommunicationError):
            rc.update_recording_config(bad)
    assert rc.get_recording_config() == got


def test_start_stop_recording_opens_in_neo(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, tmp_path: Path
) -> None:
    neo_rawio = pytest.importorskip("neo.rawio")
    ours.set_recording_config(tmp_path, "rc_neo", 0, False)
    rc.start_recording()  # starts streaming too
    time.sleep(0.4)
    state = ours.get_status()
    assert state.recording.mode == "R_ON" and state.stream.mode == "S_ON"
    status = rc.get_status()
    assert status.recording.record_mode == RecordMode.ON
    assert status.recording.record_mode_port_a == RecordMode.ON
    assert status.recording.active_filename == state.recording.file_name
    with pytest.raises(ServerCommunicationError):
        rc.stop_streaming()  # refused while recording
    rc.stop_recording()
    rc.stop_streaming()
    status = rc.get_status()
    assert status.recording.record_mode == RecordMode.OFF
    assert_same_status(status, ours.get_status())
    raw = neo_rawio.NeuroNexusRawIO(filename=str(tmp_path / "rc_neo_0.xdat.json"))
    raw.parse_header()
    assert raw.get_signal_sampling_rate(0) == 30000
    n = raw.get_signal_size(0, 0, 0)
    assert n == pytest.approx(status.recording.duration * 30000, abs=1)
    assert n > 0.3 * 30000
    # a port that is not connected
    with pytest.raises(ServerCommunicationError, match="port B"):
        rc.start_recording(port=RcPort.B)
    assert ours.get_status().recording.mode == "R_OFF"


def test_spike_sorter_ids(rc: RadiensCoreAllego, ours: radiens_async.AllegoClient) -> None:
    live_id = ours.spikes().get_spikes_metadata().id
    assert rc.get_spike_sorter_ids() == [live_id]
    assert rc.get_default_spike_sorter_id() == live_id


def test_scan_ports_answers_the_simulated_ports(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient
) -> None:
    meta = rc.scan_ports()
    assert sum(meta.num_channels.values()) == ours.get_channel_metadata().num_sigs_total()
    assert meta.fs == ours.get_status().sample_freq
    ours.set_streaming("on")
    with pytest.raises(ServerCommunicationError, match="streaming"):
        rc.scan_ports()


@pytest.mark.parametrize(
    ("call", "hardware"),
    [
        (lambda c: c.get_intan_impedance("a"), "Intan"),
        (lambda c: c.read_wire_out(0x20), "SmartBox Pro"),
        (lambda c: c.load_all_mosi([1, 2, 3]), "SiNAPS"),
        (lambda c: c.transmit_mosi(), "SiNAPS"),
        (lambda c: c.get_sinaps_status_registers(), "SiNAPS"),
        (lambda c: c.flash_sinaps("/tmp/sinaps.bit"), "SiNAPS"),
    ],
    ids=["impedance", "wire-out", "load-mosi", "transmit-mosi", "sinaps-status", "flash"],
)
def test_hardware_only_calls_raise(
    rc: RadiensCoreAllego, ours: radiens_async.AllegoClient, call: object, hardware: str
) -> None:
    before = ours.get_status()
    with pytest.raises(ServerCommunicationError, match=f"no {hardware} hardware detected"):
        call(rc)  # type: ignore[operator]
    assert ours.get_status() == before
