"""The blocking ``AllegoClient`` against a real hub: results, typed errors, iterators, Jupyter.

Every public method of ``AsyncAllegoClient`` has a blocking twin with the same signature and
docstring; the ones that read or change state are run here with a good and a bad input.
"""

from __future__ import annotations

import asyncio
import collections.abc
import inspect
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import radiens_async as radiens
from radiens_async.client.hub_registry import HubAddress
from radiens_async.errors import ClientClosed, FailedPrecondition, InvalidArgument
from radiens_async.sync.blocking import BlockingIterator
from radiens_async.utils import (
    HEADSTAGE_ALIAS,
    PROBE_ALIAS,
    VALID_SAMPLING_FREQS,
    ClientType,
    Port,
    SignalType,
    SystemMode,
)

FS = 30000
N_ROWS = 38  # 32 amplifier + 2 ain + 2 din + 2 dout channels in the default simulator layout

# sync methods written out on purpose (the documented blocking API differs from the async one)
WRITTEN_OUT = {"get_signals"}
RENAMED = {"aclose": "close"}


@pytest.fixture
def client(address: str) -> Iterator[radiens.AllegoClient]:
    with radiens.AllegoClient(address) as allego:
        yield allego


# -- (d) one-line derivations keep signature and docstring --------------------------------


def _async_public_methods() -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(radiens.AsyncAllegoClient)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
    )


def test_every_async_method_has_a_sync_twin() -> None:
    names = _async_public_methods()
    assert {"restart", "get_status", "stream_signals", "get_signals", "aclose"} <= set(names)
    for name in names:
        sync_method = getattr(radiens.AllegoClient, RENAMED.get(name, name), None)
        assert callable(sync_method), f"AllegoClient lacks {RENAMED.get(name, name)}"
        assert not inspect.iscoroutinefunction(sync_method), name
        assert not inspect.isasyncgenfunction(sync_method), name


@pytest.mark.parametrize("name", [n for n in _async_public_methods() if n not in WRITTEN_OUT])
def test_sync_twin_keeps_signature_and_docstring(name: str) -> None:
    async_method = getattr(radiens.AsyncAllegoClient, name)
    sync_method = getattr(radiens.AllegoClient, RENAMED.get(name, name))
    assert inspect.signature(sync_method) == inspect.signature(async_method)
    assert async_method.__doc__, f"AsyncAllegoClient.{name} has no docstring"
    assert sync_method.__doc__.startswith(async_method.__doc__)


def test_documented_get_signals_is_written_out() -> None:
    sig = inspect.signature(radiens.AllegoClient.get_signals)
    assert list(sig.parameters) == ["self"]  # as documented: get_signals()
    assert "set_time_to_cache_head" in (radiens.AllegoClient.get_signals.__doc__ or "")


def test_every_async_property_has_a_sync_twin() -> None:
    names = [
        name
        for name, member in inspect.getmembers(radiens.AsyncAllegoClient)
        if isinstance(member, property) and not name.startswith("_")
    ]
    assert {"type", "id", "hub", "hubs", "address"} <= set(names)
    for name in names:
        assert isinstance(getattr(radiens.AllegoClient, name, None), property), name


# -- identity, hub service, lifecycle -----------------------------------------------------


def test_identity(client: radiens.AllegoClient, address: str) -> None:
    assert client.type == ClientType.ALLEGO
    assert isinstance(client.id, str) and len(client.id) == 12
    assert client.id != radiens.AllegoClient(address).id
    assert str(client.address) == address
    assert isinstance(client.address, HubAddress) and client.address.explicit
    assert client.hub == os.environ.get("RADIENS_HUB", "default")
    assert "default" in client.hubs
    assert client.component_id == f"allego_python_client:{client.id}"


def test_hub_service(client: radiens.AllegoClient) -> None:
    assert client.open() is not None
    health = client.hub_health()
    assert isinstance(health, radiens.HubHealth)
    assert health.serving and health.pid > 0 and health.pid != os.getpid()
    version = client.hub_version()
    assert version.hub_version == radiens.__version__ and version.protocol_version == "radiens.v1"
    caps = client.hub_capabilities()
    assert "radiens.v1.Allego" in caps.services and not caps.auth_required
    assert "smartbox_sim_gen_spikes" in caps.simulator_modes
    with pytest.raises(TypeError):
        client.hub_health("now")  # type: ignore[call-arg]


def test_closed_client_refuses(address: str) -> None:
    client = radiens.AllegoClient(address)
    assert client.get_status().connected
    client.close()
    client.close()  # closing twice is harmless
    for call in (client.get_status, client.get_channel_metadata, client.get_signals):
        with pytest.raises(ClientClosed, match="closed"):
            call()
    with pytest.raises(ClientClosed):
        next(client.stream_signals())


# -- state ------------------------------------------------------------------------------


def test_restart_and_status(client: radiens.AllegoClient) -> None:
    assert client.restart("sim-spikes", seed=5, num_channels=64) is None
    status = client.get_status()
    assert isinstance(status, radiens.AllegoState)
    assert status.system_mode == SystemMode.SMARTBOX_SIM_GEN_SPIKES
    assert status.port_num_channels == {Port.A: 64}
    assert status.stream.mode == "S_OFF" and status.sample_freq == 30000.0
    client.restart("smartbox_sim_gen_sine")
    assert client.get_status().system_mode == SystemMode.SMARTBOX_SIM_GEN_SINE
    with pytest.raises(InvalidArgument, match="Invalid SystemMode value"):
        client.restart("sim-unicorn")
    with pytest.raises(FailedPrecondition, match=r"no .* hardware detected"):
        client.restart("smartbox_pro")
    with pytest.raises(InvalidArgument):
        client.restart("sim-spikes", num_channels=100)
    assert client.get_status().system_mode == SystemMode.SMARTBOX_SIM_GEN_SINE
    with pytest.raises(TypeError):
        client.get_status(True)  # type: ignore[call-arg]


def test_streaming_on_off(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    client.set_streaming("on")
    time.sleep(0.2)
    status = client.get_status()
    assert status.stream.mode == "S_ON" and status.stream.time_range[1] > 0
    with pytest.raises(ValueError, match="Invalid StreamMode value"):
        client.set_streaming("maybe")
    client.set_streaming(False)
    assert client.get_status().stream.mode == "S_OFF"


def test_sampling_freq(client: radiens.AllegoClient) -> None:
    client.restart("sim-sine")
    client.set_sampling_freq(VALID_SAMPLING_FREQS[0])
    assert client.get_status().sample_freq == VALID_SAMPLING_FREQS[0]
    with pytest.raises(InvalidArgument, match="sampling frequency"):
        client.set_sampling_freq(44100)
    client.set_sampling_freq(30000)
    client.set_streaming("on")
    try:
        with pytest.raises(FailedPrecondition, match="while streaming"):
            client.set_sampling_freq(20000)
    finally:
        client.set_streaming("off")
    assert client.get_status().sample_freq == 30000.0


def test_stream_loop_duration(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    assert client.get_stream_loop_dur_ms() == pytest.approx(1.0)
    with pytest.raises(TypeError):
        client.get_stream_loop_dur_ms(2)  # type: ignore[call-arg]


def test_channel_metadata(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    meta = client.get_channel_metadata()
    assert isinstance(meta, radiens.ChannelMetadata)
    assert meta.num_sigs(SignalType.AMP) == 32 and meta.num_sigs_total() == N_ROWS
    assert meta.index(SignalType.AMP).sys == list(range(32))
    assert len(meta.table) == N_ROWS
    with pytest.raises(ValueError, match="stype not in signal map"):
        meta.index("amp")  # type: ignore[arg-type]


def test_sensors(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    sensors = client.get_available_sensors()
    assert set(sensors) == {"headstages", "probes"}
    assert set(HEADSTAGE_ALIAS.values()) <= set(sensors["headstages"])
    assert set(PROBE_ALIAS.values()) <= set(sensors["probes"])
    client.set_sensor("A", "smart-32", "4x8-32")
    table = client.get_channel_metadata().table
    assert set(table.loc[table["chan_type"] == SignalType.AMP, "probe_id"]) == {
        PROBE_ALIAS["4x8-32"]
    }
    with pytest.raises(InvalidArgument, match="port B is not valid"):
        client.set_sensor("B", "smart-32", "4x8-32")
    with pytest.raises(ValueError, match="probe no-such is not an alias"):
        client.set_sensor("A", "smart-32", "no-such")


def test_get_signals_documented_loop(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    client.set_streaming("on")
    try:
        time.sleep(0.2)
        client.set_time_to_cache_head()
        previous_stop = None
        total = 0
        for _ in range(5):
            time.sleep(0.05)
            result = client.get_signals()
            assert isinstance(result, tuple) and len(result) == 2
            sig, time_range = result
            assert isinstance(sig, np.ndarray) and sig.dtype == np.float32
            assert sig.shape[0] == N_ROWS
            assert isinstance(time_range, list) and len(time_range) == 2
            assert time_range[1] - time_range[0] == pytest.approx(sig.shape[1] / FS)
            if previous_stop is not None:
                assert time_range[0] == pytest.approx(previous_stop)
            previous_stop = time_range[1]
            total += sig.shape[1]
        assert total > 0.2 * FS
        with pytest.raises(TypeError):
            client.get_signals(10)  # type: ignore[call-arg]
    finally:
        client.set_streaming("off")


def test_ground_truth(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes", seed=9)
    client.set_streaming("on")
    time.sleep(1.0)
    client.set_streaming("off")
    truth = client.get_ground_truth()
    assert isinstance(truth, radiens.SimGroundTruth)
    assert truth.seed == 9 and truth.mode == "smartbox_sim_gen_spikes" and truth.n_spikes > 0
    part = client.get_ground_truth(0, 3000)
    assert np.all(part.sample_index < 3000)
    with pytest.raises(InvalidArgument, match="invalid sample range"):
        client.get_ground_truth(100, 10)


# -- (b) streams are plain iterators; closing one cancels the call ---------------------------


def _socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _connections_to(port: int) -> int:
    """Established TCP connections of this process to ``port`` on any local address."""
    ours = _socket_inodes()
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01" and fields[9] in ours:
                count += 1
    return count


def _wait_connections(port: int, expected: int, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        n = _connections_to(port)
        if n == expected or time.monotonic() > deadline:
            return n
        time.sleep(0.05)


needs_proc = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


def test_stream_is_a_plain_iterator(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    client.set_streaming("on")
    try:
        stream = client.stream_signals(channels=[0, 5, 36])
        assert isinstance(stream, collections.abc.Iterator)
        assert not isinstance(stream, collections.abc.AsyncIterator)
        assert isinstance(stream, BlockingIterator)
        chunk = next(stream)
        assert isinstance(chunk, radiens.SignalChunk)
        assert chunk.data.shape[0] == 3 and chunk.fs == FS and chunk.n_samples > 0
        stream.close()
    finally:
        client.set_streaming("off")


def test_stream_bad_input(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes")
    with pytest.raises(FailedPrecondition, match="streaming is off"):
        next(client.stream_signals())
    client.set_streaming("on")
    try:
        with pytest.raises(InvalidArgument, match="unknown channel"):
            next(client.stream_signals(channels=[0, 38]))
        with pytest.raises(InvalidArgument, match="from_sample"):
            next(client.stream_signals(start=-1))
        with pytest.raises(InvalidArgument, match="max_lag_s"):
            next(client.stream_signals(max_lag_s=0))
        assert client.get_status().stream.mode == "S_ON"
    finally:
        client.set_streaming("off")


@needs_proc
def test_closing_a_stream_early_cancels_the_call(
    client: radiens.AllegoClient, address: str
) -> None:
    port = HubAddress.parse(address).port
    client.restart("sim-spikes")
    client.set_streaming("on")
    try:
        baseline = _connections_to(port)
        assert baseline >= 1  # the client's control connection
        # break + close()
        stream = client.stream_signals()
        for n, chunk in enumerate(stream):
            assert chunk.missed_samples == 0
            if n == 3:
                break
        assert _connections_to(port) == baseline + 1  # a stream has a connection of its own
        stream.close()
        assert _wait_connections(port, baseline) == baseline
        assert stream._agen.ag_frame is None  # type: ignore[attr-defined]
        with pytest.raises(StopIteration):
            next(stream)
        # with-block
        with client.stream_signals() as stream:
            next(stream)
            assert _connections_to(port) == baseline + 1
        assert _wait_connections(port, baseline) == baseline
        # many short-lived streams leave nothing behind, and the hub keeps serving
        for _ in range(10):
            with client.stream_signals(channels=[1]) as stream:
                assert next(stream).data.shape[0] == 1
        assert _wait_connections(port, baseline) == baseline
        assert client.hub_health().serving
        with client.stream_signals() as stream:
            first = next(stream)
            second = next(stream)
        assert second.first_sample == first.stop_sample + second.missed_samples
    finally:
        client.set_streaming("off")


# -- (c) ten seconds through the sync iterator: contiguous, no gaps -------------------------


def test_stream_ten_seconds_no_gaps(client: radiens.AllegoClient) -> None:
    client.restart("sim-spikes", num_channels=32)
    client.set_sampling_freq(FS)
    client.set_streaming("on")
    try:
        expected = None
        received = 0
        chunks = 0
        with client.stream_signals() as stream:
            for chunk in stream:
                assert chunk.missed_samples == 0
                assert chunk.data.shape[0] == N_ROWS and chunk.data.dtype == np.float32
                if expected is not None:
                    assert chunk.first_sample == expected
                expected = chunk.stop_sample
                received += chunk.n_samples
                chunks += 1
                if received >= 10 * FS:
                    break
        assert received >= 10 * FS and chunks > 1
    finally:
        client.set_streaming("off")


# -- (a) the Jupyter case: called from a thread that runs an event loop -------------------


def test_works_inside_a_running_event_loop(address: str) -> None:
    async def notebook_cell() -> dict[str, object]:
        asyncio.get_running_loop()  # there is a running loop in this thread
        client = radiens.AllegoClient(address)
        try:
            client.restart("sim-spikes")
            client.set_streaming("on")
            await asyncio.sleep(0.1)
            client.set_time_to_cache_head()
            await asyncio.sleep(0.1)
            sig, time_range = client.get_signals()
            with client.stream_signals() as stream:
                chunk = next(stream)
            status = client.get_status()
            client.set_streaming("off")
            return {"sig": sig, "time_range": time_range, "chunk": chunk, "status": status}
        finally:
            client.close()

    result = asyncio.run(notebook_cell())
    sig = result["sig"]
    assert isinstance(sig, np.ndarray) and sig.shape[0] == N_ROWS and sig.shape[1] > 0
    chunk = result["chunk"]
    assert isinstance(chunk, radiens.SignalChunk) and chunk.n_samples > 0
    status = result["status"]
    assert isinstance(status, radiens.AllegoState) and status.stream.mode == "S_ON"
