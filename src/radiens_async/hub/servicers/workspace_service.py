"""The Workspace service: validates requests, calls :class:`Workspaces`, converts replies."""

from __future__ import annotations

import grpc

from radiens_async._generated.radiens.v1 import common_pb2, workspace_pb2, workspace_pb2_grpc
from radiens_async.hub.status_codes import unary
from radiens_async.hub.workspaces import WorkspaceInfo, Workspaces


def _info(info: WorkspaceInfo) -> workspace_pb2.WorkspaceInfo:
    return workspace_pb2.WorkspaceInfo(
        id=info.id,
        app=int(info.app),
        last_used=info.last_used,
        last_modified=info.last_modified,
        is_modified=info.is_modified,
        notes=info.notes,
        tags=info.tags,
    )


class WorkspaceService(workspace_pb2_grpc.WorkspaceServicer):
    """Named snapshots of the Allego instrument state."""

    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces

    @unary
    async def Save(
        self, request: workspace_pb2.WorkspaceSaveRequest, context: grpc.aio.ServicerContext
    ) -> workspace_pb2.WorkspaceInfo:
        wid = request.workspace_id if request.HasField("workspace_id") else None
        info = self.workspaces.save(wid, request.tags, request.notes, force=request.force)
        return _info(info)

    @unary
    async def Switch(
        self, request: workspace_pb2.WorkspaceIdRequest, context: grpc.aio.ServicerContext
    ) -> workspace_pb2.WorkspaceInfo:
        return _info(self.workspaces.switch(request.workspace_id))

    @unary
    async def Delete(
        self, request: workspace_pb2.WorkspaceIdRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Empty:
        self.workspaces.delete(request.workspace_id)
        return common_pb2.Empty()

    @unary
    async def Current(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> workspace_pb2.WorkspaceCurrentReply:
        info = self.workspaces.current()
        reply = workspace_pb2.WorkspaceCurrentReply()
        if info is not None:
            reply.workspace.CopyFrom(_info(info))
        return reply

    @unary
    async def List(
        self, request: common_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> workspace_pb2.WorkspaceListReply:
        return workspace_pb2.WorkspaceListReply(
            workspaces=[_info(i) for i in self.workspaces.list()]
        )
