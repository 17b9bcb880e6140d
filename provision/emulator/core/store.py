"""The emulator's state: JSON documents and blobs in SQLite (in memory, or a file to persist).

One connection serves every thread; callers hold `Store.lock` for the whole request, and each
request is one transaction (`transaction()`), so a failed request changes nothing and multi-object
writes such as `batchEnable` are atomic. In memory, the transaction begins at its first write: a
request that only reads costs no BEGIN/COMMIT, and since no other connection exists and the lock
is held throughout, it reads the same state. A file, which another process may open, is read
inside BEGIN/COMMIT as well.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (collection, key)
);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """Collections of JSON documents keyed by string, plus binary blobs and counters."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self._db.executescript(_SCHEMA)
        self.lock = threading.RLock()
        self._depth = 0
        self._begun = False
        """Whether the open transaction has issued its BEGIN (at its first write)."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the body atomically (nested calls join the outer transaction)."""
        with self.lock:
            outer = self._depth == 0
            if outer and self.path is not None:
                self._db.execute("BEGIN")
                self._begun = True
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer and self._begun:
                    self._begun = False
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer and self._begun:
                self._begun = False
                self._db.execute("COMMIT")

    def _write(self, sql: str, parameters: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Run a write, first opening the transaction it belongs to (caller holds the lock)."""
        if self._depth and not self._begun:
            self._db.execute("BEGIN")
            self._begun = True
        return self._db.execute(sql, parameters)

    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute(
                "SELECT value FROM docs WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, collection: str, key: str, value: dict[str, Any]) -> None:
        with self.lock:
            self._write(
                "INSERT OR REPLACE INTO docs (collection, key, value) VALUES (?, ?, ?)",
                (collection, key, json.dumps(value, sort_keys=True)),
            )

    def delete(self, collection: str, key: str) -> bool:
        with self.lock:
            cursor = self._write(
                "DELETE FROM docs WHERE collection = ? AND key = ?", (collection, key)
            )
        return cursor.rowcount > 0

    def items(self, collection: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        """Documents whose key starts with `prefix`, ordered by key."""
        with self.lock:
            rows = self._db.execute(
                "SELECT key, value FROM docs WHERE collection = ? AND substr(key, 1, ?) = ? "
                "ORDER BY key",
                (collection, len(prefix), prefix),
            ).fetchall()
        return [(key, dict(json.loads(value))) for key, value in rows]

    def documents(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every document, by collection then key, both sorted (blobs and counters aside)."""
        with self.lock:
            rows = self._db.execute(
                "SELECT collection, key, value FROM docs ORDER BY collection, key"
            ).fetchall()
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for collection, key, value in rows:
            found.setdefault(str(collection), {})[str(key)] = dict(json.loads(value))
        return found

    def values(self, collection: str, prefix: str = "") -> list[dict[str, Any]]:
        return [value for _, value in self.items(collection, prefix)]

    def put_blob(self, key: str, data: bytes) -> None:
        with self.lock:
            self._write("INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)", (key, data))

    def get_blob(self, key: str) -> bytes | None:
        with self.lock:
            row = self._db.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_blob(self, key: str) -> None:
        with self.lock:
            self._write("DELETE FROM blobs WHERE key = ?", (key,))

    def next_value(self, name: str, start: int = 1) -> int:
        """Increment and return the counter `name` (first value is `start`)."""
        with self.lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = start if row is None else int(row[0]) + 1
            self._write(
                "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value)
            )
        return value

    def clear(self) -> None:
        with self.lock:
            self._db.executescript("DELETE FROM docs; DELETE FROM blobs; DELETE FROM counters;")

    def close(self) -> None:
        with self.lock:
            self._db.close()
