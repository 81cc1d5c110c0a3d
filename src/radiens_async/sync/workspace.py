"""Blocking ``workspace()`` sub-client, derived from the async one."""

from __future__ import annotations

from typing import Any

from anyio.from_thread import BlockingPortal

from radiens_async.client.workspace import AsyncWorkspaceClient
from radiens_async.sync.blocking import SyncClientBase, blocking, sync_property


class WorkspaceClient(SyncClientBase):
    """Workspace client object for AllegoClient (blocking twin of the async one).

    Examples
    --------
    >>> client.workspace().workspace_save(workspace_id='my_wspace', tags='t', notes='n')
    ... # doctest: +SKIP
    """

    def __init__(self, portal: BlockingPortal, async_client: AsyncWorkspaceClient) -> None:
        self._portal = portal
        self._async: Any = async_client

    hubs = sync_property("hubs", "dict of active radiens hubs, with hub ID as key.")
    id = sync_property("id", "UID of this client session.")

    workspace_save = blocking(AsyncWorkspaceClient.workspace_save)
    workspace_switch = blocking(AsyncWorkspaceClient.workspace_switch)
    workspace_delete = blocking(AsyncWorkspaceClient.workspace_delete)
    workspace_current = blocking(AsyncWorkspaceClient.workspace_current)
    workspace_list = blocking(AsyncWorkspaceClient.workspace_list)
