"""Simulated populations of linear users whose tastes concentrate near a few directions.

A population draws k-dimensional shared subspace U (d, k) at random, `clusters` unit centres in
it, and each user's taste direction as a centre plus a spread inside the subspace plus a little
isotropic noise outside it, normalised. Every user is a linear user (`users.LinearUser`'s
utility <w, z> with |w| = 1): the benchmark's answers, threshold and noise apply unchanged.

Earlier users' posteriors use a documented shortcut instead of the whole swipe loop: the exact
Laplace posterior of `LinearPreference` fitted to `n_ratings` like/dislike answers on random prior
latents (what a user's model holds after that many passive ratings; an active loop would make it
tighter, so the shortcut is the harder case for the population prior).

>>> pop = SimulatedPopulation(PopulationSpec("demo", d=8, subspace=2, clusters=2), seed=0)
>>> directions, labels = pop.draw(5, np.random.default_rng(0))
>>> directions.shape, bool(np.allclose(np.linalg.norm(directions, axis=1), 1.0))
((5, 8), True)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

from plgl.bench.users import LinearUser, clip_to_ball
from plgl.models.linear import LinearPreference
from plgl.population import UserTaste


@dataclass(frozen=True)
class PopulationSpec:
    """A kind of population.

    Args:
        name: label in the report.
        d: latent dimension.
        subspace: dimension k of the shared taste subspace (k = d: tastes spread everywhere).
        clusters: number of taste clusters (centres in the subspace).
        spread: typical norm of a user's offset from their centre (norm 1), inside the subspace.
        off: norm of the isotropic part outside the subspace (relative to the centre's 1).
    """

    name: str
    d: int
    subspace: int
    clusters: int = 1
    spread: float = 0.5
    off: float = 0.1


class SimulatedPopulation:
    """Users drawn from a `PopulationSpec`; `seed` fixes the subspace and the centres."""

    def __init__(self, spec: PopulationSpec, seed: int) -> None:
        rng = np.random.default_rng(50_000 + seed)
        self.spec = spec
        self.basis, _ = np.linalg.qr(rng.standard_normal((spec.d, spec.subspace)))
        centres = rng.standard_normal((spec.clusters, spec.subspace))
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n users: unit taste directions (n, d) and cluster labels (n,)."""
        spec = self.spec
        labels = rng.integers(spec.clusters, size=n)
        offsets = rng.standard_normal((n, spec.subspace)) / np.sqrt(spec.subspace)
        inside = self.centres[labels] + spec.spread * offsets
        outside = spec.off * rng.standard_normal((n, spec.d)) / np.sqrt(spec.d)
        w = inside @ self.basis.T + outside
        return w / np.linalg.norm(w, axis=1, keepdims=True), labels


class DirectedUser(LinearUser):
    """A linear user whose taste direction is given (d,) instead of drawn."""

    def __init__(self, direction: np.ndarray, seed: int, noise: float = 0.25) -> None:
        self._given = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        super().__init__(len(direction), seed, noise=noise)

    def _init_taste(self, rng: np.random.Generator) -> None:
        self.direction = self._given


@cache
def _standardization(d: int) -> tuple[float, float]:
    """(mean, std) of a linear user's utility under the clipped prior (the same for every
    direction, by rotation symmetry)."""
    user = LinearUser(d, seed=0)
    return user.prior_mean, user.prior_std


def laplace_posterior(
    user_id: str,
    direction: np.ndarray,
    n_ratings: int,
    rng: np.random.Generator,
    noise: float = 0.25,
    threshold: float = 0.5,
    matching: bool = False,
) -> UserTaste:
    """The posterior a `LinearPreference` holds after `n_ratings` answers of the linear user with
    taste `direction` (d,) on random prior latents (the shortcut of the module docstring)."""
    d = len(direction)
    mean, std = _standardization(d)
    z = clip_to_ball(rng.standard_normal((n_ratings, d)))
    s = (z @ direction - mean) / std
    liked = rng.random(n_ratings) < 0.5 * (1.0 + np.tanh(0.5 * (s - threshold) / noise))
    if liked.all() or not liked.any():  # one class only: flip the least sure answer
        liked[int(np.argmin(np.abs(s - threshold)))] ^= True
    model = LinearPreference().fit(z, liked.astype(int))
    return UserTaste(user_id, model.coef_, model.covariance_[:-1, :-1], matching)


@cache
def earlier_users(
    spec: PopulationSpec, n: int, n_ratings: int, seed: int
) -> tuple[tuple[UserTaste, ...], np.ndarray]:
    """The population's `n` earlier users (all opted in to matching) and their cluster labels."""
    rng = np.random.default_rng(60_000 + seed)
    directions, labels = SimulatedPopulation(spec, seed).draw(n, rng)
    tastes = tuple(
        laplace_posterior(f"user-{i}", w, n_ratings, rng, matching=True)
        for i, w in enumerate(directions)
    )
    return tastes, labels


def new_user_direction(spec: PopulationSpec, population_seed: int, user: int) -> np.ndarray:
    """(d,) taste direction of held-back new user `user` of the population (never an earlier
    user: its own random stream)."""
    pop = SimulatedPopulation(spec, population_seed)
    directions, _ = pop.draw(1, np.random.default_rng(70_000 + user))
    return np.asarray(directions[0])


def synthetic_stream(n: int, d: int, seed: int) -> Iterator[UserTaste]:
    """`n` users with random taste means and full (d, d) posterior covariances, generated as they
    are read (the scale benchmark's stand-in for paging through storage): bounded memory."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((8, d, d)) / d
    covariances = [0.05 * np.eye(d) + f @ f.T for f in factors]
    for i in range(n):
        yield UserTaste(f"user-{i}", 3.0 * rng.standard_normal(d) / np.sqrt(d), covariances[i % 8])
