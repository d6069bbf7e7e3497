"""The generator plug point: anything that turns latents into content."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


class Generator(ABC):
    """A generative model with a standard Gaussian prior over its latent space.

    Subclasses set `name`, `latent_dim` and `modality` and implement `generate`. The prior is
    N(0, I): its samples concentrate on the shell |z| = sqrt(latent_dim), the region the model
    renders well, and navigation keeps every latent it proposes there (`project`).
    """

    name: str
    latent_dim: int
    modality: str  # "image" | "audio" | "molecule" | "vector"

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, latent_dim) float64 draws from the prior."""
        return np.asarray(rng.standard_normal((n, self.latent_dim)))

    @abstractmethod
    def generate(self, latents: np.ndarray) -> list[Any]:
        """Content for each row of `latents` (n, latent_dim), in one batched call."""

    def project(self, latents: np.ndarray) -> np.ndarray:
        """(n, latent_dim) latents moved radially onto the typical shell |z| = sqrt(latent_dim)."""
        norms = np.linalg.norm(latents, axis=1, keepdims=True)
        return np.asarray(latents * (np.sqrt(self.latent_dim) / np.maximum(norms, 1e-12)))

    def describe(self, direction: np.ndarray) -> list[tuple[str, float]]:
        """Name the traits a latent direction (latent_dim,) moves, strongest first.

        The default names latent coordinates; domains override it with their own words.
        """
        order = np.argsort(-np.abs(direction))
        return [(f"latent[{i}]", float(direction[i])) for i in order]
