"""Access tokens, unreachable and silent addresses, the hub command line, signals, seeds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

import radiens_async as radiens
from radiens_async.client import embedded_hub
from radiens_async.errors import (
    ConnectError,
    RadiensError,
    TransportError,
    Unauthenticated,
)

from hub_process import HubProcess

pytestmark = pytest.mark.anyio

TOKEN = "SECRET-token-4711"
CONNECT_TIMEOUT_S = 2.0
SLACK_S = 5.0  # "within the deadline" on a loaded machine: deadline + slack


@pytest.fixture(scope="module")
def token_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("token-hub"), "--token", TOKEN) as process:
        yield process


@pytest.fixture
def no_env_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RADIENS_HUB_TOKEN", raising=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- access token -------------------------------------------------------------------------


async def test_right_token_from_the_constructor(token_hub: HubProcess, no_env_token: None) -> None:
    async with radiens.AsyncAllegoClient(token_hub.address, token=TOKEN) as allego:
        caps = await allego.hub_capabilities()
        assert caps.auth_required
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        async with contextlib.aclosing(allego.stream_signals()) as chunks:
            chunk = await anext(chunks)
        await allego.set_streaming("off")
        assert chunk.n_samples > 0 and chunk.data.shape[0] == 38


async def test_right_token_from_the_environment(
    token_hub: HubProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADIENS_HUB_TOKEN", TOKEN)
    async with radiens.AsyncAllegoClient(token_hub.address) as allego:
        assert (await allego.hub_health()).serving
        assert (await allego.hub_capabilities()).auth_required


def test_right_token_sync_client(token_hub: HubProcess, no_env_token: None) -> None:
    with radiens.AllegoClient(token_hub.address, token=TOKEN) as client:
        client.restart("sim-sine")
        assert client.get_status().system_mode == radiens.utils.SystemMode.SMARTBOX_SIM_GEN_SINE


@pytest.mark.parametrize("token", [None, "", "WRONG", TOKEN + "x", TOKEN[:-1], TOKEN.lower()])
async def test_wrong_or_missing_token_is_refused(
    token_hub: HubProcess, no_env_token: None, token: str | None
) -> None:
    allego = radiens.AsyncAllegoClient(token_hub.address, token=token)
    try:
        with pytest.raises(Unauthenticated, match="missing or wrong access token") as info:
            await allego.get_status()
        assert info.value.status == "UNAUTHENTICATED"
        assert isinstance(info.value, PermissionError)
    finally:
        await allego.aclose()
    # the hub still serves those who have the token
    async with radiens.AsyncAllegoClient(token_hub.address, token=TOKEN) as good:
        assert (await good.hub_health()).serving


async def test_wrong_env_token_is_refused(
    token_hub: HubProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADIENS_HUB_TOKEN", "not-the-token")
    with pytest.raises(Unauthenticated):
        async with radiens.AsyncAllegoClient(token_hub.address) as allego:
            await allego.hub_health()
    # an explicit constructor token beats the environment
    async with radiens.AsyncAllegoClient(token_hub.address, token=TOKEN) as allego:
        assert (await allego.hub_health()).serving


def test_wrong_token_sync_client(token_hub: HubProcess, no_env_token: None) -> None:
    client = radiens.AllegoClient(token_hub.address, token="WRONG")
    try:
        with pytest.raises(Unauthenticated):
            client.get_status()
    finally:
        client.close()


async def test_every_call_shape_checks_the_token(token_hub: HubProcess, no_env_token: None) -> None:
    """Unary calls and streams are both refused once the token stops matching."""
    async with radiens.AsyncAllegoClient(token_hub.address, token=TOKEN) as allego:
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        good_metadata = allego._transport.metadata
        allego._transport.metadata = {"authorization": "Bearer WRONG"}
        with pytest.raises(Unauthenticated):
            await allego.get_channel_metadata()
        with pytest.raises(Unauthenticated):
            async for _ in allego.stream_signals():
                pass
        allego._transport.metadata = None
        with pytest.raises(Unauthenticated):
            await allego.set_streaming("off")
        allego._transport.metadata = good_metadata
        assert (await allego.get_status()).stream.mode == "S_ON"  # nothing was changed
        await allego.set_streaming("off")


# -- unreachable and silent addresses -------------------------------------------------------


async def test_closed_port_is_a_connect_error_within_the_deadline() -> None:
    address = f"127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    with pytest.raises(ConnectError, match="cannot reach the hub") as info:
        async with radiens.AsyncAllegoClient(address, connect_timeout=CONNECT_TIMEOUT_S) as c:
            await c.get_status()
    assert time.monotonic() - t0 < CONNECT_TIMEOUT_S + SLACK_S
    assert address in str(info.value)
    assert isinstance(info.value, ConnectionError)
    # an explicit address never falls back to an embedded hub
    assert embedded_hub.embedded_hub_address() is None


def test_closed_port_sync_client() -> None:
    address = f"127.0.0.1:{_free_port()}"
    client = radiens.AllegoClient(address, connect_timeout=CONNECT_TIMEOUT_S)
    t0 = time.monotonic()
    with pytest.raises(ConnectError):
        client.get_status()
    assert time.monotonic() - t0 < CONNECT_TIMEOUT_S + SLACK_S
    client.close()


@contextlib.contextmanager
def _tcp_listener(reply: bytes | None) -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server that accepts connections and then sends ``reply`` (or stays silent)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            if reply is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1]), accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()


async def test_silent_listener_is_refused_within_the_deadline() -> None:
    """Something accepts TCP but never speaks HTTP/2: no hang, a transport error in time."""
    with _tcp_listener(reply=None) as (port, accepted):
        t0 = time.monotonic()
        with pytest.raises(TransportError) as info:
            async with radiens.AsyncAllegoClient(
                f"127.0.0.1:{port}", connect_timeout=CONNECT_TIMEOUT_S
            ) as allego:
                await allego.get_status()
        elapsed = time.monotonic() - t0
        assert accepted  # the TCP connection was made; the hub handshake never came
    assert elapsed < CONNECT_TIMEOUT_S + SLACK_S
    assert isinstance(info.value, ConnectError | radiens.DeadlineExceeded)
    assert str(port) in str(info.value)


def test_silent_listener_sync_client() -> None:
    with _tcp_listener(reply=None) as (port, _accepted):
        client = radiens.AllegoClient(f"127.0.0.1:{port}", connect_timeout=CONNECT_TIMEOUT_S)
        t0 = time.monotonic()
        with pytest.raises(TransportError):
            client.get_status()
        assert time.monotonic() - t0 < CONNECT_TIMEOUT_S + SLACK_S
        client.close()


async def test_listener_speaking_http1_is_a_connect_error() -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with _tcp_listener(reply=reply) as (port, _accepted):
        t0 = time.monotonic()
        with pytest.raises(TransportError):
            async with radiens.AsyncAllegoClient(
                f"127.0.0.1:{port}", connect_timeout=CONNECT_TIMEOUT_S
            ) as allego:
                await allego.hub_health()
        assert time.monotonic() - t0 < CONNECT_TIMEOUT_S + SLACK_S


# -- the command line -----------------------------------------------------------------------


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("radiens-async")
    return [str(script)] if script.exists() else [sys.executable, "-m", "radiens_async.cli"]


def _env_without_token() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RADIENS_HUB_TOKEN"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])
def test_public_bind_without_token_exits_2(tmp_path: Path, host: str) -> None:
    result = subprocess.run(
        [*_cli(), "hub", "serve", "--host", host, "--port", "0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env_without_token(),
    )
    assert result.returncode == 2
    assert f"refusing to bind {host}" in result.stderr
    assert "access token" in result.stderr and "--token" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_command(tmp_path: Path) -> None:
    with HubProcess(tmp_path) as hub:
        ok = subprocess.run(
            [*_cli(), "status", "--address", hub.address],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env_without_token(),
        )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == "ALLEGO status:"
    down = subprocess.run(
        [*_cli(), "status", "--address", f"127.0.0.1:{_free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env_without_token(),
    )
    assert down.returncode == 1
    assert "cannot reach the hub" in down.stderr and "Traceback" not in down.stderr


def test_public_bind_with_token_serves(tmp_path: Path, no_env_token: None) -> None:
    # the later --host wins over the helper's loopback default
    with HubProcess(tmp_path, "--host", "0.0.0.0", "--token", TOKEN) as hub:
        assert hub.port > 0
        with radiens.AllegoClient(f"127.0.0.1:{hub.port}", token=TOKEN) as client:
            assert client.hub_capabilities().auth_required
        with pytest.raises(Unauthenticated):
            radiens.AllegoClient(f"127.0.0.1:{hub.port}").get_status()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_stops_the_hub_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    hub = HubProcess(tmp_path).start()
    assert hub.proc is not None
    try:
        with radiens.AllegoClient(hub.address) as client:
            assert client.hub_health().serving
        hub.proc.send_signal(sig)
        code = hub.proc.wait(timeout=30)
    finally:
        hub.stop()
    assert code == 0, "".join(hub.output)
    assert "Traceback" not in "".join(hub.output)


async def test_sigterm_while_streaming_ends_the_stream(tmp_path: Path) -> None:
    """A hub stopped under a live stream exits 0 and the client's stream ends, typed or clean."""
    hub = HubProcess(tmp_path).start()
    assert hub.proc is not None
    outcome: BaseException | None = None
    received = 0
    try:
        async with radiens.AsyncAllegoClient(hub.address) as allego:
            await allego.restart("sim-spikes")
            await allego.set_streaming("on")

            async def consume() -> None:
                nonlocal received
                async for chunk in allego.stream_signals():
                    received += chunk.n_samples

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.5)
            hub.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(task, 30)
            except RadiensError as exc:
                outcome = exc
        code = await asyncio.to_thread(hub.proc.wait, 30)
    finally:
        hub.stop()
    assert code == 0, "".join(hub.output)
    assert received > 0
    assert outcome is None or isinstance(outcome, RadiensError)


# -- determinism -----------------------------------------------------------------------------


async def _first_samples(address: str, n: int) -> npt.NDArray[np.float32]:
    """Samples ``[0, n)`` of every channel of a fresh ``sim-spikes`` stream."""
    async with radiens.AsyncAllegoClient(address) as allego:
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        blocks = []
        expected = 0
        async with contextlib.aclosing(allego.stream_signals(start=0)) as chunks:
            async for chunk in chunks:
                assert chunk.missed_samples == 0 and chunk.first_sample == expected
                blocks.append(chunk.data)
                expected = chunk.stop_sample
                if expected >= n:
                    break
        await allego.set_streaming("off")
    return np.concatenate(blocks, axis=1)[:, :n]


async def test_same_seed_same_samples(tmp_path: Path) -> None:
    n = 15000
    with (
        HubProcess(tmp_path / "a", seed=7) as a,
        HubProcess(tmp_path / "b", seed=7) as b,
        HubProcess(tmp_path / "c", seed=8) as c,
    ):
        xa = await _first_samples(a.address, n)
        xb = await _first_samples(b.address, n)
        xc = await _first_samples(c.address, n)
    assert xa.shape == xb.shape == xc.shape == (38, n)
    assert np.array_equal(xa, xb)  # bit for bit
    amp_a, amp_c = xa[:32], xc[:32]
    assert np.std(amp_a) > 0
    assert not np.array_equal(amp_a, amp_c)
    assert np.mean(amp_a == amp_c) < 0.01  # not just a few samples: different signals
