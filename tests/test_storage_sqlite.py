import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from plgl.errors import InvalidInputError, StorageError, UserDeletedError
from plgl.records import Feedback, Item
from plgl.storage import BaseStorage, SQLiteStorage, from_url
from plgl.storage.sqlite import SCHEMA_VERSION
from plgl.testing import StorageConformance


class TestSQLiteStorage(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[BaseStorage]:
        storage = from_url(f"sqlite:///{tmp_path / 'plgl.db'}")
        yield storage
        storage.close()


class TestSQLiteInMemory(StorageConformance):
    @pytest.fixture
    def storage(self) -> Iterator[BaseStorage]:
        storage = from_url("sqlite:///:memory:")
        yield storage
        storage.close()


def test_url_paths_follow_sqlalchemy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = from_url("sqlite:///rel.db")
    absolute = from_url(f"sqlite:///{tmp_path / 'abs.db'}")  # sqlite:////tmp/.../abs.db
    assert isinstance(relative, SQLiteStorage) and relative.path == "rel.db"
    assert isinstance(absolute, SQLiteStorage) and absolute.path == str(tmp_path / "abs.db")
    relative.close()
    absolute.close()
    assert (tmp_path / "rel.db").exists() and (tmp_path / "abs.db").exists()


def test_file_is_wal_with_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    SQLiteStorage(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_everything_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    storage = SQLiteStorage(path)
    storage.put_items("u", [Item("a", np.arange(3.0), None, "exploit")])
    storage.append("u", Feedback("e1", "a", "like", 2.5))
    storage.put_snapshot("u", 1, b"\x00state")
    storage.append("gone", Feedback("e1", "a", "like"))
    storage.delete_user("gone")
    storage.close()

    reopened = SQLiteStorage(path)
    assert reopened.events("u") == [Feedback("e1", "a", "like", 2.5)]
    assert [(i.id, i.source, i.latent.tolist()) for i in reopened.items("u")] == [
        ("a", "exploit", [0.0, 1.0, 2.0])
    ]
    snapshot = reopened.snapshot("u")
    assert snapshot is not None and snapshot.blob == b"\x00state"
    assert reopened.is_deleted("gone")
    with pytest.raises(UserDeletedError):
        reopened.append("gone", Feedback("e1", "a", "like"))
    reopened.close()


def test_deleted_data_is_gone_from_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    storage = SQLiteStorage(path)
    secret = "secret-event-7f3a9c"
    storage.put_items("u", [Item("item-7f3a9c", np.full(4, 123.456), None)])
    for i in range(200):
        storage.append("u", Feedback(f"{secret}-{i}", "item-7f3a9c", "like"))
    storage.delete_user("u")
    files = [path, *path.parent.glob("plgl.db-*")]  # the database and its WAL
    raw = b"".join(f.read_bytes() for f in files)
    assert secret.encode() not in raw
    assert np.full(4, 123.456).tobytes() not in raw
    storage.close()


def test_a_newer_schema_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    SQLiteStorage(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="schema version"):
        SQLiteStorage(path)
    assert path.read_bytes() == before


def test_a_missing_folder_or_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="folder"):
        SQLiteStorage(tmp_path / "missing" / "plgl.db")
    with pytest.raises(StorageError, match="directory"):
        SQLiteStorage(tmp_path)


def test_locked_database_is_a_storage_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    storage = SQLiteStorage(path, timeout=0.1)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        with pytest.raises(StorageError, match="locked"):
            storage.append("u", Feedback("e1", "a", "like"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert storage.append("u", Feedback("e1", "a", "like"))  # nothing half-written before
    storage.close()


def test_an_empty_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    path.touch()
    storage = SQLiteStorage(path)
    assert storage.append("u", Feedback("e1", "a", "like"))
    storage.close()


def test_bad_sqlite_urls(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="names no file"):
        from_url("sqlite:///")


def test_url_options(tmp_path: Path) -> None:
    storage = from_url(f"sqlite:///{tmp_path / 'a.db'}?synchronous=full&timeout=2.5")
    assert isinstance(storage, SQLiteStorage)
    assert (storage.synchronous, storage.timeout) == ("full", 2.5)
    assert storage._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    storage.close()
    default = SQLiteStorage(tmp_path / "b.db")
    assert default._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    default.close()
    for bad in ("?synchronous=off", "?timeout=soon", "?cache=shared"):
        with pytest.raises(InvalidInputError):
            from_url(f"sqlite:///{tmp_path / 'c.db'}{bad}")


_SCHEMA_1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE events (
    user_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (user_id, seq), UNIQUE (user_id, event_id)
);
CREATE TABLE items (
    user_id TEXT NOT NULL, item_id TEXT NOT NULL, latent BLOB NOT NULL, source TEXT NOT NULL,
    UNIQUE (user_id, item_id)
);
CREATE TABLE snapshots (user_id TEXT PRIMARY KEY, position INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE TABLE tombstones (user_id TEXT PRIMARY KEY, deleted_at REAL NOT NULL);
INSERT INTO events VALUES ('ann', 0, 'e1', '{"dwell_seconds": null, "event_id": "e1", '
    || '"item_id": "a", "kind": "feedback", "signal": "like"}');
INSERT INTO items VALUES ('bob', 'a', x'000000000000f03f', 'explore');
INSERT INTO snapshots VALUES ('cy', 0, x'00');
INSERT INTO tombstones VALUES ('gone', 0.0);
"""


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_1)
    conn.close()
    storage = SQLiteStorage(path)
    assert storage.users() == ["ann", "bob", "cy"]
    assert storage.events("ann") == [Feedback("e1", "a", "like")]
    assert storage.version("ann") == 1
    assert storage.settings("ann") == {}
    storage.put_settings("ann", {"explore": 0.9})
    assert storage.is_deleted("gone")
    storage.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
    reopened = SQLiteStorage(path)  # migrated once: opening again changes nothing
    assert reopened.settings("ann") == {"explore": 0.9}
    reopened.close()


def test_a_version_2_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_1)
    conn.executescript(
        "UPDATE schema_version SET version = 2;"
        "CREATE TABLE users (user_id TEXT PRIMARY KEY);"
        "CREATE TABLE settings (user_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
        " PRIMARY KEY (user_id, key));"
        "INSERT INTO users VALUES ('ann'), ('bob'), ('cy');"
        "INSERT INTO settings VALUES ('ann', 'explore', '0.5');"
    )
    conn.close()
    storage = SQLiteStorage(path)
    assert storage.users() == ["ann", "bob", "cy"]
    assert storage.settings("ann") == {"explore": 0.5}
    assert storage.shared("population/state") is None
    storage.put_shared("population/state", b"state")
    storage.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()
    reopened = SQLiteStorage(path)
    assert reopened.shared("population/state") == b"state"
    reopened.close()


def test_migration_marks_the_items_events_name(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_1)  # ann rated item "a" (a version 1 database)
    conn.executescript(
        "INSERT INTO items VALUES ('ann', 'old', x'000000000000f03f', 'explore');"
        "INSERT INTO items VALUES ('ann', 'a', x'000000000000f03f', 'explore');"
        "INSERT INTO items VALUES ('ann', 'new', x'000000000000f03f', 'explore');"
    )
    conn.close()
    storage = SQLiteStorage(path)
    assert storage.expire_unrated("ann", 1) == 1
    assert [item.id for item in storage.items("ann")] == ["a", "new"]
    storage.append("ann", Feedback("e2", "new", "like"))
    assert storage.expire_unrated("ann", 0) == 0
    assert storage.expire_unrated("bob", 0) == 1  # bob's "a" was never rated
    storage.close()


def test_expire_unrated_under_the_cap_takes_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    storage = SQLiteStorage(path, timeout=0.0)  # a lock wait would raise at once
    storage.put_items("u", [Item(f"i{n}", np.zeros(3), None) for n in range(300)])
    for n in range(295):  # far more rated items than the cap: only 5 unrated
        storage.append("u", Feedback(f"e{n}", f"i{n}", "like"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert storage.expire_unrated("u", 10) == 0
        with pytest.raises(StorageError):
            storage.expire_unrated("u", 2)  # over the cap: it must write
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert storage.expire_unrated("u", 2) == 3
    storage.close()
