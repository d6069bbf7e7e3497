from collections.abc import Iterator

import numpy as np
import pytest
import redis

from plgl.errors import InvalidInputError, StorageError
from plgl.records import Feedback, Item
from plgl.storage import BaseStorage, RedisStorage, from_url
from plgl.testing import RedisServer, StorageConformance

pytestmark = pytest.mark.skipif(
    not RedisServer.available(), reason="redis-server is not installed (apt install redis-server)"
)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


class TestRedisStorage(StorageConformance):
    @pytest.fixture
    def storage(self, redis_url: str) -> Iterator[BaseStorage]:
        storage = from_url(redis_url)
        yield storage
        storage.close()


def test_url_gives_redis_storage(redis_url: str) -> None:
    storage = from_url(redis_url)
    assert isinstance(storage, RedisStorage)
    storage.close()


def test_data_is_shared_by_clients_and_kept_on_the_server(redis_url: str) -> None:
    writer, reader = RedisStorage(redis_url), RedisStorage(redis_url)
    writer.put_items("u", [Item("a", np.arange(3.0), None)])
    writer.append("u", Feedback("e1", "a", "like"))
    writer.delete_user("gone")
    assert reader.events("u") == [Feedback("e1", "a", "like")]
    assert reader.is_deleted("gone")
    assert not reader.append("u", Feedback("e1", "a", "like"))
    writer.close()
    reader.close()


def test_deleted_user_leaves_no_keys(redis_url: str) -> None:
    storage = RedisStorage(redis_url)
    storage.put_items("u", [Item("a", np.arange(3.0), None)])
    storage.append("u", Feedback("e1", "a", "like"))
    storage.put_snapshot("u", 1, b"state")
    storage.delete_user("u")
    client = redis.Redis.from_url(redis_url)
    assert [key for key in client.keys("*") if key != b"plgl:tombstones"] == []
    client.close()
    storage.close()


def test_unreachable_server_is_a_clear_storage_error() -> None:
    storage = RedisStorage("redis://:hunter2@127.0.0.1:1/0", connect_timeout=0.2)
    with pytest.raises(StorageError, match="unreachable") as caught:
        storage.append("u", Feedback("e1", "a", "like"))
    assert "hunter2" not in str(caught.value)  # the password is not printed
    for call in (lambda: storage.events("u"), lambda: storage.is_deleted("u")):
        with pytest.raises(StorageError, match="unreachable"):
            call()
    storage.close()


def test_bad_redis_url_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="Redis URL"):
        RedisStorage("redis://127.0.0.1:notaport/0")


def test_users_of_data_written_before_the_index_are_listed(redis_url: str) -> None:
    storage = RedisStorage(redis_url)
    storage.put_items("old:one", [Item("a", np.arange(3.0), None)])
    storage.append("old-two", Feedback("e1", "a", "like"))
    storage.append("gone", Feedback("e1", "a", "like"))
    storage.delete_user("gone")
    client = redis.Redis.from_url(redis_url)
    client.delete("plgl:users", "plgl:users-indexed")  # as a database of an older plgl
    client.close()
    fresh = RedisStorage(redis_url)
    assert fresh.users() == ["old-two", "old:one"]
    storage.close()
    fresh.close()


def test_data_written_before_the_unrated_index_expires_alike(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    latent = np.arange(3.0).astype("<f8").tobytes()
    for item_id in ("old", "a", "p", "new"):  # the keys an earlier plgl wrote, nothing more
        client.hset("plgl:u:ann:items", item_id, latent)
        client.hset("plgl:u:ann:sources", item_id, "explore")
        client.rpush("plgl:u:ann:order", item_id)
    for body in (
        '{"event_id": "e1", "item_id": "a", "kind": "feedback", "signal": "like"}',
        '{"event_id": "c1", "kind": "comparison", "other_id": "x", "preferred_id": "p"}',
    ):
        client.rpush("plgl:u:ann:events", body)
    storage = RedisStorage(redis_url)
    assert storage.expire_unrated("ann", 1) == 1
    assert [item.id for item in storage.items("ann")] == ["a", "p", "new"]
    storage.put_items("ann", [Item("x", np.zeros(3), None), Item("y", np.zeros(3), None)])
    assert storage.expire_unrated("ann", 0) == 2  # "new" and "y"; "x" is named by c1
    assert [item.id for item in storage.items("ann")] == ["a", "p", "x"]
    storage.close()
    client.close()
