"""The content cache in an Engine: never generated twice, keyed by config, pools, shared
positives without names, and deletion that sticks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import plgl
from plgl.bench import LinearUser
from plgl.bench.cache import CountingGenerator
from plgl.cache import ContentCache, MemoryCache, from_url, pregenerate
from plgl.cache.codec import decode, encode
from plgl.errors import InvalidInputError, UserDeletedError
from plgl.generators import IdentityGenerator
from plgl.models import confidence
from plgl.samplers import MixtureSampler


class Recorder(CountingGenerator):
    """Counts and remembers every latent it generated."""

    def __init__(self, inner: plgl.Generator) -> None:
        super().__init__(inner)
        self.seen: list[bytes] = []

    def generate(self, latents: np.ndarray) -> list[Any]:
        self.seen += [row.astype("<f8").tobytes() for row in latents]
        return super().generate(latents)


class Scaled(IdentityGenerator):
    """Content = scale x latent: a setting that changes the content, so it is in config()."""

    def __init__(self, scale: float) -> None:
        super().__init__(latent_dim=4)
        self.scale = scale

    def generate(self, latents: np.ndarray) -> list[np.ndarray]:
        return [self.scale * row for row in super().generate(latents)]

    def config(self) -> dict[str, Any]:
        return super().config() | {"scale": self.scale}


def _feed(session: plgl.Session, user: LinearUser, ratings: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    while session.n_ratings < ratings:
        items = session.ask(10)
        for item in items:
            session.render(item.id)
        answers = user.likes(np.array([i.latent for i in items]), rng)
        for item, liked in zip(items, answers, strict=True):
            session.tell(item.id, "like" if liked else "dislike")


def test_nothing_is_generated_twice() -> None:
    generator = Recorder(IdentityGenerator(latent_dim=6))
    engine = plgl.Engine(generator, seed=0)
    session = engine.session("alice")
    _feed(session, LinearUser(6, 0), 40)
    for item in session.recommend(3):
        session.render(item.id)
        session.render(item.id, "image/svg+xml")
    assert len(generator.seen) == len(set(generator.seen)) > 0
    # Content is made for shown items only, not for every candidate considered.
    assert generator.calls == 40 + 3


def test_render_uses_the_cache_and_checks_the_media_type() -> None:
    generator = CountingGenerator(IdentityGenerator(latent_dim=3))
    session = plgl.Engine(generator, seed=0).session("u")
    item = session.ask(1)[0]
    calls = generator.calls
    data, media = session.render(item.id)
    assert media == "image/svg+xml" and data.startswith(b"<svg")
    assert session.render(item.id) == (data, media) and generator.calls == calls
    with pytest.raises(InvalidInputError, match="renders image/svg"):
        session.render(item.id, "audio/wav")
    assert generator.calls == calls


def test_keys_include_the_generator_config() -> None:
    store = MemoryCache()
    half, double = ContentCache(store).attach(Scaled(0.5)), ContentCache(store).attach(Scaled(2))
    latent = np.ones((1, 4))
    assert half.contents(latent)[0].tolist() == [0.5] * 4
    assert double.contents(latent)[0].tolist() == [2.0] * 4
    assert half.contents(latent)[0].tolist() == [0.5] * 4
    assert half.stats["generated"] == 1 and double.stats["generated"] == 1
    with pytest.raises(InvalidInputError, match="another generator"):
        half.attach(Scaled(3))


def test_exact_latent_bytes_are_the_key() -> None:
    cache = ContentCache().attach(IdentityGenerator(latent_dim=2))
    a = np.array([[0.1, 0.2]])
    b = np.nextafter(a, 1.0)
    cache.contents(a), cache.contents(b), cache.contents(a.copy())
    assert cache.stats["generated"] == 2


def test_codec_round_trips_and_refuses_what_it_cannot_hold() -> None:
    for content in (np.arange(6, dtype=np.uint8).reshape(2, 3), b"\x00raw", {"smiles": "CCO"}):
        back = decode(encode(content))
        assert np.array_equal(back, content) if isinstance(content, np.ndarray) else back == content
    for bad in (object(), (1, 2), {1: "a"}, np.array([object()])):
        with pytest.raises(InvalidInputError):
            encode(bad)
    with pytest.raises(InvalidInputError, match="unknown tag"):
        decode(b"Xpickle")


def test_content_the_codec_cannot_hold_is_still_served() -> None:
    class Objects(IdentityGenerator):
        def generate(self, latents: np.ndarray) -> list[Any]:
            return [tuple(row) for row in latents]

        def _render(self, content: Any, media_type: str) -> bytes:
            return repr(content).encode()

    session = plgl.Engine(Objects(latent_dim=2), seed=0).session("u")
    item = session.ask(1)[0]
    assert isinstance(item.content, tuple) and session.render(item.id)[0].startswith(b"(")


def test_sqlite_cache_serves_a_new_process_without_generating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    first = plgl.Engine(IdentityGenerator(latent_dim=4), cache=url, seed=0)
    item = first.session("u").ask(1)[0]
    latent = item.latent.copy()
    first.cache.store.close()
    generator = CountingGenerator(IdentityGenerator(latent_dim=4))
    again = ContentCache(url).attach(generator)
    assert again.render(latent, "image/svg+xml").startswith(b"<svg") and generator.calls == 0
    assert np.array_equal(again.contents(latent[None])[0], latent) and generator.calls == 0


def test_engine_cache_argument() -> None:
    gen = IdentityGenerator(latent_dim=2)
    assert isinstance(plgl.Engine(gen).cache.store, MemoryCache)
    mine = ContentCache("memory://?max_bytes=5000")
    assert plgl.Engine(gen, cache=mine).cache is mine
    with pytest.raises(InvalidInputError, match="unsupported cache URL"):
        plgl.Engine(gen, cache="postgres://x")
    with pytest.raises(InvalidInputError, match="fresh_start"):
        ContentCache(fresh_start=1.5)


# ------------------------------------------------------------------------------------- pools
def _pool_engine(n: int = 3000, d: int = 8, **options: Any) -> plgl.Engine:
    store = MemoryCache()
    pregenerate(IdentityGenerator(latent_dim=d), store, n)
    return plgl.Engine(IdentityGenerator(latent_dim=d), cache=ContentCache(store), **options)


def test_pregenerate_resumes_and_reports_progress() -> None:
    store, seen = MemoryCache(), []
    gen = CountingGenerator(IdentityGenerator(latent_dim=3))
    assert pregenerate(gen, store, 1500, progress=lambda done, n: seen.append(done)) == 1500
    assert seen[-1] == 1500 and gen.calls == 1500
    assert pregenerate(gen, store, 1500) == 1500 and gen.calls == 1500  # nothing twice
    assert pregenerate(gen, store, 2500) == 2500 and gen.calls == 2500
    pool = ContentCache(store).attach(gen).pool.refresh()
    assert len(pool) == 2500 and len(set(pool.keys)) == 2500
    assert np.allclose(np.linalg.norm(pool.latents, axis=1), np.sqrt(3))  # on the shell
    with pytest.raises(InvalidInputError, match="n must be"):
        pregenerate(gen, store, 0)


def test_new_users_are_served_mostly_from_the_pool_then_fresh_rises() -> None:
    engine = _pool_engine()
    pool_rows = engine.cache.pool.refresh().rows
    shares = np.zeros((4, 8))  # users x rounds: share of the round's items from the pool
    for seed in range(4):
        session = engine.session(f"user-{seed}")
        user, rng = LinearUser(8, seed), np.random.default_rng(seed)
        for round_ in range(8):
            items = session.ask(10)
            latents = np.array([i.latent for i in items])
            shares[seed, round_] = np.mean([d in pool_rows for d in engine.cache.digests(latents)])
            for item, liked in zip(items, user.likes(latents, rng), strict=True):
                session.tell(item.id, "like" if liked else "dislike")
    assert shares[:, 0].mean() >= 0.65  # about 80% from the pool at first
    assert shares[:, -2:].mean() < shares[:, 0].mean() - 0.3  # fresh rises with confidence


def test_confidence_and_fresh_share() -> None:
    cache = ContentCache(fresh_start=0.2)
    assert cache.fresh_share(0.0) == pytest.approx(0.2) and cache.fresh_share(1.0) == 1.0
    engine = plgl.Engine(IdentityGenerator(latent_dim=8), seed=0)
    session = engine.session("c")
    values = [confidence(session.model, 0)]
    for ratings in (20, 60):
        _feed(session, LinearUser(8, 1), ratings)
        values.append(confidence(session.model, ratings))
    assert values[0] == 0.0 and values[0] < values[1] < values[2] <= 1.0


def test_pool_items_are_never_served_twice_to_a_user() -> None:
    engine = _pool_engine(n=1000, d=4)
    session = engine.session("u")
    _feed(session, LinearUser(4, 0), 60)
    digests = engine.cache.digests(np.array([i.latent for i in engine.storage.items("u")]))
    assert len(digests) == len(set(digests))


def test_marked_negatives_are_never_served_from_the_pool() -> None:
    free = _pool_engine(seed=3)
    session = free.session("u")
    _feed(session, LinearUser(8, 2), 30)
    rows = free.cache.pool.rows
    shown = np.array([i.latent for i in free.storage.items("u")])
    served = shown[[d in rows for d in free.cache.digests(shown)]]
    assert len(served) >= 8  # what the pool would serve without the marked region
    safety = plgl.Safety(negatives=served, radius=0.05)
    guarded = _pool_engine(seed=3, safety=safety)
    session = guarded.session("u")
    _feed(session, LinearUser(8, 2), 30)
    shown = np.array([i.latent for i in guarded.storage.items("u")])
    assert not safety.unsafe_mask(shown).any()


def test_shared_positives_need_several_users_and_name_none() -> None:
    store = MemoryCache()
    gen = IdentityGenerator(latent_dim=4)
    pregenerate(gen, store, 10)
    sampler = MixtureSampler(n_candidates=10)
    engine = plgl.Engine(
        gen, sampler=sampler, cache=ContentCache(store, fresh_start=0.0, min_shared_likes=3)
    )
    pool = engine.cache.pool.refresh()
    users = ["ann@example.com", "bob@example.com", "cy@example.com"]
    for n, user_id in enumerate(users):
        session = engine.session(user_id)
        items = session.ask(10)  # the whole pool: a new user sees pool items only
        assert {d for d in engine.cache.digests(np.array([i.latent for i in items]))} <= set(
            pool.rows
        )
        target = next(i for i in items if engine.cache.digests(i.latent[None])[0] == pool.keys[0])
        session.tell(target.id, "like")
        session.tell(target.id, "like")  # the same user again: still one like
        assert len(engine.cache.shared_rows()) == (1 if n == 2 else 0)
    assert engine.cache.shared_rows().tolist() == [0]
    assert store[f"likes:{engine.cache.config}:{pool.keys[0]}"] == b"3"
    for user_id in users:
        engine.session(user_id).delete()
    names = [u.encode() for u in users] + [u.split("@")[0].encode() for u in users]
    for key in store:
        assert not key.startswith("user:")
        assert not any(name in key.encode() or name in store[key] for name in names)
    assert engine.cache.shared_rows().tolist() == [0]  # the anonymous count outlives them


def test_delete_clears_the_users_cache_entries_for_good(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    engine = plgl.Engine(IdentityGenerator(latent_dim=4), cache=url, seed=0)
    keep, gone = engine.session("keep"), engine.session("gone")
    _feed(keep, LinearUser(4, 0), 20)
    _feed(gone, LinearUser(4, 1), 20)
    assert len(engine.cache.kept("gone")) > 0
    made = engine.cache.digests(np.array([i.latent for i in engine.storage.items("gone")]))
    assert all(f"content:{d}" in engine.cache.store for d in made)
    stale = gone
    gone.delete()
    store = engine.cache.store
    assert not any(f"content:{d}" in store or f"render:{d}:image/svg+xml" in store for d in made)
    assert len(engine.cache.kept("gone")) == 0 and len(engine.cache.kept("keep")) > 0
    with pytest.raises(UserDeletedError):
        stale.ask(1)
    # A late like from anywhere cannot bring the user's entries back.
    engine.cache.note_feedback("gone", np.ones(4), "like")
    store.close()
    reopened = ContentCache(from_url(url)).attach(IdentityGenerator(latent_dim=4))
    assert reopened.is_forgotten("gone") and len(reopened.kept("gone")) == 0
    user_keys = {k.split(":")[1] for k in reopened.store.scan("user:")}
    assert len(user_keys) == 1  # only "keep" has entries


def test_the_cache_hands_samplers_data_only() -> None:
    engine = _pool_engine(n=1000, d=4, seed=0)
    cache = engine.cache
    assert cache.shared_fraction(0.0) == pytest.approx(0.1) and cache.shared_fraction(1.0) == 0.0
    latents = cache.pool_latents()
    assert latents.shape == (1000, 4)
    session = engine.session("u")
    items = session.ask(10)
    rows = cache.served_rows("u", engine.storage.items("u"))
    in_pool = [d in cache.pool.rows for d in cache.digests(np.array([i.latent for i in items]))]
    assert len(rows) == sum(in_pool) > 0
    assert {cache.pool.keys[r] for r in rows} <= set(cache.digests(latents))
    assert cache.served_rows("someone else", []).tolist() == []


def test_served_rows_survive_expiry_and_after_release_come_from_storage() -> None:
    engine = _pool_engine(n=500, d=4, seed=0, max_sessions=2)
    cache, storage = engine.cache, engine.storage
    session = engine.session("u")
    session.ask(10)
    first = set(cache.served_rows("u", storage.items("u")).tolist())
    assert first
    storage.expire_unrated("u", 0)  # the front of the served list goes
    session.ask(10)
    second = set(cache.served_rows("u", storage.items("u")).tolist())
    assert first < second  # rows read before stay excluded; the new ones are added
    for other in ("v", "w"):  # "u" leaves memory, and the cache's note of it with it
        engine.session(other).ask(2)
    assert engine.n_sessions == 2 and len(cache._seen) == 2  # private: what memory holds
    again = set(cache.served_rows("u", storage.items("u")).tolist())
    assert again == second - first  # read again from what storage still holds
