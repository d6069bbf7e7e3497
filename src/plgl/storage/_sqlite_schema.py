"""plgl's SQLite schema: created in an empty file, checked read-only in an existing one,
migrated from older versions in one transaction (version 1 -> 2 adds the `users` index and the
`settings` table, 2 -> 3 the `shared` table of engine-wide state, 3 -> 4 the `named` item ids
with the `rated` mark on items, so that expiring unrated items never reads the events, and the
`rate_limits` buckets that the server's workers share). A file that is not SQLite, or not a plgl
database, or of a newer schema, is left exactly as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from plgl.errors import StorageError

SCHEMA_VERSION = 4
_HEADER = b"SQLite format 3\x00"
_TABLES = {
    1: {"schema_version", "events", "items", "snapshots", "tombstones"},
    2: {"schema_version", "events", "items", "snapshots", "tombstones", "users", "settings"},
    3: {
        "schema_version",
        "events",
        "items",
        "snapshots",
        "tombstones",
        "users",
        "settings",
        "shared",
    },
}
_TABLES[4] = _TABLES[3] | {"named", "rate_limits"}  # the version 4 schema below
# Version 4: the item ids each user's events name (written with the event), and on each served
# item whether an event names it; a partial index holds the unrated ones, so counting them
# reads at most the cap's worth of index entries. And the server's rate-limit token buckets
# (`plgl.server.ratelimit_sqlite`): one row per key, gone once the bucket is full again.
_SCHEMA_4 = """
CREATE TABLE named (
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (user_id, item_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO named (user_id, item_id)
    SELECT user_id, json_extract(body, '$.item_id') FROM events
    UNION SELECT user_id, json_extract(body, '$.preferred_id') FROM events
    UNION SELECT user_id, json_extract(body, '$.other_id') FROM events;
DELETE FROM named WHERE item_id IS NULL;
ALTER TABLE items ADD COLUMN rated INTEGER NOT NULL DEFAULT 0;
UPDATE items SET rated = 1 WHERE EXISTS (
    SELECT 1 FROM named WHERE named.user_id = items.user_id AND named.item_id = items.item_id
);
CREATE INDEX items_unrated ON items (user_id) WHERE rated = 0;
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    at REAL NOT NULL,
    full REAL NOT NULL
);
CREATE INDEX rate_limits_full ON rate_limits (full);
"""
# Version 3: engine-wide state that belongs to no user (a population's released aggregates).
_SCHEMA_3 = """
CREATE TABLE shared (name TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
# Version 2: every live user id (for paging through users) and per-user settings.
_SCHEMA_2 = """
CREATE TABLE users (user_id TEXT PRIMARY KEY);
CREATE TABLE settings (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
INSERT OR IGNORE INTO users (user_id)
    SELECT user_id FROM events UNION SELECT user_id FROM items
    UNION SELECT user_id FROM snapshots;
"""
_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE events (
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (user_id, seq),
    UNIQUE (user_id, event_id)
);
CREATE TABLE items (
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    latent BLOB NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (user_id, item_id)
);
CREATE TABLE snapshots (
    user_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    blob BLOB NOT NULL
);
CREATE TABLE tombstones (user_id TEXT PRIMARY KEY, deleted_at REAL NOT NULL);
"""


def inspect(path: Path) -> None:
    """Raise StorageError unless `path` is missing, empty, or a plgl database; reads only."""
    if path.is_dir():
        raise StorageError(f"{str(path)!r} is a directory, not a SQLite database file")
    if not path.parent.is_dir():
        raise StorageError(f"the folder of the SQLite database {str(path)!r} does not exist")
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        if file.read(len(_HEADER)) != _HEADER:
            raise StorageError(
                f"{str(path)!r} is not a SQLite database (it is left untouched): "
                "point the storage URL at a new file or at a plgl database"
            )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            _check_schema(conn, str(path), allow_empty=True)
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise StorageError(f"{str(path)!r} is not a readable SQLite database: {error}") from error


def _check_schema(conn: sqlite3.Connection, path: str, allow_empty: bool) -> int:
    """The plgl schema version of the database (this one's or an older one), 0 if it is
    empty; else raise."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables and allow_empty:
        return 0
    if "schema_version" not in tables:
        raise StorageError(
            f"{path!r} is a SQLite database but not a plgl one (tables: "
            f"{', '.join(sorted(tables)) or 'none'}); it is left untouched"
        )
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
    if len(versions) != 1 or versions[0] not in _TABLES or not _TABLES[versions[0]] <= tables:
        raise StorageError(
            f"{path!r} has plgl schema version {versions}, this plgl reads versions "
            f"{min(_TABLES)} to {SCHEMA_VERSION}; it is left untouched"
        )
    return int(versions[0])


def initialize(conn: sqlite3.Connection, path: str) -> None:
    """Create plgl's tables in an empty database, or migrate an older schema, in one
    transaction (racing openers queue)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _check_schema(conn, path, allow_empty=True)
        if version == 0:
            _run(conn, _SCHEMA + _SCHEMA_2 + _SCHEMA_3 + _SCHEMA_4)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version < SCHEMA_VERSION:
            steps = {1: _SCHEMA_2, 2: _SCHEMA_3, 3: _SCHEMA_4}
            _run(conn, "".join(steps[v] for v in range(version, SCHEMA_VERSION)))
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _run(conn: sqlite3.Connection, script: str) -> None:
    """Run the statements of `script` in the open transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
