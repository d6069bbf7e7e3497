"""What serving a request reads, counted on a real Redis (`INFO commandstats`): the content cache
reads a batch in one round trip and keeps decoded pool content in memory; a session reads its
version, tombstone and settings in one script, and still sees what other processes did."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest
import redis

import plgl
from plgl.cache import ContentCache, from_url, pregenerate
from plgl.errors import UnknownItemError, UserDeletedError
from plgl.generators import IdentityGenerator
from plgl.testing import RedisServer

pytestmark = pytest.mark.skipif(not RedisServer.available(), reason="redis-server not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
def calls(server: RedisServer) -> Iterator[Calls]:
    client = redis.Redis.from_url(server.url)
    client.flushall()
    yield Calls(client)
    client.close()


class Calls:
    """Commands the Redis server ran since the last `reset`, by name (lower case)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def reset(self) -> None:
        self.client.config_resetstat()

    def __call__(self) -> dict[str, int]:
        stats = self.client.info("commandstats")
        counts = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
        counts.pop("info", None)
        counts.pop("config|resetstat", None)
        return counts


@pytest.fixture
def caches(server: RedisServer) -> Iterator[Callable[[int], ContentCache]]:
    """Content caches (`decoded_items` given) over a pool of 20 pregenerated items in db 1."""
    made: list[ContentCache] = []

    def make(decoded_items: int = 2048) -> ContentCache:
        generator = IdentityGenerator(latent_dim=4)
        store = from_url(f"{server.url[:-2]}/1")
        pregenerate(generator, store, n=20)
        made.append(ContentCache(store, decoded_items=decoded_items).attach(generator))
        made[-1].pool.refresh()
        return made[-1]

    yield make
    for cache in made:
        cache.store.close()


def test_a_batch_of_content_is_one_read_then_pool_content_is_in_memory(
    caches: Callable[[int], ContentCache], calls: Calls
) -> None:
    cache = caches(2048)
    pool = cache.pool_latents()[:10]
    calls.reset()
    first = cache.contents(pool, "u")
    assert calls() == {"mget": 1}  # ten items, one round trip
    calls.reset()
    again = cache.contents(pool, "u")
    assert calls() == {}  # decoded before: nothing read, nothing decoded
    assert [a.tolist() for a in again] == [f.tolist() for f in first] == pool.tolist()
    assert not again[0].flags.writeable  # shared by every user: nobody may change it
    assert cache.stats["hits"] == 20 and cache.stats["generated"] == 0


def test_content_made_for_a_user_is_read_from_the_store_every_time(
    caches: Callable[[int], ContentCache], calls: Calls
) -> None:
    cache = caches(2048)
    fresh = np.arange(12.0).reshape(3, 4)
    calls.reset()
    cache.contents(fresh, "u")  # made: written in one round trip, and noted for the user
    assert calls()["mset"] == 1 and calls()["mget"] == 2  # content, then the user's pinned
    calls.reset()
    assert [c.tolist() for c in cache.contents(fresh, "u")] == fresh.tolist()
    assert calls() == {"mget": 1}  # never kept in memory: forget_user must leave no copy
    cache.forget_user("u")
    assert cache.contents(fresh[:1])[0].tolist() == fresh[0].tolist()
    assert cache.stats["generated"] == 4  # removed with the user, so made again


def test_no_decoded_items_reads_the_store_every_time(
    caches: Callable[[int], ContentCache], calls: Calls
) -> None:
    cache = caches(0)
    pool = cache.pool_latents()[:3]
    cache.contents(pool)
    calls.reset()
    cache.contents(pool)
    assert calls() == {"mget": 1}


def test_metadata_of_pool_items_is_computed_once(caches: Callable[[int], ContentCache]) -> None:
    cache = caches(2048)
    latent = cache.pool_latents()[0]
    content = cache.contents(latent[None, :])[0]
    seen = []
    original = cache.generator.metadata

    def counted(value: object) -> dict[str, object]:
        seen.append(value)
        return original(value)

    cache.generator.metadata = counted  # type: ignore[method-assign]
    first = cache.metadata(latent, content)
    first["changed"] = True  # a caller's copy: the kept one stays as it was
    assert cache.metadata(latent, content) == original(content) and len(seen) == 1
    other = np.ones(4)
    cache.metadata(other, other), cache.metadata(other, other)
    assert len(seen) == 3  # not a pool item: computed every time


def test_decoded_items_must_be_a_count() -> None:
    with pytest.raises(plgl.errors.InvalidInputError, match="decoded_items"):
        ContentCache(decoded_items=-1)


def _engine(server: RedisServer) -> plgl.Engine:
    generator = IdentityGenerator(latent_dim=4)
    return plgl.Engine(generator, server.url, seed=0, cache=f"{server.url[:-2]}/1")


def test_a_request_reads_version_tombstone_and_settings_in_one_script(
    server: RedisServer, calls: Calls
) -> None:
    engine = _engine(server)
    session = engine.session("u")
    items = session.ask(4)
    session.tell(items[0].id, "like")
    calls.reset()
    assert engine.session("u") is session  # held in memory: no tombstone read
    assert calls() == {}
    assert session.n_ratings == 1
    assert calls() == {"evalsha": 1, "llen": 1, "sismember": 1, "hgetall": 1}
    calls.reset()
    session.tell(items[1].id, "dislike")
    assert session.n_learned == 2
    assert calls()["llen"] == 2  # the request's first read, and the check after the append
    engine.close()


def test_another_process_deleting_the_user_is_seen_by_every_call(server: RedisServer) -> None:
    here, there = _engine(server), _engine(server)
    for ask, call in (
        (True, lambda s, item: s.n_ratings),
        (True, lambda s, item: s.render(item)),
        (True, lambda s, item: s.export()),
        (False, lambda s, item: s.ask(2)),  # a user without events
    ):
        session = here.session("gone")
        item = session.ask(2)[0].id
        if ask:
            session.tell(item, "like")
        there.session("gone").delete()
        with pytest.raises(UserDeletedError):
            call(here.session("gone"), item)
        with pytest.raises(UserDeletedError):  # gone from memory too: checked on the way in
            here.session("gone")
        with redis.Redis.from_url(server.url) as client:
            client.flushdb()
    here.close(), there.close()


def test_an_unknown_item_is_still_unknown_and_settings_from_elsewhere_apply(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = _engine(server), _engine(server)
    session = here.session("u")
    session.ask(2)
    with pytest.raises(UnknownItemError):
        session.render("never-served")
    there.session("u").set_explore(0.9)
    shares = []

    def spy(sampler: plgl.samplers.BaseSampler, share: float) -> plgl.samplers.BaseSampler:
        shares.append(share)
        return sampler

    monkeypatch.setattr("plgl.session._with_explore", spy)
    session.ask(2)
    assert shares == [0.9] and session.explore == 0.9
    here.close(), there.close()


def test_held_session_is_only_a_session_in_memory(server: RedisServer, calls: Calls) -> None:
    engine = _engine(server)
    assert engine.held_session("u") is None  # not built: the server resumes it in a thread
    session = engine.session("u")
    calls.reset()
    assert engine.held_session("u") is session and engine.held_session("u", "gym") is None
    assert calls() == {}  # found without a storage read: safe on an event loop
    session.delete()
    assert engine.held_session("u") is None
    engine.session("v")
    engine.close()
    assert engine.held_session("v") is None
