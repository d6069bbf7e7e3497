"""The cache and sampler conformance suites fail implementations that break their contracts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from plgl.cache import MemoryCache
from plgl.generators import Generator, IdentityGenerator
from plgl.models import LinearPreference
from plgl.samplers import MixtureSampler
from plgl.testing import CacheConformance, SamplerConformance


class LosesIncrements(MemoryCache):
    """Read, pause, write: concurrent increments overwrite each other."""

    def increment(self, key: str, by: int = 1) -> int:
        value = int(self.get(key, b"0")) + by
        time.sleep(0.0005)  # lets another thread read the same old value
        self[key] = str(value).encode()
        return value


class ScanIgnoresPrefix(MemoryCache):
    def scan(self, prefix: str) -> Iterator[str]:
        return iter(list(self))


class RepeatsPicks(MixtureSampler):
    def select(
        self, model: Any, latents: np.ndarray, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        picks, sources = super().select(model, latents, n, rng)
        return np.full_like(picks, picks[0]), sources


class GlobalRandom(MixtureSampler):
    def propose(self, model: Any, generator: Generator, rng: np.random.Generator) -> np.ndarray:
        return generator.sample(self.n_candidates, np.random.default_rng())  # ignores rng


class NoExplore(MixtureSampler):
    def select(
        self, model: Any, latents: np.ndarray, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        picks, sources = super().select(model, latents, n, rng)
        return picks, ["exploit"] * len(sources)


class ServesDisallowed(MixtureSampler):
    def pool_rows(
        self, model: Any, latents: np.ndarray, allowed: np.ndarray, *args: Any, **kwargs: Any
    ) -> np.ndarray:
        return super().pool_rows(model, latents, np.ones_like(allowed), *args, **kwargs)


def test_cache_suite_catches_lost_increments_and_a_wrong_scan() -> None:
    suite = CacheConformance()
    suite.test_concurrent_increments_lose_nothing(MemoryCache())
    with pytest.raises(AssertionError):
        suite.test_concurrent_increments_lose_nothing(LosesIncrements())
    suite.test_counters_scan_and_delete_prefix(MemoryCache())
    with pytest.raises(AssertionError):
        suite.test_counters_scan_and_delete_prefix(ScanIgnoresPrefix())


def _case() -> tuple[LinearPreference, IdentityGenerator]:
    return LinearPreference().start(4), IdentityGenerator(latent_dim=4)


def test_sampler_suite_catches_repeats_global_randomness_and_no_exploring() -> None:
    suite = SamplerConformance()
    model, generator = _case()
    suite.test_select_returns_n_distinct_indices_in_range(MixtureSampler(), model, generator, 4)
    with pytest.raises(AssertionError):
        suite.test_select_returns_n_distinct_indices_in_range(RepeatsPicks(), model, generator, 4)
    suite.test_same_seed_same_batch(MixtureSampler(), model, generator)
    with pytest.raises(AssertionError):
        suite.test_same_seed_same_batch(GlobalRandom(), model, generator)
    suite.test_select_spends_the_explore_share(MixtureSampler(), model, generator)
    with pytest.raises(AssertionError):
        suite.test_select_spends_the_explore_share(NoExplore(), model, generator)


def test_sampler_suite_catches_pool_rows_that_are_not_allowed() -> None:
    suite = SamplerConformance()
    model, generator = _case()
    suite.test_pool_rows_are_allowed_distinct_and_first_rows_lead(
        MixtureSampler(), model, generator
    )
    with pytest.raises(AssertionError):
        suite.test_pool_rows_are_allowed_distinct_and_first_rows_lead(
            ServesDisallowed(), model, generator
        )
