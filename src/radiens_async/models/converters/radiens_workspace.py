"""Radiens protocol workspaces (``WorkspaceControl``, ``GetWorkspace``) <-> the documented table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import pandas as pd

from radiens_async._generated.allego import common_pb2
from radiens_async.models.converters.workspace import WORKSPACE_COLUMNS

__all__ = ["control_request", "workspace_frame"]


def _when(texts: list[str]) -> pd.DatetimeIndex:
    """Timestamps as UTC datetimes: ISO 8601 text, or Unix seconds as text ('' is NaT)."""
    values: list[pd.Timestamp] = []
    for text in texts:
        try:
            values.append(pd.Timestamp(float(text), unit="s", tz="UTC"))
        except ValueError:
            if not text:
                values.append(pd.Timestamp("NaT"))
                continue
            stamp = pd.Timestamp(text)
            values.append(
                stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
            )
    return pd.DatetimeIndex(values)


def workspace_frame(descs: Iterable[common_pb2.WorkspaceDescriptor]) -> pd.DataFrame:
    """One row per workspace, sorted by ID; ``app`` is the enum name in upper case."""
    items = sorted(descs, key=lambda d: d.iD)
    return pd.DataFrame(
        {
            "ID": [d.iD for d in items],
            "app": [common_pb2.WorkspaceApp.Name(d.app).upper() for d in items],
            "last_used": _when([d.timestampLastUsed for d in items]),
            "last_modified": _when([d.timestampModified for d in items]),
            "is_modified": pd.Series([d.isModified for d in items], dtype=bool),
            "notes": pd.Series([d.annotation.notes for d in items], dtype=object),
            "tags": pd.Series([d.annotation.tags for d in items], dtype=object),
        },
        columns=WORKSPACE_COLUMNS,
    )


def control_request(
    command: int,
    workspace_id: str | None = None,
    *,
    tags: str = "",
    notes: str = "",
    force: bool | None = None,
) -> common_pb2.WorkspaceControlRequest:
    """A ``WorkspaceControl`` request of the Allego app."""
    msg = common_pb2.WorkspaceControlRequest(
        cmd=cast("common_pb2.WorkspaceCommands", command), app=common_pb2.Allego
    )
    if workspace_id is not None:
        msg.workspaceID = workspace_id
    if tags or notes:
        msg.annotation.CopyFrom(common_pb2.AnnotateBundle(tags=tags, notes=notes))
    if force is not None:
        msg.isForceOverwrite = force
    return msg
