"""Allego workspaces: save, switch, delete, current and list, persisted in the hub's store.

* ``save(id)`` captures the instrument and stores it under ``id`` (the current workspace when no
  ID is given, ``"default"`` when there is none yet) and makes it current. Saving over an
  existing workspace needs ``force`` (the documented client always forces); an ID that differs
  from an existing one only in case or surrounding blanks is a duplicate and is refused.
* ``switch(id)`` restores the saved instrument state (all or nothing) and makes it current.
* ``delete(id)`` removes a workspace; the current one cannot be deleted.
* ``is_modified`` tells whether the live instrument differs from the current workspace's saved
  state.

The current workspace is remembered across hub restarts; the instrument itself starts in its
initial state, so after a restart the current workspace reports ``is_modified`` until it is
switched to again.
"""

from __future__ import annotations

import contextlib
import json
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

from radiens_async.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from radiens_async.hub.daq.allego_device import AllegoDevice
from radiens_async.hub.store import HubStore
from radiens_async.hub.workspaces import instrument_snapshot
from radiens_async.hub.workspaces.workspace_store import WorkspaceRow, WorkspaceStore
from radiens_async.utils.enums import WorkspaceApp

DEFAULT_WORKSPACE_ID: Final = "default"
MAX_ID_LENGTH: Final = 128
MAX_TEXT_LENGTH: Final = 10_000


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    """One row of ``workspace_list`` / ``workspace_current``."""

    id: str
    app: WorkspaceApp
    last_used: float
    last_modified: float
    is_modified: bool
    notes: str
    tags: str


def check_workspace_id(workspace_id: object) -> str:
    """A workspace ID: a non-empty string of printable characters, at most 128 long.

    Raises
    ------
    InvalidArgument
        Otherwise.
    """
    if not isinstance(workspace_id, str):
        raise InvalidArgument(f"workspace_id must be a str, got {workspace_id!r}")
    if not workspace_id.strip():
        raise InvalidArgument("workspace_id must not be empty")
    if len(workspace_id) > MAX_ID_LENGTH:
        raise InvalidArgument(f"workspace_id must be at most {MAX_ID_LENGTH} characters long")
    if any(unicodedata.category(c).startswith("C") for c in workspace_id):
        raise InvalidArgument(f"workspace_id {workspace_id!r} contains control characters")
    if workspace_id != workspace_id.strip():
        raise InvalidArgument(f"workspace_id {workspace_id!r} has leading or trailing blanks")
    return workspace_id


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a str, got {value!r}")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidArgument(f"{name} must be at most {MAX_TEXT_LENGTH} characters long")
    return value


def _canonical(snapshot: dict[str, Any]) -> str:
    return json.dumps(json.loads(json.dumps(snapshot)), sort_keys=True)


class Workspaces:
    """The workspaces of one hub, acting on its Allego device.

    Parameters
    ----------
    store : HubStore
        The hub's persistent store (this class owns its ``workspaces`` tables).
    device : AllegoDevice
        The instrument whose state is saved and restored.

    Examples
    --------
    >>> import tempfile, pathlib  # doctest: +SKIP
    >>> ws = Workspaces(HubStore(pathlib.Path(tempfile.mkdtemp())), AllegoDevice())
    >>> ws.save("my_wspace", tags="t", notes="n").id
    'my_wspace'
    """

    def __init__(self, store: HubStore, device: AllegoDevice) -> None:
        self.rows = WorkspaceStore(store)
        self.device = device

    def _info(
        self, row: WorkspaceRow, current: str | None, *, just_captured: bool = False
    ) -> WorkspaceInfo:
        # a row whose snapshot was just taken from the instrument matches it: no second capture
        modified = (
            not just_captured
            and row.id == current
            and _canonical(row.snapshot) != _canonical(instrument_snapshot.capture(self.device))
        )
        return WorkspaceInfo(
            row.id,
            WorkspaceApp(row.app),
            row.last_used,
            row.last_modified,
            modified,
            row.notes,
            row.tags,
        )

    def _require(self, workspace_id: object) -> WorkspaceRow:
        wid = check_workspace_id(workspace_id)
        row = self.rows.get(wid)
        if row is None:
            known = ", ".join(r.id for r in self.rows.all()) or "none"
            raise NotFound(f"unknown workspace {wid!r} (workspaces: {known})")
        return row

    def save(
        self,
        workspace_id: str | None = None,
        tags: str = "",
        notes: str = "",
        *,
        force: bool = True,
    ) -> WorkspaceInfo:
        """Store the instrument state under ``workspace_id`` and make it current.

        Raises
        ------
        InvalidArgument
            A malformed ID, tags or notes.
        AlreadyExists
            The ID duplicates an existing one (differs only in case), or exists and ``force``
            is False.
        """
        if workspace_id is None:
            workspace_id = self.rows.current_id() or DEFAULT_WORKSPACE_ID
        wid = check_workspace_id(workspace_id)
        tags, notes = _check_text("tags", tags), _check_text("notes", notes)
        clash = self.rows.find_key(wid)
        if clash is not None and clash != wid:
            raise AlreadyExists(
                f"workspace id {wid!r} duplicates the existing workspace {clash!r} "
                "(ids differ only in case)"
            )
        if clash is not None and not force:
            raise AlreadyExists(f"workspace {wid!r} exists; save with force to overwrite it")
        now = time.time()
        row = WorkspaceRow(
            wid,
            int(WorkspaceApp.ALLEGO),
            instrument_snapshot.capture(self.device),
            tags,
            notes,
            now,
            now,
        )
        self.rows.put(row, current=True)
        return self._info(row, wid, just_captured=True)

    def row(self, workspace_id: str | None = None) -> WorkspaceRow:
        """The stored workspace ``workspace_id`` (default: the current one).

        Raises
        ------
        NotFound
            Unknown workspace, or no current one.
        """
        if workspace_id is None:
            workspace_id = self.rows.current_id()
            if workspace_id is None:
                raise NotFound("there is no current workspace: name the workspace")
        return self._require(workspace_id)

    def add(
        self,
        workspace_id: str,
        snapshot: dict[str, Any],
        tags: str = "",
        notes: str = "",
        *,
        force: bool = False,
    ) -> WorkspaceInfo:
        """Store a saved instrument state (an imported workspace) without applying it.

        Raises
        ------
        InvalidArgument
            A malformed ID, tags, notes or snapshot (one this hub could not restore).
        AlreadyExists
            The ID exists (and ``force`` is False) or duplicates one in case only.
        """
        wid = check_workspace_id(workspace_id)
        tags, notes = _check_text("tags", tags), _check_text("notes", notes)
        if not isinstance(snapshot, dict):
            raise InvalidArgument("a workspace snapshot must be a JSON object")
        # a valid state this instrument cannot take right now (e.g. while recording) is stored;
        # switching to it says why it cannot be applied
        with contextlib.suppress(FailedPrecondition):
            instrument_snapshot.prepare_restore(self.device, snapshot)
        clash = self.rows.find_key(wid)
        if clash is not None and (clash != wid or not force):
            raise AlreadyExists(
                f"workspace {wid!r} exists"
                + ("" if clash == wid else f" (as {clash!r})")
                + "; import with force to overwrite it"
            )
        now = time.time()
        current = self.rows.current_id()
        row = WorkspaceRow(wid, int(WorkspaceApp.ALLEGO), snapshot, tags, notes, now, now)
        self.rows.put(row, current=current == wid)
        return self._info(row, current)

    def switch(self, workspace_id: str) -> WorkspaceInfo:
        """Restore the saved instrument state of ``workspace_id`` and make it current.

        Raises
        ------
        NotFound
            Unknown workspace.
        FailedPrecondition
            Recording, or the saved state cannot be restored (hardware mode, missing recording
            directory); nothing changes.
        """
        row = self._require(workspace_id)
        plan = instrument_snapshot.prepare_restore(self.device, row.snapshot)
        before = instrument_snapshot.capture(self.device)
        try:
            instrument_snapshot.apply_restore(self.device, plan)
        except Exception:
            # validated values should never fail to apply; if one does, put the instrument back
            undo = instrument_snapshot.prepare_restore(self.device, before)
            instrument_snapshot.apply_restore(self.device, undo)
            raise
        self.rows.touch(row.id, time.time())
        updated = self.rows.get(row.id)
        assert updated is not None
        return self._info(updated, row.id)

    def delete(self, workspace_id: str) -> None:
        """Delete ``workspace_id`` (not the current one).

        Raises
        ------
        NotFound
            Unknown workspace.
        FailedPrecondition
            It is the current workspace.
        """
        row = self._require(workspace_id)
        if row.id == self.rows.current_id():
            raise FailedPrecondition(
                f"cannot delete the current workspace {row.id!r}: switch to another one first"
            )
        self.rows.delete(row.id)

    def current(self) -> WorkspaceInfo | None:
        """The current workspace, or None before the first save or switch."""
        wid = self.rows.current_id()
        row = self.rows.get(wid) if wid is not None else None
        return None if row is None else self._info(row, wid)

    def list(self) -> list[WorkspaceInfo]:
        """Every workspace, sorted by ID."""
        current = self.rows.current_id()
        return [self._info(r, current) for r in self.rows.all()]
