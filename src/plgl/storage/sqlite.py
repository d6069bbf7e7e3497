"""SQLite storage: one file in WAL mode, safe across threads and processes (stdlib `sqlite3`).

Every write is one `BEGIN IMMEDIATE` transaction, so the check for a tombstone or an existing
event id and the insert cannot interleave with another writer, in this process or another.
Durability: with `synchronous="normal"` (the default, SQLite's advice for WAL) a committed
append survives a crash of the process (SIGKILL included); `synchronous="full"` also survives a
crash of the machine or a power loss, at the cost of one fsync per write (milliseconds).
An existing file is inspected read-only first: a file that is not SQLite, or a SQLite database
without plgl's `schema_version`, raises StorageError and is left exactly as it was; an older
plgl schema is migrated (see `plgl.storage._sqlite_schema`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError, StorageError
from plgl.records import Event, Item, event_item_ids
from plgl.storage._base import BaseStorage, Snapshot
from plgl.storage._codec import event_from_json, event_to_json, latent_from_bytes, latent_to_bytes
from plgl.storage._sqlite_schema import SCHEMA_VERSION, initialize, inspect

_USER_TABLES = ("events", "named", "items", "snapshots", "settings", "users")
# The oldest unrated items beyond the newest :keep (the partial index `items_unrated` holds
# exactly the unrated rows, in rowid order within a user).
_EXPIRE = """
DELETE FROM items WHERE rowid IN (
    SELECT rowid FROM items WHERE user_id = :user AND rated = 0
    ORDER BY rowid DESC LIMIT -1 OFFSET :keep
)
"""
_CHUNK = 500  # ids per IN (...) query, well under SQLite's bound-parameter limit


class SQLiteStorage(BaseStorage):
    """Events, items, snapshots and tombstones in one SQLite file (`sqlite:///path`).

    Args:
        path: the database file (created if missing; its folder must exist), or ":memory:".
        timeout: seconds a write waits for another writer's lock before raising StorageError.
        synchronous: "normal" (survives a process crash) or "full" (also a power loss).

    >>> import tempfile, os
    >>> from plgl.records import Feedback
    >>> folder = tempfile.mkdtemp()
    >>> storage = SQLiteStorage(os.path.join(folder, "plgl.db"))
    >>> storage.append("alice", Feedback("e1", "item", "like"))
    True
    >>> storage.append("alice", Feedback("e1", "item", "like"))  # a retry stores nothing
    False
    >>> storage.close()
    >>> import shutil; shutil.rmtree(folder)
    """

    def __init__(
        self, path: str | os.PathLike[str], timeout: float = 30.0, synchronous: str = "normal"
    ) -> None:
        if synchronous not in ("normal", "full"):
            raise InvalidInputError(f'synchronous must be "normal" or "full", got {synchronous!r}')
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
            raise InvalidInputError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
        self.path = str(path)
        self.timeout = float(timeout)
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self._inherited: list[sqlite3.Connection] = []
        self._conn = self._open()
        self._pid = os.getpid()

    # ------------------------------------------------------------------ reads
    def events(self, user_id: str, start: int = 0) -> list[Event]:
        rows = self._read(
            "SELECT body FROM events WHERE user_id = ? AND seq >= ? ORDER BY seq",
            (user_id, start),
        )
        return [event_from_json(body) for (body,) in rows]

    def n_events(self, user_id: str) -> int:
        rows = self._read("SELECT COUNT(*) FROM events WHERE user_id = ?", (user_id,))
        return int(rows[0][0])

    def version(self, user_id: str) -> int:
        # seq runs 0, 1, 2... per user: one step down the primary key instead of a count
        rows = self._read(
            "SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE user_id = ?", (user_id,)
        )
        return int(rows[0][0])

    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        rows = self._read(
            "SELECT latent FROM items WHERE user_id = ? AND item_id = ?", (user_id, item_id)
        )
        return latent_from_bytes(rows[0][0]) if rows else None

    def item_latents(self, user_id: str, item_ids: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = sorted(set(item_ids))
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._read(
                f"SELECT item_id, latent FROM items WHERE user_id = ? AND item_id IN ({marks})",
                (user_id, *chunk),
            )
            found.update((item_id, latent_from_bytes(latent)) for item_id, latent in rows)
        return found

    def items(self, user_id: str) -> list[Item]:
        rows = self._read(
            "SELECT item_id, latent, source FROM items WHERE user_id = ? ORDER BY rowid",
            (user_id,),
        )
        return [
            Item(item_id, latent_from_bytes(latent), None, src) for item_id, latent, src in rows
        ]

    def snapshot(self, user_id: str) -> Snapshot | None:
        rows = self._read("SELECT position, blob FROM snapshots WHERE user_id = ?", (user_id,))
        return Snapshot(int(rows[0][0]), bytes(rows[0][1])) if rows else None

    def is_deleted(self, user_id: str) -> bool:
        return bool(self._read("SELECT 1 FROM tombstones WHERE user_id = ?", (user_id,)))

    def _settings(self, user_id: str) -> dict[str, str]:
        rows = self._read("SELECT key, value FROM settings WHERE user_id = ?", (user_id,))
        return {key: value for key, value in rows}

    def _shared(self, name: str) -> bytes | None:
        rows = self._read("SELECT data FROM shared WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None

    def _put_shared(self, name: str, data: bytes) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO shared (name, data) VALUES (?, ?)", (name, data))

    def _users(self, after: str | None, limit: int) -> list[str]:
        rows = self._read(
            "SELECT user_id FROM users WHERE ? IS NULL OR user_id > ? ORDER BY user_id LIMIT ?",
            (after, after, limit),
        )
        return [user_id for (user_id,) in rows]

    # ----------------------------------------------------------------- writes
    def delete_user(self, user_id: str) -> None:
        with self._write() as conn:
            for table in _USER_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            conn.execute(
                "INSERT OR IGNORE INTO tombstones (user_id, deleted_at) VALUES (?, ?)",
                (user_id, time.time()),
            )
        # secure_delete zeroed the freed pages; moving the WAL into the file and truncating it
        # drops the old page images too (best effort: a concurrent reader may delay it).
        with self._guard():
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _append_new(self, user_id: str, event: Event) -> Event | None:
        with self._write() as conn:
            self._writable(conn, user_id)
            row = conn.execute(
                "SELECT body FROM events WHERE user_id = ? AND event_id = ?",
                (user_id, event.event_id),
            ).fetchone()
            if row is not None:
                return event_from_json(row[0])
            conn.execute(
                "INSERT INTO events (user_id, seq, event_id, body) VALUES (?, "
                "(SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE user_id = ?), ?, ?)",
                (user_id, user_id, event.event_id, event_to_json(event)),
            )
            for item_id in event_item_ids(event):
                conn.execute(
                    "INSERT OR IGNORE INTO named (user_id, item_id) VALUES (?, ?)",
                    (user_id, item_id),
                )
                conn.execute(
                    "UPDATE items SET rated = 1 WHERE user_id = ? AND item_id = ? AND rated = 0",
                    (user_id, item_id),
                )
            return None

    def _put_items(self, user_id: str, items: Sequence[Item]) -> None:
        with self._write() as conn:
            self._writable(conn, user_id)
            conn.executemany(
                "INSERT OR IGNORE INTO items (user_id, item_id, latent, source, rated) "
                "VALUES (?, ?, ?, ?, EXISTS "
                "(SELECT 1 FROM named WHERE user_id = ?1 AND item_id = ?2))",
                [(user_id, item.id, latent_to_bytes(item.latent), item.source) for item in items],
            )

    def _expire_unrated(self, user_id: str, keep: int) -> int:
        # The common case holds no more than `keep` unrated items: one read of the partial
        # index (at most the cap's worth of entries), no write lock.
        count = "SELECT COUNT(*) FROM items WHERE user_id = ? AND rated = 0"
        if self._read(count, (user_id,))[0][0] <= keep:
            return 0
        with self._write() as conn:
            return int(conn.execute(_EXPIRE, {"user": user_id, "keep": keep}).rowcount)

    def _put_snapshot(self, user_id: str, position: int, blob: bytes) -> None:
        with self._write() as conn:
            self._writable(conn, user_id)
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (user_id, position, blob) VALUES (?, ?, ?)",
                (user_id, position, blob),
            )

    def _put_settings(self, user_id: str, changes: dict[str, str | None]) -> None:
        with self._write() as conn:
            self._writable(conn, user_id)
            for key, value in changes.items():
                if value is None:
                    conn.execute(
                        "DELETE FROM settings WHERE user_id = ? AND key = ?", (user_id, key)
                    )
                else:
                    conn.execute(
                        "INSERT OR REPLACE INTO settings (user_id, key, value) VALUES (?, ?, ?)",
                        (user_id, key, value),
                    )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -------------------------------------------------------------- internals
    def _writable(self, conn: sqlite3.Connection, user_id: str) -> None:
        """Raise for a deleted user; else the write goes ahead and the user is live."""
        if conn.execute("SELECT 1 FROM tombstones WHERE user_id = ?", (user_id,)).fetchone():
            raise self._deleted(user_id)
        conn.execute("INSERT OR IGNORE INTO users (user_id) VALUES (?)", (user_id,))

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._guard():
            return list(self._connection().execute(sql, params).fetchall())

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (the write lock is taken first, so no check goes stale)."""
        with self._guard():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Hold the connection's lock; turn SQLite's failures into StorageError."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as error:
                raise StorageError(f"SQLite database {self.path!r} failed: {error}") from error

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # a forked child must not share its parent's connection
            self._inherited.append(self._conn)  # closing it here would release the parent's locks
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            inspect(Path(self.path))
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise StorageError(f"cannot open SQLite database {self.path!r}: {error}") from error
        try:
            initialize(conn, self.path)
            conn.execute("PRAGMA journal_mode=WAL").fetchall()
            conn.execute(f"PRAGMA synchronous={self.synchronous.upper()}")
            conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as error:
            conn.close()
            raise StorageError(f"SQLite database {self.path!r} failed: {error}") from error
        except StorageError:
            conn.close()
            raise
        return conn


__all__ = ["SCHEMA_VERSION", "SQLiteStorage"]
