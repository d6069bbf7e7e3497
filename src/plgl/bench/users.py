"""Simulated users: a noise-free utility over latents plus a noise model for their answers.

Like BoTorch's test functions, `utility` is the truth and the answers are noisy draws from it.
The utility is standardized under the prior (s = (u - mean) / std over prior samples clipped to the
ball |z| <= sqrt(d)); a user likes an item with probability sigmoid((s - threshold) / noise) and
prefers a over b with probability sigmoid((s_a - s_b) / noise).
`normalized(z)` is the benchmark's metric: 0 for a random prior sample, 1 for the best point of the
ball |z| <= sqrt(d).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


def clip_to_ball(latents: np.ndarray) -> np.ndarray:
    """(n, d) latents moved radially inside |z| <= sqrt(d)."""
    radius = np.sqrt(latents.shape[1])
    norms = np.linalg.norm(latents, axis=1, keepdims=True)
    return np.asarray(latents * np.minimum(1.0, radius / np.maximum(norms, 1e-12)))


class SimulatedUser(ABC):
    """A hidden taste over a latent space of dimension `d`.

    Args:
        d: latent dimension.
        seed: draws the hidden taste and the prior statistics.
        noise: temperature of the logistic answer noise (0.25 is the benchmark default).
        threshold: standardized utility at which a like is a coin flip (0.5: ~30% of random
            items are liked).
    """

    def __init__(self, d: int, seed: int, noise: float = 0.25, threshold: float = 0.5) -> None:
        self.d = d
        self.noise = noise
        self.threshold = threshold
        self._init_taste(np.random.default_rng(10_000 + seed))
        prior = clip_to_ball(np.random.default_rng(30_000 + seed).standard_normal((50_000, d)))
        values = self.utility(prior)
        self.prior_mean = float(values.mean())
        self.prior_std = float(values.std())

    @abstractmethod
    def _init_taste(self, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def utility(self, latents: np.ndarray) -> np.ndarray:
        """(n,) noise-free utility of latents (n, d) (already inside the ball)."""

    @property
    @abstractmethod
    def best_utility(self) -> float:
        """The largest utility inside the ball |z| <= sqrt(d)."""

    def standardized(self, latents: np.ndarray) -> np.ndarray:
        return (self.utility(clip_to_ball(latents)) - self.prior_mean) / self.prior_std

    def like_probability(self, latents: np.ndarray) -> np.ndarray:
        """(n,) probability that each latent (n, d) gets a like."""
        z = (self.standardized(latents) - self.threshold) / self.noise
        return np.asarray(0.5 * (1 + np.tanh(0.5 * z)))

    def likes(self, latents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) bool noisy like/dislike answers."""
        return np.asarray(rng.random(len(latents)) < self.like_probability(latents))

    def prefers(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) bool: whether each row of a (n, d) is preferred over the row of b."""
        gap = (self.standardized(a) - self.standardized(b)) / self.noise
        return np.asarray(rng.random(len(a)) < 0.5 * (1 + np.tanh(0.5 * gap)))

    def normalized(self, latents: np.ndarray) -> np.ndarray:
        """(n,) normalized utility: 0 = a random prior sample, 1 = the best point of the ball."""
        u = self.utility(clip_to_ball(latents))
        return np.asarray((u - self.prior_mean) / (self.best_utility - self.prior_mean))


class LinearUser(SimulatedUser):
    """Likes one direction: u = <w, z> / |w|."""

    def _init_taste(self, rng: np.random.Generator) -> None:
        w = rng.standard_normal(self.d)
        self.direction = w / np.linalg.norm(w)

    def utility(self, latents: np.ndarray) -> np.ndarray:
        return np.asarray(latents @ self.direction)

    @property
    def best_utility(self) -> float:
        return float(np.sqrt(self.d))


class IdealPointUser(SimulatedUser):
    """Likes what is near one ideal latent on the shell: u = exp(-|z - z*|^2 / d)."""

    n_ideals = 1

    def _init_taste(self, rng: np.random.Generator) -> None:
        ideals = rng.standard_normal((self.n_ideals, self.d))
        self.ideals = ideals * (np.sqrt(self.d) / np.linalg.norm(ideals, axis=1, keepdims=True))

    def utility(self, latents: np.ndarray) -> np.ndarray:
        sq = ((latents[:, None, :] - self.ideals[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(np.exp(-sq / self.d).max(axis=1))

    @property
    def best_utility(self) -> float:
        return 1.0


class MultiIdealUser(IdealPointUser):
    """Two unrelated ideals (a multimodal taste): u = max of two bumps."""

    n_ideals = 2


class DriftingUser(SimulatedUser):
    """A linear taste that turns to a new, unrelated direction after `switch_after` answers."""

    def __init__(self, d: int, seed: int, switch_after: int = 80, **kwargs: float) -> None:
        self.switch_after = switch_after
        self.answers = 0
        super().__init__(d, seed, **kwargs)

    def _init_taste(self, rng: np.random.Generator) -> None:
        w = rng.standard_normal((2, self.d))
        w[1] -= (w[1] @ w[0]) / (w[0] @ w[0]) * w[0]  # the new taste shares nothing with the old
        self.directions = w / np.linalg.norm(w, axis=1, keepdims=True)

    @property
    def direction(self) -> np.ndarray:
        return np.asarray(self.directions[int(self.answers >= self.switch_after)])

    def utility(self, latents: np.ndarray) -> np.ndarray:
        return np.asarray(latents @ self.direction)

    def likes(self, latents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        answers = np.empty(len(latents), dtype=bool)
        for i, latent in enumerate(latents):  # the switch may fall inside a batch
            answers[i] = super().likes(latent[None, :], rng)[0]
            self.answers += 1
        return answers

    @property
    def best_utility(self) -> float:
        return float(np.sqrt(self.d))
