"""The cache store contract (`plgl.testing.CacheConformance`) on every backend: memory, SQLite
and a real Redis; and what is particular to each, and their URLs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plgl.cache import BaseCache, CacheUnavailableError, MemoryCache, from_url
from plgl.cache.sqlite import SQLiteCache
from plgl.errors import InvalidInputError
from plgl.testing import CacheConformance, RedisServer

needs_redis = pytest.mark.skipif(not RedisServer.available(), reason="redis-server not installed")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if not RedisServer.available():
        pytest.skip("redis-server not installed")
    with RedisServer() as server:
        yield server


class TestMemoryCache(CacheConformance):
    @pytest.fixture
    def store(self) -> BaseCache:
        return MemoryCache()


class TestSQLiteCache(CacheConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[BaseCache]:
        cache = from_url(f"sqlite:///{tmp_path / 'cache.db'}")
        yield cache
        cache.close()


@needs_redis
class TestRedisCache(CacheConformance):
    @pytest.fixture
    def store(self, redis_server: RedisServer) -> Iterator[BaseCache]:
        cache = from_url(redis_server.url)
        cache.delete_prefix("")
        yield cache
        cache.close()


def test_memory_evicts_only_content_least_recently_used() -> None:
    store = MemoryCache(max_bytes=4)
    store["content:1"], store["content:2"], store["pool:p"] = b"11", b"22", b"p" * 10
    store["content:1"]  # used: now the most recent
    store["render:3:image/png"] = b"3"
    assert sorted(store) == ["content:1", "pool:p", "render:3:image/png"]
    store["content:1"] = b"1111"  # replacing an entry frees its old size first
    assert sorted(store) == ["content:1", "pool:p"]
    store["content:big"] = b"12345"  # larger than the whole cache: not kept, nothing evicted
    assert sorted(store) == ["content:1", "pool:p"]
    off = MemoryCache(max_bytes=0)
    off["content:1"], off["user:u:kept:1"] = b"1", b"k"
    assert list(off) == ["user:u:kept:1"]


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first = from_url(url)
    first["content:a"] = b"x"
    first.increment("likes:a", 3)
    first.close()
    again = from_url(url)
    assert again["content:a"] == b"x" and again.increment("likes:a") == 4


def test_sqlite_counters_lose_nothing_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    SQLiteCache(path).close()

    def bump() -> None:
        store = SQLiteCache(path)
        for _ in range(100):
            store.increment("likes:x")
        store.close()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SQLiteCache(path)["likes:x"] == b"400"


def test_foreign_or_corrupt_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE accounts (id INTEGER)")
    db.close()
    before = foreign.read_bytes()
    with pytest.raises(CacheUnavailableError, match="other tables"):
        SQLiteCache(foreign)
    assert foreign.read_bytes() == before
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CacheUnavailableError, match="not a usable plgl cache"):
        SQLiteCache(junk)
    assert junk.read_bytes() == b"this is not a database at all" * 100


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unsupported cache URL"),
        ("cache.db", "unsupported cache URL"),
        ("sqlite://", "bad SQLite cache URL"),
        ("sqlite:///", "bad SQLite cache URL"),
        ("memory://somewhere", "bad memory cache URL"),
        ("memory://?max_bytes=many", "must be an integer"),
        ("memory://?max_bytes=-1", "max_bytes must be"),
        ("memory://?size=3", "bad memory cache URL"),
        (42, "URL string or a BaseCache"),
    ],
)
def test_bad_urls_give_clear_errors(url: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        from_url(url)  # type: ignore[arg-type]


def test_sqlite_in_a_missing_folder_and_unreachable_redis_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CacheUnavailableError, match="no such directory"):
        from_url(f"sqlite:///{tmp_path / 'missing' / 'c.db'}")
    with pytest.raises(CacheUnavailableError, match=r"127\.0\.0\.1:1"):
        from_url("redis://127.0.0.1:1/0")


@needs_redis
def test_redis_cache_is_shared_between_clients(redis_server: RedisServer) -> None:
    one, two = from_url(redis_server.url), from_url(redis_server.url)
    one["pool:shared"] = b"v"
    assert two["pool:shared"] == b"v"
    assert one.increment("likes:z") == 1 and two.increment("likes:z") == 2
