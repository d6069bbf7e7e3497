"""Rate limits: in-process buckets forget full ones; over SQLite and Redis, workers share the
buckets, asked once per refusal's length."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from plgl.server import Settings, create_app
from plgl.server.ratelimit import BaseRateLimiter, RateLimiter
from plgl.server.ratelimit_memo import RefusalMemo
from plgl.server.ratelimit_sqlite import SQLiteRateLimiter
from plgl.storage import SQLiteStorage
from plgl.testing import RedisServer

SECRET = "test-secret-" + "x" * 32
needs_redis = pytest.mark.skipif(
    not RedisServer.available(), reason="redis-server is not installed (apt install redis-server)"
)


def test_buckets_are_forgotten_once_full() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    for user in range(1000):
        assert limiter.take(f"u{user}", rate=1.0, burst=3) == 0.0
    assert len(limiter) == 1000
    now[0] = 0.5
    assert [limiter.take("hot", rate=1.0, burst=1) for _ in range(2)] == [0.0, 1.0]
    now[0] = 1.5  # every u-bucket is full again (2 of 3 tokens plus 1.5 s at 1 per second)
    assert limiter.take("hot", rate=1.0, burst=1) == 0.0
    assert len(limiter) == 1  # only "hot", which is not full
    assert limiter.take("hot", rate=1.0, burst=1) == 1.0  # a forgotten bucket starts full: fine


def test_refund_gives_the_token_back() -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    assert limiter.take("k", rate=0.01, burst=1) == 0.0
    assert limiter.take("k", rate=0.01, burst=1) > 0
    limiter.refund("k", 0.01, 1)
    assert limiter.take("k", rate=0.01, burst=1) == 0.0


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if not RedisServer.available():
        pytest.skip("redis-server is not installed (apt install redis-server)")
    with RedisServer(appendfsync="no") as server:
        yield server.url


@pytest.fixture
def fresh_redis(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@needs_redis
def test_redis_buckets_are_shared_and_expire(fresh_redis: str) -> None:
    from plgl.server.ratelimit_redis import RedisRateLimiter

    one, two = RedisRateLimiter(fresh_redis), RedisRateLimiter(fresh_redis)
    try:
        assert one.take("k", rate=0.01, burst=2) == 0.0
        assert two.take("k", rate=0.01, burst=2) == 0.0
        wait = one.take("k", rate=0.01, burst=2)
        assert 90 < wait <= 100  # one token at 0.01 per second, less what refilled meanwhile
        two.refund("k", 0.01, 2)
        assert one.take("k", rate=0.01, burst=2) == 0.0
        assert two.take("other", rate=0.01, burst=2) == 0.0  # keys are apart
        client = redis.Redis.from_url(fresh_redis)
        ttl = client.pttl("plgl:limit:k")
        assert 100_000 < ttl <= 201_000  # gone once full again (2 tokens at 0.01/s) + 1 s
        client.close()
    finally:
        one.close()
        two.close()


def _app(url: str, tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "domain": "identity",
        "storage": url,
        "secret": SECRET,
        "data_dir": tmp_path,
    }
    return create_app(Settings(**(values | overrides)))


def test_sqlite_buckets_are_shared_and_swept(tmp_path: Path) -> None:
    path = str(tmp_path / "plgl.db")
    SQLiteStorage(path).close()  # the storage makes the table
    now = [100.0]
    one = SQLiteRateLimiter(path, clock=lambda: now[0], sweep_every=4)
    two = SQLiteRateLimiter(path, clock=lambda: now[0])
    try:
        assert one.take("k", rate=0.01, burst=2) == 0.0
        assert two.take("k", rate=0.01, burst=2) == 0.0
        assert one.take("k", rate=0.01, burst=2) == pytest.approx(100.0)
        two.refund("k", 0.01, 2)
        two.refund("never-taken", 0.01, 2)  # nothing to give back: nothing stored
        assert one.take("k", rate=0.01, burst=2) == 0.0
        assert two.take("other", rate=0.01, burst=2) == 0.0  # keys are apart
        now[0] = 99.0  # the clock stepped back: no time passed, nothing refills
        assert two.take("k", rate=0.01, burst=2) == pytest.approx(100.0)
        now[0] = 400.0  # the buckets are full again; the fourth take of `one` sweeps them
        assert one.take("new", rate=0.01, burst=2) == 0.0
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT key FROM rate_limits").fetchall() == [("new",)]
        conn.close()
    finally:
        one.close()
        two.close()


@pytest.fixture(params=["sqlite", "redis"])
def shared_storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'plgl.db'}"
    if not RedisServer.available():
        pytest.skip("redis-server is not installed (apt install redis-server)")
    return str(request.getfixturevalue("fresh_redis"))


def test_two_workers_share_every_limit(shared_storage: str, tmp_path: Path) -> None:
    limits = {
        "signups_per_minute": 3,
        "generation_rate": 0.01,
        "generation_burst": 3,
        "feedback_rate": 0.01,
        "feedback_burst": 2,
    }
    first = _app(shared_storage, tmp_path / "a", **limits)
    second = _app(shared_storage, tmp_path / "b", **limits)
    with TestClient(first) as a, TestClient(second) as b:
        signups = [a.post("/api/users"), b.post("/api/users"), a.post("/api/users")]
        assert [r.status_code for r in signups] == [201, 201, 201]
        refused = b.post("/api/users")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        auth = {"Authorization": f"Bearer {signups[0].json()['token']}"}
        items = a.post("/api/feed?n=3", headers=auth).json()["items"]
        assert b.post("/api/feed?n=1", headers=auth).status_code == 200
        assert a.post("/api/feed?n=1", headers=auth).status_code == 200
        assert b.post("/api/feed?n=1", headers=auth).status_code == 429  # 3 across both
        bad = {"item_id": "no-such-item", "signal": "like"}
        assert b.post("/api/feedback", headers=auth, json=bad).status_code == 404  # refunded
        for item, client in zip(items[:2], (a, b), strict=True):
            rating = {"item_id": item["id"], "signal": "like"}
            assert client.post("/api/feedback", headers=auth, json=rating).status_code == 200
        rating = {"item_id": items[2]["id"], "signal": "like"}
        assert a.post("/api/feedback", headers=auth, json=rating).status_code == 429
        other = {"Authorization": f"Bearer {signups[1].json()['token']}"}
        assert a.post("/api/feed?n=1", headers=other).status_code == 200  # others unaffected


def test_memory_storage_keeps_limits_in_process(tmp_path: Path) -> None:
    for url in ("memory://", "sqlite:///:memory:"):
        app = _app(url, tmp_path)
        with TestClient(app):
            assert isinstance(app.state.services.limiter, RateLimiter)


class _Counting(BaseRateLimiter):
    """Buckets in this process that count the takes they are asked for."""

    def __init__(self, clock: Any) -> None:
        self.buckets = RateLimiter(clock=clock)
        self.takes = 0
        self.on_take: Any = None

    def take(self, key: str, rate: float, burst: int) -> float:
        self.takes += 1
        wait = self.buckets.take(key, rate, burst)
        if self.on_take is not None:
            self.on_take()
        return wait

    def refund(self, key: str, rate: float, burst: int) -> None:
        self.buckets.refund(key, rate, burst)


def test_a_refusal_is_remembered_for_its_wait_and_no_longer() -> None:
    now = [0.0]
    inner = _Counting(lambda: now[0])
    memo = RefusalMemo(inner, clock=lambda: now[0])
    assert [memo.take("k", rate=2.0, burst=2) for _ in range(3)] == [0.0, 0.0, 0.5]
    for t in (0.1, 0.2, 0.4):  # refused from memory, with the wait left
        now[0] = t
        assert memo.take("k", rate=2.0, burst=2) == pytest.approx(0.5 - t)
    assert inner.takes == 3
    assert memo.take("other", rate=2.0, burst=2) == 0.0  # keys are apart
    now[0] = 0.5  # a token has refilled: the buckets are asked again, and give it
    assert memo.take("k", rate=2.0, burst=2) == 0.0
    assert inner.takes == 5


def test_a_refund_forgets_the_refusal() -> None:
    inner = _Counting(lambda: 0.0)
    memo = RefusalMemo(inner, clock=lambda: 0.0)
    assert memo.take("k", rate=0.01, burst=1) == 0.0
    assert memo.take("k", rate=0.01, burst=1) == pytest.approx(100.0)
    memo.refund("k", 0.01, 1)
    assert memo.take("k", rate=0.01, burst=1) == 0.0
    # A refund that lands while the buckets are asked is not overtaken by the refusal.
    inner.on_take = lambda: memo.refund("k", 0.01, 1)
    assert memo.take("k", rate=0.01, burst=1) > 0  # refused, then given back
    inner.on_take = None
    assert memo.take("k", rate=0.01, burst=1) == 0.0


def test_remembered_refusals_are_bounded() -> None:
    now = [0.0]
    memo = RefusalMemo(_Counting(lambda: now[0]), clock=lambda: now[0], max_keys=50)
    for user in range(200):
        memo.take(f"u{user}", rate=1.0, burst=1)
        assert memo.take(f"u{user}", rate=1.0, burst=1) == 1.0
    assert len(memo) == 50
    now[0] = 2.0  # every refusal has ended: the next one forgets them
    memo.take("hot", rate=1.0, burst=1)
    memo.take("hot", rate=1.0, burst=1)
    assert len(memo) == 1


def test_a_flood_costs_one_shared_take_per_refusal(tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'plgl.db'}", tmp_path, generation_rate=0.01)
    with TestClient(app) as client:
        limiter = app.state.services.limiter
        assert isinstance(limiter, RefusalMemo)
        assert isinstance(limiter.limiter, SQLiteRateLimiter)
        inner = limiter.limiter
        takes = [0]
        take = inner.take

        def counted(key: str, rate: float, burst: int) -> float:
            takes[0] += 1
            return take(key, rate, burst)

        auth = {"Authorization": f"Bearer {client.post('/api/users').json()['token']}"}
        inner.take = counted  # type: ignore[method-assign]
        answers = [client.post("/api/feed?n=1", headers=auth).status_code for _ in range(40)]
        assert answers == [200] * 20 + [429] * 20
        assert takes[0] == 21  # 20 allowed, then one refusal remembered for 100 s
