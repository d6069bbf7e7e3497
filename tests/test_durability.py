"""Durability, for real: writers killed with SIGKILL, several writer processes on one SQLite
file, foreign and corrupt files, and a Redis server that goes away."""

import collections
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

import plgl
from plgl.records import Feedback
from plgl.storage import SQLiteStorage, from_url
from plgl.testing import RedisServer

needs_redis = pytest.mark.skipif(
    not RedisServer.available(), reason="redis-server is not installed (apt install redis-server)"
)

# Forked, not spawned: a child starts in milliseconds instead of re-importing torch and
# scikit-learn, and is still a separate process with its own connections.
FORK = multiprocessing.get_context("fork")


def _writer(url: str, user: str, first: int, acks: Connection) -> None:
    """Streams ratings through the public API; sends each event id once `tell` has returned."""
    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=4), storage=url)
    session = engine.session(user)
    for i in range(first, first + 100_000):
        item = session.ask(1)[0]
        session.tell(item.id, "like" if item.latent[0] > 0 else "dislike", event_id=f"ev-{i}")
        acks.send(f"ev-{i}")


def _kill_after(url: str, user: str, first: int, n_acks: int) -> list[str]:
    """Start a writer, SIGKILL it after `n_acks` acknowledged events; the ids it acknowledged."""
    receive, send = FORK.Pipe(duplex=False)
    writer = FORK.Process(target=_writer, args=(url, user, first, send))
    writer.start()
    send.close()
    acknowledged = []
    while len(acknowledged) < n_acks and receive.poll(60):
        acknowledged.append(receive.recv())
    writer.kill()  # SIGKILL, in the middle of its next ask/tell
    writer.join()
    assert len(acknowledged) == n_acks, "the writer died before it was killed"
    try:
        while receive.poll(0):  # acknowledged before the kill landed, not yet read here
            acknowledged.append(receive.recv())
    except EOFError:  # everything the writer sent has been read
        pass
    receive.close()
    assert writer.exitcode == -signal.SIGKILL
    return acknowledged


def _appender(url: str, name: str, n: int, start: Any) -> None:
    """Appends its own events and the shared ones to one user, once all appenders are ready."""
    storage = from_url(url)
    start.wait()
    for i in range(n):
        storage.put_items("shared", [plgl.Item(f"{name}-item{i}", np.full(4, float(i)), None)])
        storage.append("shared", Feedback(f"{name}-{i}", f"{name}-item{i}", "like"))
        storage.append("shared", Feedback(f"common-{i}", "item", "like"))
        storage.append(f"own-{name}", Feedback(f"e{i}", "item", "dislike"))
    storage.close()


def _check_crash_and_retry(url: str) -> None:
    # 60 acks pass the snapshot after event 50; the second writer resumes after the crash
    acknowledged = _kill_after(url, "alice", 0, 60) + _kill_after(url, "alice", 1000, 15)

    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=4), storage=url)
    stored = [event.event_id for event in engine.storage.events("alice")]
    counts = collections.Counter(stored)
    assert all(counts[event_id] == 1 for event_id in acknowledged)
    assert max(counts.values()) == 1
    # at most the one event in flight at each kill was stored without being acknowledged
    assert len(set(stored) - set(acknowledged)) <= 2

    session = engine.session("alice")
    assert session.n_ratings == len(stored)
    first = engine.storage.events("alice")[0]
    assert isinstance(first, Feedback)
    retry = session.tell(first.item_id, first.signal, event_id=first.event_id)
    assert retry == first
    assert [event.event_id for event in engine.storage.events("alice")] == stored
    assert session.n_ratings == len(stored)
    other = "dislike" if first.signal == "like" else "like"
    with pytest.raises(plgl.EventConflictError):
        session.tell(first.item_id, other, event_id=first.event_id)
    engine.storage.close()


def test_sigkilled_writer_loses_no_acknowledged_event_sqlite(tmp_path: Path) -> None:
    _check_crash_and_retry(f"sqlite:///{tmp_path / 'plgl.db'}")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@needs_redis
def test_sigkilled_writer_loses_no_acknowledged_event_redis(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    _check_crash_and_retry(redis_server.url)


def test_several_processes_on_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    url, n, names = f"sqlite:///{tmp_path / 'plgl.db'}", 150, ["p0", "p1", "p2", "p3"]
    SQLiteStorage(tmp_path / "plgl.db").close()  # created once, then shared
    start = FORK.Barrier(len(names))
    writers = [FORK.Process(target=_appender, args=(url, name, n, start)) for name in names]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=300)
        assert writer.exitcode == 0

    storage = SQLiteStorage(tmp_path / "plgl.db")
    ids = [event.event_id for event in storage.events("shared")]
    expected = {f"{name}-{i}" for name in names for i in range(n)} | {
        f"common-{i}" for i in range(n)
    }
    assert len(ids) == len(expected) and set(ids) == expected
    for name in names:
        assert [e.event_id for e in storage.events(f"own-{name}")] == [f"e{i}" for i in range(n)]
        mine = [i for i in ids if i.startswith(f"{name}-")]
        assert mine == [f"{name}-{i}" for i in range(n)]  # each writer's order is kept
    assert len(storage.items("shared")) == len(names) * n
    storage.close()


def _plgl_db(path: Path) -> None:
    storage = SQLiteStorage(path)
    storage.put_items("u", [plgl.Item("a", np.ones(4), None)])
    for i in range(300):
        storage.append("u", Feedback(f"e{i}", "a", "like"))
    storage.close()


def _make_foreign(kind: str, path: Path) -> None:
    if kind == "text":
        path.write_text("name,score\nalice,3\n")
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(8192))
    elif kind == "other sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO accounts (name) VALUES ('alice')")
        conn.commit()
        conn.close()


@pytest.mark.parametrize("kind", ["text", "random bytes", "other sqlite"])
def test_foreign_file_is_a_clear_error_and_left_untouched(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    _make_foreign(kind, path)
    before = path.read_bytes()
    with pytest.raises(plgl.StorageError, match="untouched"):
        plgl.Engine(
            generator=plgl.generators.get("identity", latent_dim=4), storage=f"sqlite:///{path}"
        )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plgl.db"]  # no journal, no WAL


def test_corrupt_plgl_file_is_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    _plgl_db(path)
    data = bytearray(path.read_bytes())
    page = 4096
    data[2 * page : len(data)] = b"\xff" * (len(data) - 2 * page)  # every page after the second
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(plgl.StorageError, match=r"plgl\.db"):
        storage = SQLiteStorage(path)
        storage.events("u")
    assert path.read_bytes() == before


def test_truncated_plgl_file_is_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "plgl.db"
    _plgl_db(path)
    before = path.read_bytes()[:6000]
    path.write_bytes(before)
    with pytest.raises(plgl.StorageError, match=r"plgl\.db"):
        storage = SQLiteStorage(path)
        storage.events("u")
    assert path.read_bytes() == before


@needs_redis
def test_redis_outage_is_a_clear_error_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with RedisServer(directory=tmp_path) as server:
        engine = plgl.Engine(
            generator=plgl.generators.get("identity", latent_dim=4), storage=server.url
        )
        session = engine.session("bob")
        items = session.ask(30)
        for i, item in enumerate(items[:20]):
            session.tell(item.id, "like", event_id=f"ok-{i}")

        server.kill()  # a crash: only what reached the append-only file survives
        with pytest.raises(plgl.StorageError, match="unreachable"):
            session.tell(items[20].id, "like", event_id="during-outage")
        with pytest.raises(plgl.StorageError, match="unreachable"):
            engine.session("carol")
        with pytest.raises(plgl.StorageError, match="unreachable"):
            session.export()

        server.start()
        assert [e.event_id for e in engine.storage.events("bob")] == [f"ok-{i}" for i in range(20)]
        session.tell(items[20].id, "like", event_id="during-outage")  # the client's retry
        session.tell(items[20].id, "like", event_id="during-outage")
        ids = [e.event_id for e in engine.storage.events("bob")]
        assert ids == [f"ok-{i}" for i in range(20)] + ["during-outage"]
        assert os.path.isdir(tmp_path / "appendonlydir")
        engine.storage.close()


def test_a_resumed_session_never_reissues_an_item_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    generator = plgl.generators.get("identity", latent_dim=4)
    before = plgl.Engine(generator=generator, storage=url).session("u")
    first = before.ask(5)
    before.tell(first[0].id, "like")
    after = plgl.Engine(generator=generator, storage=url).session("u")  # a restart
    served_before = {item.id for item in first}
    later = [item for _ in range(20) for item in after.ask(10)]
    assert not served_before & {item.id for item in later}
    for item in later:  # every id still names the latent it was served with
        np.testing.assert_array_equal(after.engine.storage.item_latent("u", item.id), item.latent)


def _adventurous(url: str, ready: Connection) -> None:
    """Sets a user's adventurousness, rates a little, says so, then keeps rating until killed."""
    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=4), storage=url)
    session = engine.session("dora")
    session.set_explore(0.8)
    for i in range(100_000):
        item = session.ask(1)[0]
        session.tell(item.id, "like" if item.latent[0] > 0 else "dislike", event_id=f"ev-{i}")
        if i == 5:
            ready.send("set")


def test_adventurousness_survives_a_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plgl.db'}"
    receive, send = FORK.Pipe(duplex=False)
    writer = FORK.Process(target=_adventurous, args=(url, send))
    writer.start()
    send.close()
    assert receive.poll(60) and receive.recv() == "set"
    writer.kill()
    writer.join()
    assert writer.exitcode == -signal.SIGKILL

    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=4), storage=url)
    session = engine.session("dora")
    assert session.explore == 0.8
    assert session.export()["settings"] == {"explore": 0.8}
    assert [item.source for item in session.ask(10)].count("explore") == 8
    session.delete()
    assert engine.storage.settings("dora") == {}
    engine.close()
