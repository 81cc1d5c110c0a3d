"""The Hub service: health, version and capabilities."""

from __future__ import annotations

import os
import platform
import time

import grpc

from radiens_async._generated.radiens.v1 import common_pb2, hub_pb2, hub_pb2_grpc
from radiens_async._version import PROTOCOL_VERSION, __version__
from radiens_async.hub.status_codes import unary
from radiens_async.utils.aliases import is_simulator
from radiens_async.utils.constants import VALID_SAMPLING_FREQS
from radiens_async.utils.enums import SystemMode


class HubService(hub_pb2_grpc.HubServicer):
    """Answers what a client asks before anything else."""

    def __init__(self, services: list[str], data_dir: str, auth_required: bool) -> None:
        self._started = time.monotonic()
        self._services = services
        self._data_dir = data_dir
        self._auth_required = auth_required

    @unary
    async def Health(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> hub_pb2.HealthReply:
        return hub_pb2.HealthReply(
            serving=True, uptime_s=time.monotonic() - self._started, pid=os.getpid()
        )

    @unary
    async def Version(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> hub_pb2.VersionReply:
        return hub_pb2.VersionReply(
            hub_version=__version__,
            protocol_version=PROTOCOL_VERSION,
            python_version=platform.python_version(),
        )

    @unary
    async def Capabilities(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> hub_pb2.CapabilitiesReply:
        return hub_pb2.CapabilitiesReply(
            services=self._services,
            system_modes=[m.name.lower() for m in SystemMode],
            simulator_modes=[m.name.lower() for m in SystemMode if is_simulator(m)],
            sampling_freqs=[float(f) for f in VALID_SAMPLING_FREQS],
            auth_required=self._auth_required,
            data_dir=self._data_dir,
        )
