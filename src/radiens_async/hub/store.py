"""The hub's persistent state: one SQLite database in the hub's data directory.

Linked datasets, workspaces, job history and Summa sessions live here so that a restarted hub
finds them again. Each domain module owns its own tables: it passes its ``CREATE TABLE IF NOT
EXISTS`` statements to :meth:`HubStore.ensure_schema` once and then reads and writes through
:meth:`HubStore.transaction`, which commits atomically (or rolls back on an exception).

SQLite connections are not shared between threads here: each thread gets its own connection
(servicers run on the event loop, job workers on their own threads), and SQLite's file locking
serialises writers. WAL mode lets readers proceed while a writer commits.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STORE_FILE_NAME = "hub-state.sqlite3"


class HubStore:
    """SQLite-backed persistent state of one hub.

    Parameters
    ----------
    data_dir : Path
        The hub's data directory; the database file is ``data_dir / "hub-state.sqlite3"``.

    Examples
    --------
    >>> import tempfile
    >>> store = HubStore(Path(tempfile.mkdtemp()))
    >>> store.ensure_schema("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)")
    >>> with store.transaction() as db:
    ...     _ = db.execute("INSERT INTO kv VALUES ('a', 'b')")
    >>> store.query("SELECT v FROM kv WHERE k = ?", ("a",))
    [('b',)]
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / STORE_FILE_NAME
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._connection().execute("PRAGMA journal_mode=WAL")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def ensure_schema(self, *statements: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements (idempotent) in one transaction."""
        with self._schema_lock, self.transaction() as db:
            for statement in statements:
                db.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on an exception."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run a read-only query and return all rows."""
        return list(self._connection().execute(sql, params).fetchall())

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
