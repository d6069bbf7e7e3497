"""The cache store contract, as tests every backend must pass (see `plgl.cache.BaseCache`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from plgl.cache import BaseCache, ContentCache, pregenerate
from plgl.errors import InvalidInputError
from plgl.generators import IdentityGenerator


class CacheConformance:
    """Subclass and override the `store` fixture to return a fresh, empty backend that keeps
    what it is given (no eviction below a few MB)."""

    @pytest.fixture
    def store(self) -> BaseCache:
        raise NotImplementedError("override the store fixture")

    # ------------------------------------------------------------- the mapping
    def test_mapping_contract(self, store: BaseCache) -> None:
        store["content:a"] = b"one"
        store["pool:b"] = bytearray(b"two")  # type: ignore[assignment]  # bytes-like works
        assert store["content:a"] == b"one" and store["pool:b"] == b"two"
        assert isinstance(store["pool:b"], bytes)
        assert "content:a" in store and "content:zz" not in store
        assert sorted(store) == ["content:a", "pool:b"] and len(store) == 2
        store["content:a"] = b"three"
        assert store["content:a"] == b"three" and len(store) == 2
        del store["content:a"]
        assert "content:a" not in store and store.get("content:a") is None
        with pytest.raises(KeyError):
            store["content:a"]
        with pytest.raises(KeyError):
            del store["content:a"]

    def test_empty_and_binary_values_round_trip(self, store: BaseCache) -> None:
        store["pool:empty"] = b""
        store["pool:binary"] = bytes(range(256))
        assert store["pool:empty"] == b"" and store["pool:binary"] == bytes(range(256))

    def test_values_must_be_bytes_and_a_bad_write_changes_nothing(self, store: BaseCache) -> None:
        store["pool:x"] = b"kept"
        with pytest.raises(InvalidInputError, match="bytes"):
            store["pool:x"] = "text"  # type: ignore[assignment]
        with pytest.raises(InvalidInputError, match="str"):
            store[3] = b"v"  # type: ignore[index]
        with pytest.raises(InvalidInputError, match="bytes"):
            store.put_many({"pool:y": b"ok", "pool:x": 3})  # type: ignore[dict-item]
        assert store["pool:x"] == b"kept" and "pool:y" not in store
        store.put_many({"pool:y": b"1", "content:z": b"2"})
        assert store["pool:y"] == b"1" and store["content:z"] == b"2"

    def test_get_many_reads_in_order_with_none_for_missing(self, store: BaseCache) -> None:
        keys = [f"content:{i:04d}" for i in range(1200)]  # more than one query's worth
        store.put_many({key: key.encode() for key in keys[::2]})
        asked = [*reversed(keys), "pool:none", keys[0]]
        expected = [key.encode() if i % 2 == 0 else None for i, key in enumerate(keys)]
        assert store.get_many(asked) == [*reversed(expected), None, keys[0].encode()]
        assert store.get_many([]) == []

    def test_counters_scan_and_delete_prefix(self, store: BaseCache) -> None:
        assert store.increment("likes:c:1") == 1
        assert store.increment("likes:c:1", 4) == 5
        assert int(store["likes:c:1"]) == 5
        for key in ("user:aa:kept:1", "user:aa:made:1", "user:ab:kept:1", "user:a%_:x"):
            store[key] = b"v"
        assert sorted(store.scan("user:aa:")) == ["user:aa:kept:1", "user:aa:made:1"]
        assert list(store.scan("user:a%_")) == ["user:a%_:x"]  # no wildcard meaning
        assert list(store.scan("nothing:")) == []
        assert store.delete_prefix("user:aa:") == 2
        assert sorted(store.scan("user:")) == ["user:a%_:x", "user:ab:kept:1"]
        assert store.delete_prefix("nothing:") == 0

    def test_concurrent_increments_lose_nothing(self, store: BaseCache) -> None:
        def bump(_: int) -> None:
            for _ in range(50):
                store.increment("likes:race")

        with ThreadPoolExecutor(4) as threads:
            list(threads.map(bump, range(4)))  # re-raises a thread's failure
        assert store["likes:race"] == b"200"

    # ------------------------------------------------- a content cache on top
    def test_content_is_generated_once(self, store: BaseCache) -> None:
        cache = ContentCache(store).attach(IdentityGenerator(latent_dim=3))
        latents = np.random.default_rng(0).standard_normal((4, 3))
        first = cache.contents(latents)
        again = ContentCache(store).attach(IdentityGenerator(latent_dim=3))
        assert all(
            np.array_equal(a, b) for a, b in zip(again.contents(latents), first, strict=True)
        )
        assert cache.stats["generated"] == 4 and again.stats["generated"] == 0

    def test_pools_load_what_pregenerate_wrote(self, store: BaseCache) -> None:
        generator = IdentityGenerator(latent_dim=3)
        assert pregenerate(generator, store, 1200) == 1200
        cache = ContentCache(store).attach(generator)
        latents = cache.pool_latents()
        assert latents.shape == (1200, 3) and len(set(cache.pool.keys)) == 1200
        assert cache.contents(latents[:5]) and cache.stats["generated"] == 0
        assert pregenerate(generator, store, 1500) == 1500
        np.testing.assert_array_equal(cache.pool_latents()[:1200], latents)  # appended only

    def test_forget_user_removes_their_entries_for_good(self, store: BaseCache) -> None:
        cache = ContentCache(store).attach(IdentityGenerator(latent_dim=2))
        mine, theirs = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])
        cache.contents(mine, user_id="gone")
        cache.contents(theirs, user_id="kept")
        cache.note_feedback("gone", mine[0], "like")
        cache.note_feedback("kept", theirs[0], "like")
        cache.forget_user("gone")
        assert cache.is_forgotten("gone") and not cache.is_forgotten("kept")
        assert len(cache.kept("gone")) == 0 and len(cache.kept("kept")) == 1
        assert f"content:{cache.digests(mine)[0]}" not in store
        cache.note_feedback("gone", mine[0], "like")  # a late like changes nothing
        assert len(cache.kept("gone")) == 0

    def test_shared_positives_count_users_once(self, store: BaseCache) -> None:
        generator = IdentityGenerator(latent_dim=2)
        pregenerate(generator, store, 5)
        cache = ContentCache(store, min_shared_likes=2).attach(generator)
        item = cache.pool_latents()[3]
        for user_id in ("a", "a", "b"):
            cache.note_feedback(user_id, item, "like")
        assert cache.shared_rows().tolist() == [3]
