"""A cache in one SQLite file (WAL): survives restarts, shared by processes on one machine."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from plgl.cache._base import BaseCache, check_bytes
from plgl.errors import CacheUnavailableError

SCHEMA_VERSION = 1
_TABLE = "plgl_cache"
_MAX_PARAMETERS = 500  # keys per query: below every SQLite build's limit on bound parameters


class SQLiteCache(BaseCache):
    """Key -> blob rows in `path` (created if missing). Nothing is evicted.

    A file that is not a SQLite database, or one that holds other tables but not a plgl cache,
    raises CacheUnavailableError and is left untouched.

    >>> import tempfile, os
    >>> cache = SQLiteCache(os.path.join(tempfile.mkdtemp(), "c.db"))
    >>> cache["pool:x"] = b"abc"; cache.increment("likes:y", 2)
    2
    >>> cache["pool:x"], len(cache)
    (b'abc', 2)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise CacheUnavailableError(f"no such directory for the cache file: {self.path}")
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._open()
        except sqlite3.DatabaseError as error:
            raise CacheUnavailableError(
                f"{self.path} is not a usable plgl cache database ({error}); it was left as it is"
            ) from None

    def _open(self) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
        if tables and "plgl_cache_meta" not in tables:
            self._db.close()
            raise sqlite3.DatabaseError(f"it holds other tables ({', '.join(sorted(tables))})")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("CREATE TABLE IF NOT EXISTS plgl_cache_meta (schema_version INTEGER)")
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {_TABLE} (key TEXT PRIMARY KEY, value BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            row = self._db.execute("SELECT schema_version FROM plgl_cache_meta").fetchone()
            if row is None:
                self._db.execute("INSERT INTO plgl_cache_meta VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                self._db.close()
                raise sqlite3.DatabaseError(
                    f"its schema version is {row[0]}, this plgl reads {SCHEMA_VERSION}"
                )

    def __getitem__(self, key: str) -> bytes:
        with self._lock:
            row = self._db.execute(f"SELECT value FROM {_TABLE} WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: str, value: bytes) -> None:
        value = check_bytes(key, value)
        with self._lock:
            self._db.execute(
                f"INSERT INTO {_TABLE} (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def __delitem__(self, key: str) -> None:
        with self._lock:
            if self._db.execute(f"DELETE FROM {_TABLE} WHERE key = ?", (key,)).rowcount == 0:
                raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter([row[0] for row in self._db.execute(f"SELECT key FROM {_TABLE}")])

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {_TABLE}").fetchone()[0])

    def __contains__(self, key: object) -> bool:
        with self._lock:
            query = f"SELECT 1 FROM {_TABLE} WHERE key = ?"
            return self._db.execute(query, (key,)).fetchone() is not None

    def increment(self, key: str, by: int = 1) -> int:
        # One statement: concurrent writers serialize on SQLite's write lock, none is lost.
        with self._lock:
            row = self._db.execute(
                f"INSERT INTO {_TABLE} (key, value) VALUES (?, CAST(? AS BLOB)) "
                "ON CONFLICT(key) DO UPDATE SET "
                "value = CAST(CAST(CAST(value AS TEXT) AS INTEGER) + ? AS BLOB) RETURNING value",
                (key, str(by), by),
            ).fetchone()
        return int(bytes(row[0]))

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        rows = [(key, check_bytes(key, value)) for key, value in entries.items()]
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                f"INSERT INTO {_TABLE} (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                rows,
            )

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found: dict[str, bytes] = {}
        with self._lock:
            for i in range(0, len(keys), _MAX_PARAMETERS):
                chunk = list(keys[i : i + _MAX_PARAMETERS])
                marks = ",".join("?" * len(chunk))
                query = f"SELECT key, value FROM {_TABLE} WHERE key IN ({marks})"
                found.update((key, bytes(value)) for key, value in self._db.execute(query, chunk))
        return [found.get(key) for key in keys]

    def scan(self, prefix: str) -> Iterator[str]:
        # A key range rather than LIKE: prefixes may contain % or _, and the range uses the index.
        with self._lock:
            rows = self._db.execute(
                f"SELECT key FROM {_TABLE} WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff")
            ).fetchall()
        return iter([row[0] for row in rows])

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    f"DELETE FROM {_TABLE} WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff")
                ).rowcount
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
