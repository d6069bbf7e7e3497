"""Every shipped sampler passes the sampler conformance suite; samplers, not the cache, choose
what candidate pools serve."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import plgl
from plgl.cache import ContentCache, MemoryCache, pregenerate
from plgl.generators import IdentityGenerator
from plgl.models import LinearPreference
from plgl.samplers import BaseSampler, MixtureSampler
from plgl.testing import SamplerConformance


class TestMixtureSampler(SamplerConformance):
    @pytest.fixture
    def sampler(self) -> BaseSampler:
        return MixtureSampler()


class TestMixtureSamplerAllExploit(SamplerConformance):
    @pytest.fixture
    def sampler(self) -> BaseSampler:
        return MixtureSampler(explore=0.0, n_candidates=20, exploit_min_proba=0.6)


class TestMixtureSamplerAllExplore(SamplerConformance):
    @pytest.fixture
    def sampler(self) -> BaseSampler:
        return MixtureSampler(explore=1.0, n_candidates=7)


class NoPool(MixtureSampler):
    """Takes nothing from pools: a sampler decides what pools serve, not the cache."""

    def pool_rows(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return np.array([])  # empty, of any dtype: nothing from the pool


def _pool_share(sampler: BaseSampler) -> float:
    store = MemoryCache()
    generator = IdentityGenerator(latent_dim=6)
    pregenerate(generator, store, 500)
    engine = plgl.Engine(generator, sampler=sampler, cache=ContentCache(store), seed=0)
    latents = np.array([item.latent for item in engine.session("u").ask(10)])
    return float(np.mean([d in engine.cache.pool.rows for d in engine.cache.digests(latents)]))


def test_the_sampler_decides_what_pools_serve() -> None:
    assert _pool_share(MixtureSampler()) >= 0.5
    assert _pool_share(NoPool()) == 0.0


def test_pool_exploit_rows_meet_the_samplers_own_threshold() -> None:
    rng = np.random.default_rng(0)
    generator = IdentityGenerator(latent_dim=6)
    pool = generator.project(generator.sample(2000, rng))
    taste = rng.standard_normal(6)
    model = LinearPreference().fit(pool[:200], (pool[:200] @ taste > 0).astype(int))
    allowed = np.ones(len(pool), dtype=bool)
    for threshold in (0.6, 0.9):
        sampler = MixtureSampler(explore=0.0, exploit_min_proba=threshold, exploit_max_proba=0.95)
        rows = sampler.pool_rows(model, pool, allowed, 20, np.random.default_rng(1))
        proba = model.predict_proba(pool[rows])[:, 1]
        assert len(rows) == 20 and proba.min() >= threshold


class BadProposals(MixtureSampler):
    def propose(self, *args: Any) -> np.ndarray:
        return np.zeros((3, 2))


class ServesMarked(MixtureSampler):
    def pool_rows(
        self,
        model: Any,
        latents: np.ndarray,
        allowed: np.ndarray,
        n: int,
        *args: Any,
        **kwargs: Any,
    ) -> np.ndarray:
        return np.flatnonzero(~allowed)[:n]


def test_a_sampler_that_breaks_the_contract_is_refused_not_served() -> None:
    with pytest.raises(plgl.InvalidInputError, match=r"BadProposals\.propose returned shape"):
        _pool_share(BadProposals())
    with pytest.raises(plgl.InvalidInputError, match=r"ServesMarked\.pool_rows must return"):
        _ask_with_marked_pool_rows(ServesMarked())


def _ask_with_marked_pool_rows(sampler: BaseSampler) -> None:
    store = MemoryCache()
    generator = IdentityGenerator(latent_dim=6)
    pregenerate(generator, store, 500)
    cache = ContentCache(store)
    marked = plgl.Safety(negatives=cache.attach(generator).pool_latents()[:5], radius=1e-6)
    plgl.Engine(generator, sampler=sampler, cache=cache, safety=marked).session("u").ask(10)


def test_pool_judgement_matches_the_models_own_probability() -> None:
    from plgl.samplers.pool import _judge

    rng = np.random.default_rng(0)
    model = LinearPreference().start(5)
    for _ in range(20):
        z = rng.standard_normal(5)
        model.learn(z, float(z[0] > 0))
    latents = rng.standard_normal((7, 5))
    proba, information = _judge(model, latents)
    expected = model.predict_proba(latents)[:, 1]
    np.testing.assert_allclose(proba, expected)
    np.testing.assert_allclose(information, expected * (1 - expected) * model.uncertainty(latents))
