"""Workspace messages -> the documented DataFrames."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from radiens_async._generated.radiens.v1 import workspace_pb2
from radiens_async.utils.enums import WorkspaceApp

WORKSPACE_COLUMNS = ["ID", "app", "last_used", "last_modified", "is_modified", "notes", "tags"]
"""The documented columns of ``workspace_current()`` and ``workspace_list()``."""


def workspaces_to_frame(infos: Sequence[workspace_pb2.WorkspaceInfo]) -> pd.DataFrame:
    """One row per workspace; ``app`` is the enum name, times are UTC timestamps."""
    frame = pd.DataFrame(
        {
            "ID": [i.id for i in infos],
            "app": [WorkspaceApp(i.app).name for i in infos],
            "last_used": pd.to_datetime([i.last_used for i in infos], unit="s", utc=True),
            "last_modified": pd.to_datetime([i.last_modified for i in infos], unit="s", utc=True),
            "is_modified": pd.Series([i.is_modified for i in infos], dtype=bool),
            "notes": pd.Series([i.notes for i in infos], dtype=object),
            "tags": pd.Series([i.tags for i in infos], dtype=object),
        },
        columns=WORKSPACE_COLUMNS,
    )
    return frame
