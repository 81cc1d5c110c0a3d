"""HubStore: atomic transactions, per-thread connections, state survives a reopen."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from radiens_async.hub.store import HubStore

SCHEMA = "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"


def test_commit_persists_across_reopen(tmp_path: Path) -> None:
    store = HubStore(tmp_path)
    store.ensure_schema(SCHEMA)
    with store.transaction() as db:
        db.execute("INSERT INTO kv VALUES (?, ?)", ("a", "1"))
    store.close()
    reopened = HubStore(tmp_path)
    reopened.ensure_schema(SCHEMA)
    assert reopened.query("SELECT k, v FROM kv") == [("a", "1")]


def test_exception_rolls_back_everything(tmp_path: Path) -> None:
    store = HubStore(tmp_path)
    store.ensure_schema(SCHEMA)
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO kv VALUES (?, ?)", ("a", "1"))
        raise RuntimeError("boom")
    assert store.query("SELECT * FROM kv") == []


def test_constraint_violation_changes_nothing(tmp_path: Path) -> None:
    store = HubStore(tmp_path)
    store.ensure_schema(SCHEMA)
    with store.transaction() as db:
        db.execute("INSERT INTO kv VALUES ('a', '1')")
    with pytest.raises(Exception, match="UNIQUE"), store.transaction() as db:
        db.execute("INSERT INTO kv VALUES ('b', '2')")
        db.execute("INSERT INTO kv VALUES ('a', '3')")
    assert store.query("SELECT k, v FROM kv ORDER BY k") == [("a", "1")]


def test_threads_write_concurrently(tmp_path: Path) -> None:
    store = HubStore(tmp_path)
    store.ensure_schema(SCHEMA)

    def write(prefix: str) -> None:
        for i in range(50):
            with store.transaction() as db:
                db.execute("INSERT INTO kv VALUES (?, ?)", (f"{prefix}{i}", "x"))

    threads = [threading.Thread(target=write, args=(p,)) for p in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.query("SELECT count(*) FROM kv") == [(200,)]
