"""What goes into a population refresh (one user's fitted taste) and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from plgl.errors import InvalidInputError

PriorKind = Literal["low-rank", "diagonal", "none"]
"""Which prior a refresh produced: low-rank plus diagonal covariance, a diagonal in a fixed public
basis (too few users for the noise of a full covariance), or none (fewer than `min_users`)."""


@dataclass(frozen=True)
class UserTaste:
    """One user's fitted taste: the posterior over the taste weights of a linear model.

    Args:
        user_id: the user (kept only to exclude and to name matches; never released).
        mean: (d,) posterior mean of the weights.
        covariance: (d, d) posterior covariance, or (d,) its diagonal.
        matching: whether the user opted in to private matching.
    """

    user_id: str
    mean: np.ndarray
    covariance: np.ndarray
    matching: bool = False

    def check(self, d: int | None) -> int:
        """Validate the shapes (against `d` when known); returns the dimension."""
        mean = np.asarray(self.mean)
        if mean.ndim != 1 or mean.size == 0 or not np.all(np.isfinite(mean)):
            raise InvalidInputError(
                f"user {self.user_id!r}: mean must be a finite (d,) array, got shape {mean.shape}"
            )
        if d is not None and mean.size != d:
            raise InvalidInputError(
                f"user {self.user_id!r}: mean has dimension {mean.size}, the others {d}"
            )
        cov = np.asarray(self.covariance)
        n = mean.size
        if cov.shape not in ((n,), (n, n)) or not np.all(np.isfinite(cov)):
            raise InvalidInputError(
                f"user {self.user_id!r}: covariance must be finite with shape ({n},) or "
                f"({n}, {n}), got {cov.shape}"
            )
        return n


@dataclass(frozen=True)
class PopulationSummary:
    """What a refresh produced (JSON-native).

    Attributes:
        users: noisy number of users used (exact when epsilon is None).
        dimension: the taste dimension d.
        kind: the prior's kind (see `PriorKind`).
        rank: directions of the covariance above the noise (k of the low-rank part).
        clusters: number of taste clusters found.
        matching_users: users in the matching index.
        epsilon: (epsilon, delta)-DP of this refresh's aggregates; None: no noise was added.
        delta: the delta of `epsilon`.
        rho: zCDP rho of this refresh's aggregates (0 without noise).
        total_epsilon: epsilon of every refresh so far together (None without noise).
        total_rho: rho of every refresh so far together.
        match_epsilon: epsilon of each opted-in user's released match vector (per refresh).
        when: ISO 8601 UTC time of the refresh.
    """

    users: int
    dimension: int
    kind: PriorKind
    rank: int
    clusters: int
    matching_users: int
    epsilon: float | None
    delta: float
    rho: float
    total_epsilon: float | None
    total_rho: float
    match_epsilon: float | None
    when: str
    releases: tuple[tuple[str, int, float, float], ...] = field(default=())
    """(name, size, noise scale, rho) of every release of this refresh."""


@dataclass(frozen=True)
class Cluster:
    """A taste cluster: a DP-released centroid and noisy size.

    Attributes:
        id: 0, 1, ... by decreasing size.
        size: noisy number of members.
        direction: (d,) unit taste direction of the centroid (over latents).
    """

    id: int
    size: int
    direction: np.ndarray

    def exemplars(self, n: int, rng: np.random.Generator, spread: float = 0.3) -> np.ndarray:
        """(n, d) latents on the prior's shell |z| = sqrt(d) near the cluster's direction: what
        its members like most (render them with the generator)."""
        d = self.direction.size
        z = self.direction + spread * rng.standard_normal((n, d)) / np.sqrt(d)
        return np.asarray(np.sqrt(d) * z / np.linalg.norm(z, axis=1, keepdims=True))


@dataclass(frozen=True)
class Match:
    """Another opted-in user with a close taste: a pseudonymous handle and a similarity bucket."""

    handle: str
    similarity: Literal["very similar", "similar", "somewhat similar", "different"]
