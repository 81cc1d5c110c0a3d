"""Workspaces on the Radiens protocol: ``WorkspaceDescriptor`` messages and request parts.

A descriptor carries what our own protocol's ``WorkspaceInfo`` does: the ID, the app, whether the
live instrument differs from the saved state, the last-used and last-modified times (RFC 3339 in
UTC with microseconds, e.g. ``2024-09-06T13:55:32.125000Z``) and the annotation (notes, tags).
"""

from __future__ import annotations

from datetime import UTC, datetime

from radiens_async._generated.allego import common_pb2
from radiens_async.errors import InvalidArgument
from radiens_async.hub.workspaces import WorkspaceInfo
from radiens_async.utils.enums import WorkspaceApp


def wire_timestamp(epoch_s: float) -> str:
    """An epoch time in seconds as an RFC 3339 UTC string with microseconds.

    Examples
    --------
    >>> wire_timestamp(0.5)
    '1970-01-01T00:00:00.500000Z'
    """
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def workspace_descriptor(info: WorkspaceInfo) -> common_pb2.WorkspaceDescriptor:
    """One workspace as a complete ``WorkspaceDescriptor`` (the annotation's name is its ID)."""
    return common_pb2.WorkspaceDescriptor(
        iD=info.id,
        app=common_pb2.WorkspaceApp.Name(int(info.app)),
        isModified=info.is_modified,
        timestampLastUsed=wire_timestamp(info.last_used),
        timestampModified=wire_timestamp(info.last_modified),
        annotation=common_pb2.AnnotateBundle(name=info.id, notes=info.notes, tags=info.tags),
    )


def workspace_reply(infos: list[WorkspaceInfo]) -> common_pb2.GetWorkspaceReply:
    """``GetWorkspace``: the descriptors keyed by workspace ID."""
    reply = common_pb2.GetWorkspaceReply()
    for info in infos:
        reply.workspaceDesc[info.id].CopyFrom(workspace_descriptor(info))
    return reply


def check_allego_app(app: int) -> None:
    """An Allego keeps Allego workspaces only.

    Raises
    ------
    InvalidArgument
        For the Curate or Videre app.
    """
    if app != WorkspaceApp.ALLEGO:
        raise InvalidArgument(
            f"Allego keeps Allego workspaces only, not {common_pb2.WorkspaceApp.Name(app)} ones"
        )


def annotation_text(request: common_pb2.WorkspaceControlRequest) -> tuple[str, str]:
    """``(tags, notes)`` of a control request (empty when it has no annotation)."""
    if not request.HasField("annotation"):
        return "", ""
    return request.annotation.tags, request.annotation.notes


def required_workspace_id(request: common_pb2.WorkspaceControlRequest, command: str) -> str:
    """The request's workspace ID, which ``command`` needs.

    Raises
    ------
    InvalidArgument
        The request has none.
    """
    if not request.HasField("workspaceID"):
        raise InvalidArgument(f"{command} needs a workspaceID")
    return request.workspaceID
