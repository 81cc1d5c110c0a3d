"""Start and stop real hub processes for integration tests and benchmarks."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from radiens_async.hub.server import READY_PREFIX


def free_port_block(count: int = 5, attempts: int = 200) -> int:
    """The first of ``count`` consecutive free loopback ports (for a hub's Radiens ports)."""
    for _ in range(attempts):
        base = random.randrange(20000, 60000 - count)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


class HubProcess:
    """A hub in a child process on 127.0.0.1 with a free port.

    Examples
    --------
    >>> with HubProcess(data_dir) as hub:  # doctest: +SKIP
    ...     AsyncAllegoClient(hub.address)
    """

    def __init__(
        self, data_dir: Path, *extra: str, seed: int = 0, radiens_base_port: int | None = None
    ) -> None:
        """``radiens_base_port``: also serve the Radiens ports from there (0: a free block)."""
        self.data_dir = data_dir
        if radiens_base_port == 0:
            radiens_base_port = free_port_block()
        self.radiens_base_port = radiens_base_port
        if radiens_base_port is not None:
            extra = (*extra, "--radiens-ports", "--radiens-base-port", str(radiens_base_port))
        self.extra: Sequence[str] = extra
        self.seed = seed
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.output: list[str] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def radiens_address(self) -> str:
        """``host:port`` of the hub's AllegoCore port (the others follow it)."""
        assert self.radiens_base_port is not None, "started without Radiens ports"
        return f"127.0.0.1:{self.radiens_base_port}"

    def start(self, timeout: float = 60.0) -> HubProcess:
        cmd = [
            sys.executable,
            "-m",
            "radiens_async.hub",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--seed",
            str(self.seed),
            *self.extra,
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            for line in self.proc.stdout:
                self.output.append(line)
                if line.startswith(READY_PREFIX):
                    self.port = int(line.strip().rsplit(":", 1)[1])
                    break
        finally:
            timer.cancel()
        if not self.port:
            raise RuntimeError("hub did not start:\n" + "".join(self.output))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
