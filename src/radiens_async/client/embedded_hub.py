"""The embedded hub: started as a child process when the default hub does not answer.

One embedded hub serves every client of the process (Allego, Videre and Curate clients see the
same hub state). It is stopped when the process exits (``atexit``), and it stops by itself if the
process that started it dies (it watches its parent). Another process on the machine finds it at
the same well-known address.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time

from radiens_async.errors import ConnectError
from radiens_async.hub_contract import READY_PREFIX

START_TIMEOUT_S = 60.0

_lock = threading.Lock()
_process: subprocess.Popen[str] | None = None
_address: tuple[str, int] | None = None


def _launch(port: int, data_dir: str | None) -> tuple[subprocess.Popen[str], int | None, str]:
    cmd = [
        sys.executable,
        "-m",
        "radiens_async.hub",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--parent-pid",
        str(os.getpid()),
    ]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    assert proc.stdout is not None
    # readline() blocks: a child that hangs before its ready line is killed at the deadline
    watchdog = threading.Timer(START_TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(READY_PREFIX):
                # keep draining stdout so the child never blocks on a full pipe
                threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
                assert proc.stderr is not None
                threading.Thread(target=_drain, args=(proc.stderr,), daemon=True).start()
                return proc, int(line.strip().rsplit(":", 1)[1]), ""
    finally:
        watchdog.cancel()
    proc.kill()
    _, err = proc.communicate(timeout=5)
    return proc, None, err


def _drain(stream: object) -> None:
    for _ in stream:  # type: ignore[attr-defined]
        pass


def start_embedded_hub(preferred_port: int, data_dir: str | None = None) -> tuple[str, int]:
    """Start (once per process) the embedded hub; returns its ``(host, port)``.

    It takes ``preferred_port`` (the well-known default) if it can, a free port otherwise.
    Blocking: call it from a worker thread in async code.
    """
    global _process, _address
    with _lock:
        if _process is not None and _process.poll() is None and _address is not None:
            return _address
        proc, port, err = _launch(preferred_port, data_dir)
        if port is None:
            proc, port, err = _launch(0, data_dir)
        if port is None:
            raise ConnectError(f"could not start the embedded hub: {err.strip()[-500:]}")
        _process, _address = proc, ("127.0.0.1", port)
        return _address


def embedded_hub_address() -> tuple[str, int] | None:
    """The embedded hub's address, if this process started one that still runs."""
    if _process is not None and _process.poll() is None:
        return _address
    return None


def stop_embedded_hub(timeout: float = 10.0) -> None:
    """Stop the embedded hub (SIGTERM, then SIGKILL after ``timeout``)."""
    global _process, _address
    with _lock:
        proc, _process, _address = _process, None, None
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


atexit.register(stop_embedded_hub)
