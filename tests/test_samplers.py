"""Every shipped sampler passes the sampler conformance suite."""

from __future__ import annotations

import pytest

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
