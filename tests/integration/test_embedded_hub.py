"""The embedded hub (no address, nobody at the default port) and named hubs from the registry."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import radiens_async as radiens
from radiens_async.client import embedded_hub, hub_registry
from radiens_async.errors import ConnectError, NotFound

from hub_process import HubProcess

pytestmark = pytest.mark.anyio


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def default_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[int]:
    """A private well-known port nobody listens on, a clean registry and a private data dir."""
    embedded_hub.stop_embedded_hub()
    port = _free_port()
    monkeypatch.setenv(hub_registry.ENV_DEFAULT_PORT, str(port))
    monkeypatch.setenv("RADIENS_HUB_DATA_DIR", str(tmp_path / "embedded-data"))
    for name in (hub_registry.ENV_HUBS, hub_registry.ENV_HUB_NAME, hub_registry.ENV_TOKEN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hub_registry, "_registered", {})
    yield port
    embedded_hub.stop_embedded_hub()


async def test_no_address_starts_the_embedded_hub(default_port: int, tmp_path: Path) -> None:
    assert embedded_hub.embedded_hub_address() is None
    async with radiens.AsyncAllegoClient() as allego:
        assert allego.hub == "default"
        assert allego.address.port == default_port  # the well-known port was free: it is used
        assert embedded_hub.embedded_hub_address() == ("127.0.0.1", default_port)
        health = await allego.hub_health()
        assert health.serving and health.pid not in (0, os.getpid())
        process = embedded_hub._process
        assert process is not None and process.pid == health.pid
        caps = await allego.hub_capabilities()
        assert Path(caps.data_dir) == tmp_path / "embedded-data"
        await allego.restart("sim-spikes")
        await allego.set_streaming("on")
        await asyncio.sleep(0.2)
        status = await allego.get_status()
        assert status.stream.mode == "S_ON"
        # every client of the process shares it: same hub, same state
        async with radiens.AsyncAllegoClient() as other:
            assert other.address.port == default_port
            assert (await other.hub_health()).pid == health.pid
            assert (await other.get_status()).stream.mode == "S_ON"
        await allego.set_streaming("off")
    # closing a client leaves the shared hub up for the others of this process
    assert _alive(health.pid)
    with radiens.AllegoClient() as client:
        assert client.hub_health().pid == health.pid
    radiens.stop_embedded_hub()
    assert _wait_gone(health.pid)
    assert embedded_hub.embedded_hub_address() is None
    # a new client after the stop starts a fresh embedded hub
    async with radiens.AsyncAllegoClient() as allego:
        assert (await allego.hub_health()).pid not in (health.pid, os.getpid())


async def test_embedded_hub_moves_to_a_free_port_when_the_default_one_is_taken(
    default_port: int,
) -> None:
    # something that is not a hub sits on the well-known port
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", default_port))
    squatter.listen(4)
    try:
        async with radiens.AsyncAllegoClient(connect_timeout=2.0) as allego:
            assert allego.address.port != default_port
            assert (await allego.hub_health()).serving
            address = embedded_hub.embedded_hub_address()
            assert address is not None and address[1] == allego.address.port
    finally:
        squatter.close()


async def test_an_existing_default_hub_is_used(default_port: int, tmp_path: Path) -> None:
    """A hub already listening at the well-known address is found; nothing is started."""
    with HubProcess(tmp_path / "shared", "--port", str(default_port)) as hub:
        assert hub.port == default_port
        async with radiens.AsyncAllegoClient() as allego:
            assert hub.proc is not None
            assert (await allego.hub_health()).pid == hub.proc.pid
        assert embedded_hub.embedded_hub_address() is None


def _run_script(code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


EMBEDDED_SCRIPT = """
import asyncio, sys, time
import radiens_async as radiens

async def main():
    async with radiens.AsyncAllegoClient() as allego:
        print("HUB", (await allego.hub_health()).pid, flush=True)
    if sys.argv[-1] == "linger":
        time.sleep(600)

asyncio.run(main())
"""


def test_embedded_hub_stops_when_its_process_exits(default_port: int) -> None:
    proc = _run_script(EMBEDDED_SCRIPT, dict(os.environ))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    pid = int(out.split("HUB", 1)[1].split()[0])
    assert _wait_gone(pid), "the embedded hub outlived the process that started it"


def test_embedded_hub_stops_when_its_process_is_killed(default_port: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(EMBEDDED_SCRIPT), "linger"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("HUB"), proc.stderr.read() if proc.stderr else ""
        pid = int(line.split()[1])
        assert _alive(pid)
        proc.send_signal(signal.SIGKILL)  # no atexit: the hub must notice on its own
        proc.wait(timeout=30)
        assert _wait_gone(pid), "the embedded hub outlived its killed parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_another_process_finds_the_embedded_hub(default_port: int) -> None:
    with radiens.AllegoClient() as client:
        pid = client.hub_health().pid
        code = """
        import radiens_async as radiens
        with radiens.AllegoClient() as client:
            print("HUB", client.hub_health().pid, client.address.port)
        """
        proc = _run_script(code, dict(os.environ))
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.split() == ["HUB", str(pid), str(default_port)]


# -- named hubs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def named_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    with HubProcess(tmp_path_factory.mktemp("named-hub"), seed=3) as process:
        yield process


def _pid(hub: HubProcess) -> int:
    assert hub.proc is not None
    return hub.proc.pid


async def test_hub_name_from_register_hub(default_port: int, named_hub: HubProcess) -> None:
    radiens.register_hub("rig1", named_hub.address)
    async with radiens.AsyncAllegoClient(hub_name="rig1") as allego:
        assert allego.hub == "rig1"
        assert str(allego.address) == named_hub.address
        assert (await allego.hub_health()).pid == _pid(named_hub)
        assert allego.hubs["rig1"] == radiens.HubAddress.parse(named_hub.address)
        assert "default" in allego.hubs
    with radiens.AllegoClient(hub_name="rig1") as client:
        assert client.hub_health().pid == _pid(named_hub)
    assert embedded_hub.embedded_hub_address() is None


async def test_hub_name_from_the_environment(
    default_port: int, named_hub: HubProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(hub_registry.ENV_HUBS, f"rig2={named_hub.address};elsewhere=127.0.0.1:9")
    async with radiens.AsyncAllegoClient(hub_name="rig2") as allego:
        assert (await allego.hub_health()).pid == _pid(named_hub)
    # RADIENS_HUB picks the hub of clients given no name
    monkeypatch.setenv(hub_registry.ENV_HUB_NAME, "rig2")
    async with radiens.AsyncAllegoClient() as allego:
        assert allego.hub == "rig2"
        assert (await allego.hub_health()).pid == _pid(named_hub)
    assert embedded_hub.embedded_hub_address() is None


async def test_unknown_hub_name(default_port: int) -> None:
    with pytest.raises(NotFound, match="unknown hub name 'nowhere'; known hubs: default"):
        radiens.AsyncAllegoClient(hub_name="nowhere")
    with pytest.raises(NotFound):
        radiens.AllegoClient(hub_name="nowhere")


async def test_named_hub_not_answering_never_starts_an_embedded_hub(default_port: int) -> None:
    radiens.register_hub("down", f"127.0.0.1:{_free_port()}")
    t0 = time.monotonic()
    with pytest.raises(ConnectError, match="'down'"):
        async with radiens.AsyncAllegoClient(hub_name="down", connect_timeout=2.0) as allego:
            await allego.get_status()
    assert time.monotonic() - t0 < 2.0 + 5.0
    assert embedded_hub.embedded_hub_address() is None


# -- a child that fails or hangs --------------------------------------------------------------


def _fake_python(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_child_that_fails_is_a_connect_error_with_its_message(
    default_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_python(tmp_path, "echo 'hub exploded: no such thing' >&2; exit 3")
    monkeypatch.setattr(sys, "executable", fake)
    with pytest.raises(ConnectError, match="could not start the embedded hub: hub exploded"):
        embedded_hub.start_embedded_hub(default_port)
    assert embedded_hub.embedded_hub_address() is None


def test_child_that_hangs_is_killed_at_the_deadline(
    default_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_python(tmp_path, "exec sleep 600")
    monkeypatch.setattr(sys, "executable", fake)
    monkeypatch.setattr(embedded_hub, "START_TIMEOUT_S", 1.0)
    t0 = time.monotonic()
    proc, port, _err = embedded_hub._launch(default_port, None)
    assert port is None
    assert proc.poll() is not None  # killed, not left behind
    assert time.monotonic() - t0 < 1.0 + 10.0
