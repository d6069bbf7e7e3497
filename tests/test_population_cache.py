"""Cluster caches: likes within a taste group warm its members' candidates, and pools
pregenerated along each cluster's centroid are offered to its members first."""

from __future__ import annotations

import numpy as np
import pytest

import plgl
from plgl.cache import ContentCache, MemoryCache, pregenerate, pregenerate_groups
from plgl.errors import InvalidInputError
from plgl.population import Population

D = 4


def cache_with_pool(min_shared_likes: int = 2) -> ContentCache:
    store = MemoryCache()
    generator = plgl.generators.get("identity", latent_dim=D)
    pregenerate(generator, store, n=50)
    return ContentCache(store, min_shared_likes=min_shared_likes).attach(generator)


def test_likes_within_a_group_come_first_for_its_members() -> None:
    cache = cache_with_pool()
    latents = cache.pool_latents()
    for user, group, row in (("a1", "g", 3), ("a2", "g", 3), ("b1", "h", 7), ("b2", "h", 7)):
        cache.join(user, group)
        cache.note_feedback(user, latents[row], "like")
    cache.join("b3", "h")  # a later member of h
    assert cache.shared_rows("a1").tolist() == [3, 7]
    assert cache.shared_rows("b3").tolist() == [7, 3]
    assert cache.shared_rows("nobody").tolist() == [3, 7]  # the global order
    assert cache.shared_rows().tolist() == [3, 7]


def test_a_group_needs_enough_likes_and_counts_each_member_once() -> None:
    cache = cache_with_pool(min_shared_likes=3)
    row = cache.pool_latents()[5]
    for user in ("a1", "a2"):
        cache.join(user, "g")
        cache.note_feedback(user, row, "like")
        cache.note_feedback(user, row, "like")  # a second like of the same user: not counted
    assert cache.shared_rows("a1").tolist() == []
    cache.join("a3", "g")
    cache.note_feedback("a3", row, "dislike")
    assert cache.shared_rows("a1").tolist() == []


def test_a_row_both_liked_and_pregenerated_for_a_group_is_offered_once() -> None:
    cache = cache_with_pool()
    pregenerate_groups(
        cache.generator, cache.store, {"g": np.arange(1.0, 4.0)[:, None] * np.ones(D)}
    )
    liked = cache.pool_latents()[51]  # one of the group's own rows
    for user in ("a1", "a2"):
        cache.join(user, "g")
        cache.note_feedback(user, liked, "like")
    assert cache.shared_rows("a1").tolist() == [51, 50, 52]


def test_forgetting_a_user_leaves_their_group() -> None:
    cache = cache_with_pool()
    cache.join("a1", "g")
    cache.forget_user("a1")
    latents = cache.pool_latents()
    cache.join("a2", "g")
    cache.note_feedback("a1", latents[1], "like")  # a late like of a forgotten user
    cache.note_feedback("a2", latents[1], "like")
    assert cache.shared_rows("a2").tolist() == []


def test_group_pools_are_pregenerated_once_and_offered_to_members() -> None:
    cache = cache_with_pool()
    generator = cache.generator
    groups = {"r:0": np.ones((6, D)), "r:1": -np.ones((4, D))}
    assert pregenerate_groups(generator, cache.store, groups, batch=4) == {"r:0": 6, "r:1": 4}
    assert len(cache.pool_latents()) == 60
    assert pregenerate_groups(generator, cache.store, groups) == {"r:0": 6, "r:1": 4}
    assert len(cache.pool_latents()) == 60  # a rerun adds nothing
    assert cache.group_pool_rows("r:1").tolist() == [56, 57, 58, 59]
    cache.join("m", "r:1")
    assert cache.shared_rows("m").tolist() == [56, 57, 58, 59]
    before = generator_calls = cache.stats["generated"]
    cache.contents(cache.pool_latents()[56:60])
    assert cache.stats["generated"] == before == generator_calls  # content was pregenerated


@pytest.mark.parametrize(
    "groups",
    [{"": np.ones((2, D))}, {"g": np.ones((2, D + 1))}, {"g": np.ones(D)}],
)
def test_bad_groups_are_rejected(groups: dict[str, np.ndarray]) -> None:
    cache = cache_with_pool()
    with pytest.raises(InvalidInputError):
        pregenerate_groups(cache.generator, cache.store, groups)
    assert len(cache.pool_latents()) == 50


def test_a_new_member_is_shown_their_clusters_pool() -> None:
    """End to end: after a refresh, a user leaning to a cluster gets its centroid pool rows."""
    store = MemoryCache()
    generator = plgl.generators.get("identity", latent_dim=D)
    pregenerate(generator, store, n=200)
    engine = plgl.Engine(
        generator=generator,
        seed=0,
        cache=ContentCache(store),
        population=Population(epsilon=None, min_users=10),
    )
    axes = np.eye(D)[:2]
    for user in range(24):
        s = engine.session(f"u{user}")
        for item in s.ask(20):
            s.tell(item.id, "like" if item.latent @ axes[user % 2] > 0 else "dislike")
    assert engine.population is not None
    engine.population.refresh()
    refresh = engine.population.refresh_id
    rng = np.random.default_rng(0)
    groups = {f"{refresh}:{c.id}": c.exemplars(30, rng) for c in engine.population.clusters()}
    pregenerate_groups(generator, store, groups)
    newcomer = engine.session("new")
    for item in newcomer.ask(10):
        newcomer.tell(item.id, "like" if item.latent @ axes[0] > 0 else "dislike")
    group = engine.population.group_of(newcomer.model.coef_)  # type: ignore[attr-defined]
    assert group is not None
    rows = engine.cache.group_pool_rows(group)
    assert len(rows) == 30
    # The newcomer's candidates are offered their cluster's rows before anything else.
    assert engine.cache.shared_rows("new")[:30].tolist() == rows.tolist()
    # The centroid rows lean the newcomer's way: predicted liked far more than the pool.
    model = newcomer.model
    pool = engine.cache.pool_latents()
    assert (
        model.predict_proba(pool[rows])[:, 1].mean()
        > model.predict_proba(pool[:200])[:, 1].mean() + 0.2
    )
