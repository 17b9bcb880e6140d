"""The emulator's state: JSON documents and blobs in SQLite (in memory, or a file to persist).

One connection serves every thread; callers hold `Store.lock` for the whole request, and each
request is one transaction (`transaction()`), so a failed request changes nothing and multi-object
writes such as `batchEnable` are atomic.
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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the body atomically (nested calls join the outer transaction)."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def get(self, collection: str, key: str) -> dict[str, Any] | None:
        with self.lock:
            row = self._db.execute(
                "SELECT value FROM docs WHERE collection = ? AND key = ?", (collection, key)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, collection: str, key: str, value: dict[str, Any]) -> None:
        with self.lock:
            self._db.execute(
                "INSERT OR REPLACE INTO docs (collection, key, value) VALUES (?, ?, ?)",
                (collection, key, json.dumps(value, sort_keys=True)),
            )

    def delete(self, collection: str, key: str) -> bool:
        with self.lock:
            cursor = self._db.execute(
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

    def collections(self) -> list[str]:
        """The names of the collections holding at least one document, sorted."""
        with self.lock:
            rows = self._db.execute("SELECT DISTINCT collection FROM docs ORDER BY 1").fetchall()
        return [str(row[0]) for row in rows]

    def values(self, collection: str, prefix: str = "") -> list[dict[str, Any]]:
        return [value for _, value in self.items(collection, prefix)]

    def put_blob(self, key: str, data: bytes) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)", (key, data))

    def get_blob(self, key: str) -> bytes | None:
        with self.lock:
            row = self._db.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_blob(self, key: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM blobs WHERE key = ?", (key,))

    def next_value(self, name: str, start: int = 1) -> int:
        """Increment and return the counter `name` (first value is `start`)."""
        with self.lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = start if row is None else int(row[0]) + 1
            self._db.execute(
                "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)", (name, value)
            )
        return value

    def clear(self) -> None:
        with self.lock:
            self._db.executescript("DELETE FROM docs; DELETE FROM blobs; DELETE FROM counters;")

    def close(self) -> None:
        with self.lock:
            self._db.close()
