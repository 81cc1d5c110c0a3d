"""Workspaces: named snapshots of the Allego instrument state, persisted in the hub's store.

:mod:`.instrument_snapshot` captures and restores the instrument (no storage);
:mod:`.workspace_store` owns the SQLite tables; :mod:`.workspaces` puts them together behind the
save / switch / delete / current / list operations. No gRPC here.
"""

from __future__ import annotations

from radiens_async.hub.workspaces.workspaces import WorkspaceInfo, Workspaces

__all__ = ["WorkspaceInfo", "Workspaces"]
