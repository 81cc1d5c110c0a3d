"""``client.workspace()``: save, switch, delete and list Allego workspaces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pandas as pd

from radiens_async.client.backends.allego_backend import WorkspaceBackend
from radiens_async.client.base import AsyncHubClient
from radiens_async.client.hub_registry import HubAddress
from radiens_async.errors import InvalidArgument


def _check_id(workspace_id: object) -> str:
    if not isinstance(workspace_id, str):
        raise InvalidArgument(f"workspace_id must be a str, got {workspace_id!r}")
    return workspace_id


class AsyncWorkspaceClient:
    """Workspace client object for AsyncAllegoClient (``allego.workspace()``).

    A workspace is a named snapshot of the instrument: system mode, sampling rate, sensors,
    spike-sorter thresholds / window / shadow, stimulation parameters, digital and analog out,
    and the recording configuration. Workspaces live in the hub's store and survive a hub
    restart.

    Examples
    --------
    >>> async with AsyncAllegoClient() as allego:  # doctest: +SKIP
    ...     ws = allego.workspace()
    ...     await ws.workspace_save("my_wspace", tags="mouse-3", notes="baseline")
    ...     await ws.workspace_switch("my_wspace")
    ...     await ws.workspace_list()
    """

    def __init__(
        self, parent: AsyncHubClient, backend: Callable[[], Awaitable[WorkspaceBackend]]
    ) -> None:
        self._parent = parent
        self._backend = backend

    @property
    def id(self) -> str:
        """UID of this client session."""
        return self._parent.id

    @property
    def hubs(self) -> dict[str, HubAddress]:
        """Every hub name this process knows, with its address."""
        return self._parent.hubs

    async def workspace_save(
        self,
        workspace_id: str | None = None,
        tags: str = "",
        notes: str = "",
        *,
        force: bool = True,
    ) -> None:
        """Save the current instrument state as a workspace and make it the current one.

        Parameters
        ----------
        workspace_id : str, optional
            Workspace ID (default: the current workspace, or ``'default'`` when there is none).
        tags, notes : str
            Free text kept with the workspace.
        force : bool
            Overwrite a workspace of that ID (the documented behaviour); with False an existing
            ID is refused.

        Raises
        ------
        InvalidArgument
            An empty or malformed ID, tags or notes that are not strings.
        AlreadyExists
            The ID duplicates an existing one (differs only in case), or exists and ``force``
            is False.

        Examples
        --------
        >>> await allego.workspace().workspace_save(  # doctest: +SKIP
        ...     workspace_id='my_wspace', tags='my_tags', notes='my_notes')
        """
        if workspace_id is not None:
            workspace_id = _check_id(workspace_id)
        for name, value in (("tags", tags), ("notes", notes)):
            if not isinstance(value, str):
                raise InvalidArgument(f"{name} must be a str, got {value!r}")
        await (await self._backend()).workspace_save(workspace_id, tags, notes, bool(force))

    async def workspace_switch(self, workspace_id: str) -> None:
        """Switch to a saved workspace: the instrument takes its saved state.

        Mode, sampling rate, sensors, sorter thresholds / window / shadow, stimulation, digital
        and analog out and the recording configuration are restored together, or nothing
        changes. Streaming restarts (a new stream) if it was on.

        Raises
        ------
        NotFound
            Unknown workspace.
        FailedPrecondition
            Recording is on, or the saved state cannot be restored (e.g. its recording
            directory is gone).

        Examples
        --------
        >>> await allego.workspace().workspace_switch('my_wspace')  # doctest: +SKIP
        """
        workspace_id = _check_id(workspace_id)
        await (await self._backend()).workspace_switch(workspace_id)

    async def workspace_delete(self, workspace_id: str) -> None:
        """Delete a workspace (not the current one).

        Raises
        ------
        NotFound
            Unknown workspace.
        FailedPrecondition
            It is the current workspace.

        Examples
        --------
        >>> await allego.workspace().workspace_delete('my_wspace')  # doctest: +SKIP
        """
        workspace_id = _check_id(workspace_id)
        await (await self._backend()).workspace_delete(workspace_id)

    async def workspace_current(self) -> pd.DataFrame:
        """The current workspace as a one-row table (no rows before the first save or switch).

        Columns ``ID, app, last_used, last_modified, is_modified, notes, tags``; ``is_modified``
        tells whether the live instrument differs from its saved state.

        Examples
        --------
        >>> await allego.workspace().workspace_current()  # doctest: +SKIP
        """
        return await (await self._backend()).workspace_current()

    async def workspace_list(self) -> pd.DataFrame:
        """Every workspace, sorted by ID (columns as :meth:`workspace_current`).

        Examples
        --------
        >>> await allego.workspace().workspace_list()  # doctest: +SKIP
        """
        return await (await self._backend()).workspace_list()
