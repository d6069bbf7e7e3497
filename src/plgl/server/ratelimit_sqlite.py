"""Token buckets in the SQLite storage file, shared by every worker on one machine.

With SQLite storage, `plgl serve --workers N` runs N processes over one file. Their buckets live
in that file's `rate_limits` table (schema 4, `plgl.storage._sqlite_schema`), so a client gets
its allowance once, not N times. Each take (or refund) is one IMMEDIATE transaction: the read
and the write of a bucket cannot interleave with another worker's. The clock is the wall clock,
which the processes share (a step backwards counts as no time passed). A bucket is full again
at its row's `full` time; such rows are deleted every `sweep_every` takes, so the table holds
about the keys active within their refill time.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

from plgl.errors import StorageError
from plgl.server.ratelimit import BaseRateLimiter


class SQLiteRateLimiter(BaseRateLimiter):
    """Token buckets by key in a plgl SQLite database (opened by `SQLiteStorage` first, which
    creates the table).

    Args:
        path: the storage's database file.
        timeout: seconds to wait for another writer's lock before raising StorageError.
        clock: seconds since the epoch (tests pass their own).
        sweep_every: takes between deletions of the buckets that are full again.
    """

    def __init__(
        self,
        path: str,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sweep_every: int = 1000,
    ) -> None:
        self.path = path
        self._clock = clock
        self._sweep_every = sweep_every
        self._takes = 0
        self._lock = threading.Lock()
        with self._guard():
            self._conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            # Durable against a crash of the process, as the storage; buckets need no fsync.
            self._conn.execute("PRAGMA synchronous=NORMAL")

    def take(self, key: str, rate: float, burst: int) -> float:
        with self._transaction() as conn:
            now = self._clock()
            tokens = self._tokens(conn, key, rate, burst, now)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
            if wait == 0.0:
                tokens -= 1.0
            self._store(conn, key, tokens, now, rate, burst)
            self._takes += 1
            if self._takes % self._sweep_every == 0:
                conn.execute("DELETE FROM rate_limits WHERE full <= ?", (now,))
            return wait

    def refund(self, key: str, rate: float, burst: int) -> None:
        with self._transaction() as conn:
            now = self._clock()
            if conn.execute("SELECT 1 FROM rate_limits WHERE key = ?", (key,)).fetchone():
                tokens = min(float(burst), self._tokens(conn, key, rate, burst, now) + 1.0)
                self._store(conn, key, tokens, now, rate, burst)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @staticmethod
    def _tokens(conn: sqlite3.Connection, key: str, rate: float, burst: int, now: float) -> float:
        """The bucket's tokens now (a bucket not stored is full)."""
        row = conn.execute("SELECT tokens, at FROM rate_limits WHERE key = ?", (key,)).fetchone()
        if row is None:
            return float(burst)
        return min(float(burst), float(row[0]) + max(0.0, now - float(row[1])) * rate)

    @staticmethod
    def _store(
        conn: sqlite3.Connection, key: str, tokens: float, now: float, rate: float, burst: int
    ) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO rate_limits (key, tokens, at, full) VALUES (?, ?, ?, ?)",
            (key, tokens, now, now + (burst - tokens) / rate),
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._guard(), self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise StorageError(
                f"the rate limits in SQLite database {self.path!r} cannot be read ({error})"
            ) from error
