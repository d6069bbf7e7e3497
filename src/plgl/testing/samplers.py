"""The sampler contract, as tests every sampler must pass (see `plgl.samplers.BaseSampler`).

Each test runs on three models: one that has learned nothing yet (no direction: every latent
scores the same), a linear one and a kernel one, trained on a hidden linear taste.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from plgl.cache import ContentCache, MemoryCache, pregenerate
from plgl.generators import Generator, IdentityGenerator
from plgl.models import KernelPreference, LinearPreference
from plgl.records import Item
from plgl.safety import Safety
from plgl.samplers import BaseSampler, next_candidates

_D = 5


def _trained(model: Any, generator: Generator) -> Any:
    rng = np.random.default_rng(7)
    latents = generator.project(generator.sample(60, rng))
    taste = rng.standard_normal(generator.latent_dim)
    return model.fit(latents, (latents @ taste > 0).astype(int))


class SamplerConformance:
    """Subclass and override the `sampler` fixture."""

    @pytest.fixture
    def sampler(self) -> BaseSampler:
        raise NotImplementedError("override the sampler fixture")

    @pytest.fixture
    def generator(self) -> Generator:
        return IdentityGenerator(latent_dim=_D)

    @pytest.fixture(params=["untrained", "linear", "kernel"])
    def model(self, request: pytest.FixtureRequest, generator: Generator) -> Any:
        if request.param == "untrained":
            return LinearPreference().start(generator.latent_dim)
        if request.param == "linear":
            return _trained(LinearPreference(), generator)
        return _trained(KernelPreference(), generator)

    def test_declares_its_shares(self, sampler: BaseSampler) -> None:
        assert 0.0 <= sampler.explore <= 1.0
        assert 0.5 <= sampler.exploit_min_proba < 1.0
        assert not sampler.is_stale(0, 10)  # candidates made just now are fresh

    def test_proposals_are_finite_latents(
        self, sampler: BaseSampler, model: Any, generator: Generator
    ) -> None:
        latents = sampler.propose(model, generator, np.random.default_rng(0))
        assert latents.ndim == 2 and latents.shape[1] == generator.latent_dim
        assert len(latents) >= 1 and np.all(np.isfinite(latents))

    def test_same_seed_same_batch(
        self, sampler: BaseSampler, model: Any, generator: Generator
    ) -> None:
        runs = []
        for _ in range(2):
            rng = np.random.default_rng(3)
            latents = sampler.propose(model, generator, rng)
            picks, sources = sampler.select(model, latents, 4, rng)
            runs.append((latents, picks, sources))
        np.testing.assert_array_equal(runs[0][0], runs[1][0])
        np.testing.assert_array_equal(runs[0][1], runs[1][1])
        assert runs[0][2] == runs[1][2]

    @pytest.mark.parametrize("n", [1, 4, 10, 1000])
    def test_select_returns_n_distinct_indices_in_range(
        self, sampler: BaseSampler, model: Any, generator: Generator, n: int
    ) -> None:
        rng = np.random.default_rng(1)
        latents = sampler.propose(model, generator, rng)
        picks, sources = sampler.select(model, latents, n, rng)
        assert np.issubdtype(np.asarray(picks).dtype, np.integer)
        assert len(picks) == min(n, len(latents)) == len(set(picks.tolist()))
        assert all(0 <= i < len(latents) for i in picks)
        assert len(sources) == len(picks) and set(sources) <= {"exploit", "explore"}

    def test_select_spends_the_explore_share(
        self, sampler: BaseSampler, model: Any, generator: Generator
    ) -> None:
        rng = np.random.default_rng(2)
        latents = sampler.propose(model, generator, rng)
        n = min(10, len(latents))
        _, sources = sampler.select(model, latents, n, rng)
        assert sources.count("explore") == min(n, round(sampler.explore * n))

    def test_pool_rows_are_allowed_distinct_and_first_rows_lead(
        self, sampler: BaseSampler, model: Any, generator: Generator
    ) -> None:
        rng = np.random.default_rng(4)
        pool = generator.project(generator.sample(400, rng))
        allowed = rng.random(400) < 0.5
        first = np.array([np.flatnonzero(~allowed)[0], *np.flatnonzero(allowed)[:2]])
        rows = sampler.pool_rows(model, pool, allowed, 10, rng, first=first)
        assert np.issubdtype(rows.dtype, np.integer) and len(rows) == 10
        assert len(set(rows.tolist())) == 10 and allowed[rows].all()
        leading = first[1:][: 10 - round(sampler.explore * 10)]  # they count as exploit rows
        assert rows[: len(leading)].tolist() == leading.tolist()  # the one not allowed is skipped
        none = sampler.pool_rows(model, pool, np.zeros(400, dtype=bool), 10, rng)
        assert len(none) == 0

    def test_next_candidates_mix_pool_rows_and_proposals(
        self, sampler: BaseSampler, model: Any, generator: Generator
    ) -> None:
        store = MemoryCache()
        pregenerate(generator, store, 300)
        cache = ContentCache(store, fresh_start=0.5).attach(generator)
        pool = cache.pool_latents()
        served = [Item(str(i), pool[i], None) for i in range(50)]
        safety = Safety(negatives=pool[50:60], radius=1e-6)
        proposals = sampler.propose(model, generator, np.random.default_rng(5))
        latents = next_candidates(
            sampler,
            model,
            generator,
            cache,
            "u",
            np.random.default_rng(5),
            safety=safety,
            served=lambda: served,
            confidence=0.0,
        )
        m = len(proposals)
        assert latents.shape == (m, generator.latent_dim)
        rows = _rows_of(latents, pool)
        from_pool = rows[rows >= 0]
        assert len(from_pool) == m - round(0.5 * m)
        assert from_pool.min() >= 60 and len(set(from_pool.tolist())) == len(from_pool)
        fresh = latents[rows < 0]
        assert all((np.abs(proposals - row).max(axis=1) == 0).any() for row in fresh)


def _rows_of(latents: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """(m,) the pool row equal to each latent, -1 where none is."""
    equal = (latents[:, None, :] == pool[None, :, :]).all(axis=2)
    return np.where(equal.any(axis=1), equal.argmax(axis=1), -1)
