"""Simulated users whose taste is about the content, not the latent: a face's brightness and
warmth, a melody's register, a molecule's drug-likeness.

A `ContentUser`'s utility is a weighted sum of the generator's content features, each
standardized over prior samples: u(z) = sum_j w_j (f_j(G(z)) - mean_j) / std_j, minus a penalty
for content beyond the range the generator makes for prior samples (the user likes bright faces,
not the washed-out ghosts a GAN paints far off its data; see `FeatureRange`). It answers with
the noise model of `plgl.bench.users` (a like with probability sigmoid((s - threshold) / noise),
s the utility standardized under the prior). `normalized(z)` is 0 for a random prior sample and 1
for the best latent a strong optimizer finds on the prior's shell: the best of the prior samples,
climbed by gradient through the generator where it is differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from plgl.bench.users import SimulatedUser, clip_to_ball
from plgl.errors import InvalidInputError
from plgl.generators import Generator, has_torch_features
from plgl.models.features import FeatureRange
from plgl.navigation import reverse_gradient

PRESETS: dict[str, dict[str, float]] = {
    # bright, warm-toned faces
    "faces": {"brightness": 1.0, "warmth": 1.0},
    # stepwise melodies in a high register
    "melodies": {"register": 1.0, "stepwise": 1.0},
    # drug-like, easy to make: high QED, low synthetic-accessibility score
    "molecules": {"qed": 1.0, "sa_score": -1.0},
}
"""The content taste of each domain's simulated user: feature name -> weight."""


class ContentUser(SimulatedUser):
    """A simulated user who likes content by its measurable features.

    Args:
        generator: makes the content; must expose `feature_names` and `features`.
        weights: feature name -> weight of its standardized value in the utility.
        seed: draws the prior sample that standardizes the features and the utility.
        noise, threshold: the answer model of `SimulatedUser`.
        n_prior: prior samples behind the standardization and the best-of-prior optimum.
        climb_starts, climb_steps: gradient ascent through the generator from the best prior
            samples, for the optimum (only where the generator has `torch_features`).
        realism: utility lost per squared unit of Mahalanobis distance by which the content's
            features leave the range of the prior sample's (see `FeatureRange`).

    >>> from plgl.generators import get
    >>> user = ContentUser(get("faces"), PRESETS["faces"], n_prior=64, climb_steps=5)
    >>> bool(user.normalized(user.generator.sample(3, np.random.default_rng(1))).max() < 1)
    True
    """

    def __init__(
        self,
        generator: Generator,
        weights: Mapping[str, float],
        seed: int = 0,
        noise: float = 0.25,
        threshold: float = 0.5,
        n_prior: int = 1000,
        climb_starts: int = 8,
        climb_steps: int = 100,
        realism: float = 1.0,
    ) -> None:
        # The base class measures its prior on 50,000 samples, too many to decode: it is
        # initialized here instead, on n_prior samples.
        names = tuple(getattr(generator, "feature_names", ()))
        unknown = sorted(set(weights) - set(names))
        if not names or unknown or not weights:
            raise InvalidInputError(
                f"weights must name features of {generator.name} ({', '.join(names) or 'none'}), "
                f"got {sorted(weights)}"
            )
        if not math.isfinite(noise) or noise < 0 or not math.isfinite(threshold):
            raise InvalidInputError("noise must be finite and >= 0, threshold finite")
        if n_prior < 2:
            raise InvalidInputError(f"n_prior must be >= 2, got {n_prior}")
        self.generator = generator
        self.d = generator.latent_dim
        self.noise = noise
        self.threshold = threshold
        self.weights = np.array([float(weights.get(name, 0.0)) for name in names])
        self.n_prior = n_prior
        self.climb_starts = climb_starts
        self.climb_steps = climb_steps
        self.realism = realism
        self._init_taste(np.random.default_rng(30_000 + seed))

    def _init_taste(self, rng: np.random.Generator) -> None:
        """Measure the prior: feature and utility statistics, and the best latent found."""
        prior = clip_to_ball(rng.standard_normal((self.n_prior, self.d)))
        features = self._raw(prior)
        self.range = FeatureRange(features)
        values = self._combine(features)
        self.prior_mean = float(values.mean())
        self.prior_std = float(values.std())
        self._best = float(values.max())
        if has_torch_features(self.generator) and self.climb_starts > 0:
            starts = self.generator.project(prior[np.argsort(-values)[: self.climb_starts]])
            climbed = reverse_gradient(
                _Utility(self), None, starts, math.sqrt(self.d), steps=self.climb_steps
            )
            self._best = max(self._best, float(self.utility(climbed).max()))

    def utility(self, latents: np.ndarray) -> np.ndarray:
        """(n,) weighted standardized features of the content made from latents (n, d)."""
        return self._combine(self._raw(latents))

    @property
    def best_utility(self) -> float:
        return self._best

    def torch_utility(self, latents: torch.Tensor) -> torch.Tensor:
        """(n,) `utility`, differentiable through the generator."""
        mean = torch.as_tensor(self.range.mean, dtype=latents.dtype)
        scale = torch.as_tensor(self.range.scale, dtype=latents.dtype)
        weights = torch.as_tensor(self.weights, dtype=latents.dtype)
        scaled = (self.generator.torch_features(latents) - mean) / scale
        return scaled @ weights - self.realism * self.range.torch_excess(scaled) ** 2

    def _raw(self, latents: np.ndarray) -> np.ndarray:
        return np.asarray(self.generator.features(self.generator.generate(latents)), dtype=float)

    def _combine(self, features: np.ndarray) -> np.ndarray:
        scaled = self.range.standardize(features)
        penalty = self.range.excess(scaled) ** 2
        return np.asarray(scaled @ self.weights - self.realism * penalty)


class _Utility:
    """The user's utility as a score to climb with `reverse_gradient`."""

    def __init__(self, user: ContentUser) -> None:
        self.torch_decision = user.torch_utility


def content_user(
    domain: str,
    generator: Generator,
    *,
    seed: int = 0,
    n_prior: int | None = None,
    climb_steps: int = 100,
) -> ContentUser:
    """The preset simulated user of `domain` (see PRESETS) on `generator`.

    `n_prior` None: 1,000 prior samples where the optimum is also climbed by gradient, else
    4,000 (then the best of them is the optimum).
    """
    if domain not in PRESETS:
        raise InvalidInputError(
            f"no content user for {domain!r}: expected one of {sorted(PRESETS)}"
        )
    if n_prior is None:
        n_prior = 1000 if has_torch_features(generator) else 4000
    return ContentUser(
        generator, PRESETS[domain], seed=seed, n_prior=n_prior, climb_steps=climb_steps
    )
