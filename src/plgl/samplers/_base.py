"""The sampler plug point: which latents to show next."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from plgl.generators import Generator


class BaseSampler(ABC):
    """Proposes a batch of candidate latents, then picks the ones to show.

    `propose` only computes latents (cheap); the session renders all of them in one generator
    call, filters them for safety, and asks `select` for the n to show.
    """

    @abstractmethod
    def propose(self, model: Any, generator: Generator, rng: np.random.Generator) -> np.ndarray:
        """(m, latent_dim) candidate latents for the current model."""

    @abstractmethod
    def select(
        self, model: Any, latents: np.ndarray, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        """Indices of the n candidates (m, d) to show, in showing order, and why each is shown."""

    def is_stale(self, ratings_since: int, ratings_total: int) -> bool:
        """Whether candidates made `ratings_since` ratings ago should be proposed afresh."""
        return ratings_since > 0
