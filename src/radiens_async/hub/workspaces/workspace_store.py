"""The ``workspaces`` tables of the hub's SQLite store.

``workspaces`` holds one row per workspace (its ID as given, a case- and blank-insensitive key
that keeps IDs unique, the app, the JSON snapshot, tags, notes and times); ``workspace_state``
remembers which workspace is current, so a restarted hub reports it again. Every write is one
transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from radiens_async.hub.store import HubStore

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS workspaces (
        id TEXT PRIMARY KEY,
        id_key TEXT NOT NULL UNIQUE,
        app INTEGER NOT NULL,
        snapshot TEXT NOT NULL,
        tags TEXT NOT NULL,
        notes TEXT NOT NULL,
        last_used REAL NOT NULL,
        last_modified REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS workspace_state (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)


def id_key(workspace_id: str) -> str:
    """The key two IDs collide on: case and surrounding blanks do not make an ID new."""
    return workspace_id.strip().casefold()


@dataclass(frozen=True, slots=True)
class WorkspaceRow:
    """One stored workspace."""

    id: str
    app: int
    snapshot: dict[str, Any]
    tags: str
    notes: str
    last_used: float
    last_modified: float


class WorkspaceStore:
    """Read and write workspaces in a :class:`HubStore`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = WorkspaceStore(HubStore(pathlib.Path(tempfile.mkdtemp())))
    >>> store.put(WorkspaceRow("ws", 0, {"a": 1}, "", "", 1.0, 1.0), current=True)
    >>> store.get("ws").snapshot, store.current_id()
    ({'a': 1}, 'ws')
    """

    def __init__(self, store: HubStore) -> None:
        self.store = store
        store.ensure_schema(*SCHEMA)

    def get(self, workspace_id: str) -> WorkspaceRow | None:
        rows = self.store.query(
            "SELECT id, app, snapshot, tags, notes, last_used, last_modified "
            "FROM workspaces WHERE id = ?",
            (workspace_id,),
        )
        return _row(rows[0]) if rows else None

    def find_key(self, workspace_id: str) -> str | None:
        """The stored ID that ``workspace_id`` collides with, if any."""
        rows = self.store.query(
            "SELECT id FROM workspaces WHERE id_key = ?", (id_key(workspace_id),)
        )
        return str(rows[0][0]) if rows else None

    def all(self) -> list[WorkspaceRow]:
        rows = self.store.query(
            "SELECT id, app, snapshot, tags, notes, last_used, last_modified "
            "FROM workspaces ORDER BY id"
        )
        return [_row(r) for r in rows]

    def put(self, row: WorkspaceRow, *, current: bool) -> None:
        """Insert or replace ``row`` (and make it current) in one transaction."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO workspaces "
                "(id, id_key, app, snapshot, tags, notes, last_used, last_modified) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    id_key(row.id),
                    row.app,
                    json.dumps(row.snapshot, sort_keys=True),
                    row.tags,
                    row.notes,
                    row.last_used,
                    row.last_modified,
                ),
            )
            if current:
                _set_current(db, row.id)

    def touch(self, workspace_id: str, last_used: float) -> None:
        """Make ``workspace_id`` current and note when it was used."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE workspaces SET last_used = ? WHERE id = ?", (last_used, workspace_id)
            )
            _set_current(db, workspace_id)

    def delete(self, workspace_id: str) -> bool:
        with self.store.transaction() as db:
            cur = db.execute("DELETE FROM workspaces WHERE id = ?", (workspace_id,))
            return cur.rowcount > 0

    def current_id(self) -> str | None:
        rows = self.store.query("SELECT value FROM workspace_state WHERE name = 'current'")
        return str(rows[0][0]) if rows else None


def _set_current(db: Any, workspace_id: str) -> None:
    db.execute(
        "INSERT OR REPLACE INTO workspace_state (name, value) VALUES ('current', ?)",
        (workspace_id,),
    )


def _row(r: tuple[object, ...]) -> WorkspaceRow:
    return WorkspaceRow(
        id=str(r[0]),
        app=int(r[1]),  # type: ignore[call-overload]
        snapshot=json.loads(str(r[2])),
        tags=str(r[3]),
        notes=str(r[4]),
        last_used=float(r[5]),  # type: ignore[arg-type]
        last_modified=float(r[6]),  # type: ignore[arg-type]
    )
