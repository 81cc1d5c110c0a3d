"""Assembly of the hub: configuration, services, the gRPC server, signals and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from radiens_async._generated.radiens.v1 import (
    allego_pb2_grpc,
    curate_pb2_grpc,
    hub_pb2_grpc,
    neurons_pb2_grpc,
    workspace_pb2_grpc,
)
from radiens_async.hub.auth import TokenInterceptor
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.datasets.catalog import DatasetCatalog
from radiens_async.hub.datasets.videre_domain import VIDERE_SERVICES, VidereDomain
from radiens_async.hub.jobs.curate_jobs import CurateJobs
from radiens_async.hub.jobs.job_runner import JobRunner
from radiens_async.hub.live_notifier import LiveNotifier
from radiens_async.hub.pre_encoded import add_servicer
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.radiens_ports import ALLEGO_BASE_PORT, RadiensPorts
from radiens_async.hub.servicers.allego_service import AllegoService
from radiens_async.hub.servicers.curate_service import CurateService
from radiens_async.hub.servicers.hub_service import HubService
from radiens_async.hub.servicers.neurons_service import NeuronsService
from radiens_async.hub.servicers.workspace_service import WorkspaceService
from radiens_async.hub.store import HubStore
from radiens_async.hub.workspaces import Workspaces
from radiens_async.hub_contract import READY_PREFIX, is_loopback

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 512 << 20
# The acquisition thread must get the GIL back quickly when a worker thread (block synthesis,
# spike sorting, a DSP job) holds it in Python code; CPython's default is 5 ms.
GIL_SWITCH_INTERVAL_S = 0.001
# accept the clients' keepalive pings (radiens_async.client.tuned_channel: every >= 1 s, with or
# without calls or data); without these gRPC answers pings more often than every 5 minutes with
# GOAWAY "too_many_pings". Pings closer than 0.5 s are strikes; 2 strikes close the connection.
KEEPALIVE_SERVER_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 500),
    ("grpc.http2.max_ping_strikes", 2),
]
SERVICES = [
    "radiens.v1.Hub",
    "radiens.v1.Allego",
    "radiens.v1.Neurons",
    "radiens.v1.Curate",
    "radiens.v1.Workspace",
    *VIDERE_SERVICES,
]


def default_data_dir() -> Path:
    """Where a hub keeps its state unless told otherwise."""
    return Path(os.environ.get("RADIENS_HUB_DATA_DIR", Path.home() / ".radiens-async" / "hub"))


class HubConfigError(ValueError):
    """The hub was asked to start in a way it refuses (e.g. a public bind without a token)."""


@dataclass
class HubConfig:
    """How to run a hub.

    ``port=0`` picks a free port; the chosen address is printed on the ready line.
    """

    host: str = "127.0.0.1"
    port: int = 50150
    data_dir: Path = field(default_factory=default_data_dir)
    token: str | None = None
    seed: int = 0
    cache_seconds: float = 10.0
    cache_mb: int = 512
    stream_loop_ms: float = 1.0
    record_buffer_mb: int = 2048
    parent_pid: int | None = None
    tls_cert: Path | None = None  # PEM certificate chain; with tls_key, the hub serves TLS
    tls_key: Path | None = None
    # also serve the Radiens wire protocol where an Allego app does (localhost:50051-50055)
    radiens_ports: bool = False
    radiens_base_port: int = ALLEGO_BASE_PORT

    def validate(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise HubConfigError(
                f"refusing to bind {self.host}: a hub reachable from other machines needs an "
                "access token (--token or RADIENS_HUB_TOKEN)"
            )
        if not 0 <= self.port <= 65535:
            raise HubConfigError(f"invalid port {self.port}")
        if self.stream_loop_ms <= 0 or self.cache_seconds <= 0 or self.cache_mb <= 0:
            raise HubConfigError("stream loop, cache seconds and cache size must be positive")
        if self.radiens_ports and not 1 <= self.radiens_base_port <= 65535 - 4:
            raise HubConfigError(f"invalid Radiens base port {self.radiens_base_port}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise HubConfigError("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
        for what, path in (("certificate", self.tls_cert), ("key", self.tls_key)):
            if path is not None and not Path(path).is_file():
                raise HubConfigError(f"TLS {what} file {str(path)!r} does not exist")

    def server_credentials(self) -> grpc.ServerCredentials | None:
        """TLS credentials from ``tls_cert`` / ``tls_key``, or None for plain HTTP/2."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        try:
            pair = (Path(self.tls_key).read_bytes(), Path(self.tls_cert).read_bytes())
        except OSError as exc:
            raise HubConfigError(f"cannot read the TLS certificate or key: {exc}") from exc
        if b"-----BEGIN" not in pair[0] or b"-----BEGIN" not in pair[1]:
            raise HubConfigError("the TLS certificate and key must be PEM files")
        return grpc.ssl_server_credentials([pair])


class Hub:
    """A running hub: the gRPC server and the domain objects behind it."""

    def __init__(self, config: HubConfig) -> None:
        config.validate()
        self.config = config
        self.device = AllegoDevice(
            seed=config.seed,
            cache_seconds=config.cache_seconds,
            cache_budget_bytes=config.cache_mb << 20,
            stream_loop_ms=config.stream_loop_ms,
            data_dir=config.data_dir,
            record_queue_bytes=config.record_buffer_mb << 20,
        )
        # the one persistent store of this hub; each domain owns its tables in it
        self.store = HubStore(config.data_dir)
        self.curate_jobs = CurateJobs(JobRunner(self.store))
        # linked datasets; other services look datasets up here
        self.datasets = DatasetCatalog(self.store)
        self.workspaces = Workspaces(self.store, self.device)
        self.videre = VidereDomain(self.datasets, self.device)
        self.server: grpc.aio.Server | None = None
        self.radiens: RadiensPorts | None = None
        self.port = 0
        self._stopped = asyncio.Event()

    async def start(self) -> int:
        """Bind and start serving; returns the bound port."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        interceptors = [TokenInterceptor(self.config.token)] if self.config.token else []
        server = grpc.aio.server(
            interceptors=interceptors,
            options=[
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
                *KEEPALIVE_SERVER_OPTIONS,
            ],
        )
        notifier = LiveNotifier(asyncio.get_running_loop())
        self.device.block_listeners.append(notifier)
        hub_pb2_grpc.add_HubServicer_to_server(
            HubService(SERVICES, str(self.config.data_dir), bool(self.config.token)), server
        )
        # StreamSignals yields wire bytes written straight from the cache (signal_chunk_wire)
        add_servicer(
            allego_pb2_grpc.add_AllegoServicer_to_server,
            AllegoService(self.device, notifier),
            server,
            pre_encoded={"StreamSignals", "GetSignals"},
        )
        spike_notifier = LiveNotifier(asyncio.get_running_loop())
        self.device.spike_listeners.append(spike_notifier)
        neurons_pb2_grpc.add_NeuronsServicer_to_server(
            NeuronsService(self.device, spike_notifier, self.datasets), server
        )
        curate_pb2_grpc.add_CurateServicer_to_server(CurateService(self.curate_jobs), server)
        workspace_pb2_grpc.add_WorkspaceServicer_to_server(
            WorkspaceService(self.workspaces), server
        )
        self.videre.add_to_server(server)
        host = self.config.host
        bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        credentials = self.config.server_credentials()
        if credentials is None and not is_loopback(self.config.host):
            log.warning(
                "serving %s without TLS: the access token and all data travel in clear text "
                "(use --tls-cert/--tls-key)",
                self.config.host,
            )
        target = f"{bind_host}:{self.config.port}"
        port = (
            server.add_insecure_port(target)
            if credentials is None
            else server.add_secure_port(target, credentials)
        )
        if port == 0:
            raise OSError(f"could not bind {host}:{self.config.port} (address in use?)")
        if self.config.radiens_ports:
            # before our own port starts: a taken Radiens port refuses the whole hub
            radiens = RadiensPorts(
                RadiensDomain(
                    self.device, self.workspaces, self.datasets, metrics=self.videre.metrics
                ),
                self.config.radiens_base_port,
            )
            await radiens.start()
            self.radiens = radiens
        await server.start()
        self.server, self.port = server, port
        return port

    async def stop(self, grace: float = 1.0) -> None:
        """Stop acquisition, then the server (in-flight calls get ``grace`` seconds)."""
        self.device.close()
        await asyncio.to_thread(self.curate_jobs.runner.shutdown)
        self.datasets.close()
        if self.radiens is not None:
            await self.radiens.stop(grace)
        if self.server is not None:
            await self.server.stop(grace)
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()


async def run_hub(config: HubConfig, on_ready: Callable[[str, int], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or the parent process exits, with ``parent_pid``)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    hub = Hub(config)
    port = await hub.start()
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop_requested.set)
    watcher = None
    if config.parent_pid is not None:
        watcher = asyncio.create_task(_watch_parent(config.parent_pid, stop_requested))
    if on_ready is not None:
        on_ready(config.host, port)
    else:
        print(f"{READY_PREFIX}{config.host}:{port}", flush=True)
    await stop_requested.wait()
    log.info("hub shutting down")
    if watcher is not None:
        watcher.cancel()
    await hub.stop()


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    """An embedded hub ends with the process that started it, even if that one was killed."""
    while True:
        if os.getppid() != parent_pid:
            stop.set()
            return
        await asyncio.sleep(0.5)


def serve_forever(config: HubConfig) -> int:
    """Run a hub in this process (the ``hub serve`` command); returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config.validate()
        asyncio.run(run_hub(config))
    except HubConfigError as exc:
        print(f"radiens-async hub: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"radiens-async hub: {exc}", file=sys.stderr)
        return 1
    return 0
