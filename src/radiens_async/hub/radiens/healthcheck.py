"""The ``Healthcheck`` every Radiens service answers (a mixin of each servicer)."""

from __future__ import annotations

import grpc

from radiens_async._generated.allego import common_pb2
from radiens_async.hub.status_codes import unary


class HealthcheckCalls:
    """``Healthcheck(StandardRequest) -> StandardReply``: an empty ``errMsg`` while serving."""

    @unary
    async def Healthcheck(
        self, request: common_pb2.StandardRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.StandardReply:
        return common_pb2.StandardReply(errMsg="")
