"""The Radiens ports: one gRPC server per port, each serving what an Allego app serves there.

An Allego app listens on localhost:50051 (``AllegoCore``), 50052 (``Pcache1``), 50053 (``Kpi1``),
50054 (``Neurons1``) and 50055 (``AllegoLifecycle``). radiens-core also asks the lifecycle service
on the core port (``GetOfflineLicenseStatus`` with the AllegoLifecycle stub on 50051), so the core
port answers it too. Nothing else is served there: a client that works against these ports works
against a real Allego.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from typing import Any

import grpc

from radiens_async._generated.allego import allegoserver_pb2_grpc
from radiens_async.hub.pre_encoded import add_servicer
from radiens_async.hub.radiens.core_service import AllegoCoreService
from radiens_async.hub.radiens.kpi_service import Kpi1Service
from radiens_async.hub.radiens.lifecycle_service import AllegoLifecycleService
from radiens_async.hub.radiens.neurons1_service import Neurons1Service
from radiens_async.hub.radiens.pcache_service import Pcache1Service
from radiens_async.hub.radiens.radiens_domain import RadiensDomain
from radiens_async.hub.radiens.required_fields import RequiredFieldsInterceptor

log = logging.getLogger(__name__)

ALLEGO_BASE_PORT = 50051
RADIENS_HOST = "127.0.0.1"  # an Allego serves localhost only, and so do we
# radiens-core sets no message size limit on its channels; a 1024-ch look-back is large
MAX_MESSAGE_BYTES = 512 << 20


def _add_pcache(servicer: Any, server: grpc.aio.Server) -> None:
    """Pcache1, its ``GetHDSnapshot2`` replies written in wire format (hd_snapshot_wire)."""
    add_servicer(
        allegoserver_pb2_grpc.add_Pcache1Servicer_to_server,
        servicer,
        server,
        pre_encoded={"GetHDSnapshot2"},
    )


# offset from the base port -> the services on that port (name, add-to-server, servicer factory)
_Adder = Callable[[Any, grpc.aio.Server], None]
_Factory = Callable[[RadiensDomain], Any]
PORT_SERVICES: dict[int, tuple[tuple[str, _Adder, _Factory], ...]] = {
    0: (
        ("AllegoCore", allegoserver_pb2_grpc.add_AllegoCoreServicer_to_server, AllegoCoreService),
        (
            "AllegoLifecycle",
            allegoserver_pb2_grpc.add_AllegoLifecycleServicer_to_server,
            lambda _domain: AllegoLifecycleService(),
        ),
    ),
    1: (("Pcache1", _add_pcache, Pcache1Service),),
    2: (("Kpi1", allegoserver_pb2_grpc.add_Kpi1Servicer_to_server, Kpi1Service),),
    3: (("Neurons1", allegoserver_pb2_grpc.add_Neurons1Servicer_to_server, Neurons1Service),),
    4: (
        (
            "AllegoLifecycle",
            allegoserver_pb2_grpc.add_AllegoLifecycleServicer_to_server,
            lambda _domain: AllegoLifecycleService(),
        ),
    ),
}


class RadiensPortsTaken(OSError):
    """A Radiens port is in use (a real Allego may be running): nothing was started."""


def check_ports_free(host: str, base_port: int) -> None:
    """Refuse before serving anything if any of the five ports is taken."""
    for offset in sorted(PORT_SERVICES):
        port = base_port + offset
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    raise RadiensPortsTaken(
                        f"Radiens port {host}:{port} is in use (is an Allego app running?); "
                        f"the Radiens ports {base_port}-{base_port + 4} need to be free"
                    ) from exc
                raise


class RadiensPorts:
    """The five Radiens servers of a hub (started and stopped together).

    Parameters
    ----------
    domain : RadiensDomain
        The hub's domain objects, shared with its radiens.v1 services.
    base_port : int
        Port of ``AllegoCore``; the others follow it (50051 as an Allego app).
    """

    def __init__(self, domain: RadiensDomain, base_port: int = ALLEGO_BASE_PORT) -> None:
        self.domain = domain
        self.base_port = base_port
        self.servers: list[grpc.aio.Server] = []

    @property
    def ports(self) -> dict[str, int]:
        """Service name -> port (the lifecycle service: its own port, 50055)."""
        return {
            name: self.base_port + offset
            for offset, services in sorted(PORT_SERVICES.items(), reverse=True)
            for name, _add, _factory in services
        }

    async def start(self) -> None:
        """Bind all five ports or none (``RadiensPortsTaken`` if one is in use)."""
        check_ports_free(RADIENS_HOST, self.base_port)
        try:
            for offset, services in sorted(PORT_SERVICES.items()):
                server = grpc.aio.server(
                    interceptors=[RequiredFieldsInterceptor()],
                    options=[
                        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                        ("grpc.so_reuseport", 0),
                    ],
                )
                for _name, add, factory in services:
                    servicer = factory(self.domain)
                    if isinstance(servicer, AllegoCoreService):
                        servicer.core_port = self.base_port  # what its GetConfig reports
                    add(servicer, server)
                port = self.base_port + offset
                if server.add_insecure_port(f"{RADIENS_HOST}:{port}") == 0:
                    raise RadiensPortsTaken(f"could not bind Radiens port {RADIENS_HOST}:{port}")
                await server.start()
                self.servers.append(server)
        except BaseException:
            await self.stop(0)
            raise
        log.info("Radiens ports serving on %s:%d-%d", RADIENS_HOST, self.base_port, port)

    async def stop(self, grace: float = 1.0) -> None:
        """Stop every Radiens server."""
        servers, self.servers = self.servers, []
        for server in servers:
            await server.stop(grace)
