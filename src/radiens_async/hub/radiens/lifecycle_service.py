"""``allego.AllegoLifecycle``: health, version and licence status, as an Allego answers them."""

from __future__ import annotations

import socket
import uuid

import grpc

from radiens_async._generated.allego import allegoserver_pb2_grpc, common_pb2
from radiens_async.hub.radiens.healthcheck import HealthcheckCalls
from radiens_async.hub.status_codes import unary

# The Allego release whose protocol radiens-core 0.1.2 publishes and our Radiens ports serve;
# radiens-core gates look-back ranges, KPI and GetHDSnapshot2 on >= 5.7.0.
ALLEGO_PROTOCOL_VERSION = "5.7.0"


def hub_hardware_uuid() -> str:
    """A stable device UUID of this machine (what an offline-licensed Allego reports)."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"radiens-async-hub.{socket.gethostname()}"))


class AllegoLifecycleService(HealthcheckCalls, allegoserver_pb2_grpc.AllegoLifecycleServicer):
    """Lifecycle of the hub seen as an Allego app."""

    @unary
    async def GetVersion(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.ServerVersion:
        return common_pb2.ServerVersion(version=ALLEGO_PROTOCOL_VERSION)

    @unary
    async def GetOfflineLicenseStatus(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.OfflineLicenseStatus:
        return common_pb2.OfflineLicenseStatus(isVerified=True, hardwareUUID=hub_hardware_uuid())
