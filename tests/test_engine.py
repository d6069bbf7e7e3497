"""The Engine: a bounded registry of hot sessions, close(), separate random streams, and any
engine serving any user over one storage."""

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
from helpers import rate

import plgl
from plgl.hot_sessions import HotSessions
from plgl.storage import SQLiteStorage
from plgl.testing import RedisServer

DIM = 6


def _engine(storage: object = None, **options: object) -> plgl.Engine:
    generator = plgl.generators.get("identity", latent_dim=DIM)
    return plgl.Engine(generator=generator, storage=storage, seed=5, **options)  # type: ignore[arg-type]


def _latents(items: list[plgl.Item]) -> list[list[float]]:
    return [item.latent.tolist() for item in items]


def test_at_most_max_sessions_are_kept_least_recently_used_first() -> None:
    engine = _engine(max_sessions=2)
    a = engine.session("a")
    engine.session("b")
    assert engine.session("a") is a  # "a" is now the most recently used
    engine.session("c")  # one too many: "b" goes
    assert engine.n_sessions == 2
    assert engine.session("a") is a
    rate(engine.session("b"), np.eye(DIM)[0], 10)  # rebuilt from storage
    assert engine.session("b").n_ratings == 10


def test_an_evicted_session_is_released() -> None:
    engine = _engine(max_sessions=1)
    session = engine.session("a")
    rate(session, np.eye(DIM)[0], 60)  # a snapshot job was queued on the way
    released = weakref.ref(session)
    del session
    engine.session("b")
    engine.flush()
    gc.collect()
    assert released() is None  # nothing else holds it: its memory is free


def test_idle_sessions_are_dropped() -> None:
    now = [0.0]
    hot = HotSessions(max_sessions=10, idle_seconds=60.0, clock=lambda: now[0])
    engine = _engine()
    a, b = plgl.Session(engine, "a"), plgl.Session(engine, "b")
    hot.put("a", a)
    now[0] = 30.0
    hot.put("b", b)
    now[0] = 70.0  # "a" idle for 70 s, "b" for 40 s
    assert hot.get("a") is None and hot.get("b") is b
    now[0] = 200.0
    assert len(hot) == 0


def test_evicted_keys_are_reported() -> None:
    now, evicted = [0.0], []
    hot = HotSessions(
        max_sessions=2, idle_seconds=60.0, clock=lambda: now[0], on_evict=evicted.append
    )
    engine = _engine()
    for key in ("a", "b", "c"):
        hot.put(key, plgl.Session(engine, key))
    assert evicted == ["a"]  # for room
    now[0] = 100.0
    assert hot.get("b") is None and evicted == ["a", "b", "c"]  # for idleness


def test_an_evicted_session_resumes_where_it_was() -> None:
    engine = _engine(max_sessions=1)
    session = engine.session("u")
    rate(session, np.eye(DIM)[2], 30)
    engine.session("other")  # evicts "u"
    resumed = engine.session("u")
    assert resumed is not session and resumed.n_ratings == 30
    probe = np.random.default_rng(0).standard_normal((4, DIM))
    replayed = _engine(engine.storage).session("u")  # as a restarted process would
    np.testing.assert_array_equal(resumed.score(probe), replayed.score(probe))


def test_bad_registry_settings_are_rejected() -> None:
    for options in ({"max_sessions": 0}, {"idle_seconds": 0}, {"idle_seconds": "1"}):
        with pytest.raises(plgl.InvalidInputError):
            _engine(**options)


def test_close_writes_pending_snapshots_and_ends_the_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plgl.db'}"
    with _engine(url) as engine:
        rate(engine.session("u"), np.eye(DIM)[0], 50)  # a snapshot is due at event 50
    check = SQLiteStorage(tmp_path / "plgl.db")
    snapshot = check.snapshot("u")
    assert snapshot is not None and snapshot.position == 50
    check.close()
    assert engine.n_sessions == 0
    with pytest.raises(plgl.InvalidInputError, match="closed"):
        engine.session("u")
    engine.close()  # closing twice is harmless


def test_reading_never_changes_the_next_batch() -> None:
    def next_batch(read: bool) -> list[list[float]]:
        session = _engine().session("u")
        rate(session, np.eye(DIM)[1], 20)
        session.ask(5)
        if read:
            session.explain()
            session.recommend(3)
            session.reverse(0.6, 4)
            session.reverse_items(0.3, 2)
            session.score(np.ones(DIM))
            _ = session.confidence
        return _latents(session.ask(5))

    assert next_batch(read=True) == next_batch(read=False)


def test_reading_twice_gives_the_same_answer() -> None:
    session = _engine().session("u")
    rate(session, np.eye(DIM)[3], 20)
    assert session.explain() == session.explain()
    np.testing.assert_array_equal(session.reverse(0.7, 3), session.reverse(0.7, 3))
    assert _latents(session.recommend(3)) == _latents(session.recommend(3))


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "redis"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL that several engines share: a SQLite file, or a Redis database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'plgl.db'}"
    if not RedisServer.available():
        pytest.skip("redis-server is not installed (apt install redis-server)")
    server: RedisServer = request.getfixturevalue("redis_server")
    client = redis.Redis.from_url(server.url)
    client.flushdb()
    client.close()
    return server.url


def test_a_rating_through_one_engine_is_seen_by_another(url: str) -> None:
    a, b = _engine(url), _engine(url)
    on_a, on_b = a.session("u"), b.session("u")
    rate(on_a, np.eye(DIM)[4], 20)
    assert on_b.n_ratings == 20  # engine B learned what engine A stored
    probe = np.random.default_rng(1).standard_normal((5, DIM))
    replayed = _engine(url).session("u")
    np.testing.assert_array_equal(on_b.score(probe), replayed.score(probe))

    items = on_b.ask(4)  # and the other way round, interleaved
    on_b.tell(items[0].id, "like")
    on_a.tell(items[1].id, "dislike")
    on_b.compare(items[2].id, items[3].id)
    assert on_a.n_ratings == on_b.n_ratings == 23
    # both learned the same events in the same order (`ask` refines a live model a little)
    fresh = _engine(url).session("u")
    np.testing.assert_allclose(on_a.score(probe), fresh.score(probe), atol=0.05)
    np.testing.assert_allclose(on_b.score(probe), fresh.score(probe), atol=0.05)
    a.close()
    b.close()


def test_a_user_deleted_through_one_engine_is_gone_on_another(url: str) -> None:
    a, b = _engine(url), _engine(url)
    rate(a.session("u"), np.eye(DIM)[0], 10)
    on_b = b.session("u")
    a.session("u").delete()
    with pytest.raises(plgl.UserDeletedError):
        on_b.ask(1)
    with pytest.raises(plgl.UserDeletedError):
        b.session("u")
    a.close()
    b.close()


def test_adventurousness_set_through_one_engine_is_used_by_another(url: str) -> None:
    a, b = _engine(url), _engine(url)
    on_b = b.session("u")
    a.session("u").set_explore(0.8)
    assert on_b.explore == 0.8
    assert [item.source for item in on_b.ask(10)].count("explore") == 8
    a.close()
    b.close()
