"""Simulated users with several tastes: one hidden direction per criterion, or per context.

Each taste is a `LinearUser` (standardized linear utility, logistic answer noise, see
`plgl.bench.users`) with a chosen direction, so that how much two tastes share is set exactly:
`directions(d, cosines, rng)` draws unit directions whose pairwise cosines with the first one
are given (-0.5: energy and calm pull against each other; 0.8: two contexts that share most of
their taste).

>>> rng = np.random.default_rng(0)
>>> u = directions(16, [0.8], rng)
>>> round(float(u[0] @ u[1]), 6)
0.8
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from plgl.bench.users import LinearUser, clip_to_ball


def directions(d: int, cosines: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """(1 + len(cosines), d) unit rows; row i + 1 has cosine `cosines[i]` with row 0 and a
    random part orthogonal to it."""
    first = rng.standard_normal(d)
    first /= np.linalg.norm(first)
    rows = [first]
    for cosine in cosines:
        other = rng.standard_normal(d)
        other -= (other @ first) * first
        other /= np.linalg.norm(other)
        rows.append(cosine * first + np.sqrt(1.0 - cosine**2) * other)
    return np.array(rows)


class DirectedUser(LinearUser):
    """A LinearUser whose hidden direction is given (d,) instead of drawn."""

    def __init__(self, direction: np.ndarray, seed: int, **kwargs: float) -> None:
        self._given = np.asarray(direction, dtype=np.float64)
        super().__init__(len(self._given), seed, **kwargs)

    def _init_taste(self, rng: np.random.Generator) -> None:
        self.direction = self._given / np.linalg.norm(self._given)


class MultiTasteUser:
    """Several named tastes of one person (criteria or contexts), each a `DirectedUser`.

    Args:
        tastes: name -> direction (d,).
        seed: the prior statistics of each taste.
        noise, threshold: as in `plgl.bench.users.SimulatedUser`.
    """

    def __init__(
        self,
        tastes: Mapping[str, np.ndarray],
        seed: int,
        noise: float = 0.25,
        threshold: float = 0.5,
    ) -> None:
        self.tastes = {
            name: DirectedUser(direction, seed, noise=noise, threshold=threshold)
            for name, direction in tastes.items()
        }
        self.d = len(next(iter(tastes.values())))

    def probability(self, name: str, latents: np.ndarray) -> np.ndarray:
        """(n,) true probability that `name` gets a like for latents (n, d)."""
        return self.tastes[name].like_probability(latents)

    def likes(self, name: str, latents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(n,) bool noisy answers on `name`."""
        return self.tastes[name].likes(latents, rng)

    def normalized(self, name: str, latents: np.ndarray) -> np.ndarray:
        """(n,) normalized utility of `name`: 0 = a random prior sample, 1 = the best."""
        return self.tastes[name].normalized(latents)

    def best_feasible(
        self,
        maximize: str,
        at_least: Mapping[str, float],
        rng: np.random.Generator,
        samples: int = 200_000,
    ) -> float:
        """The highest true probability of `maximize` among `samples` prior samples on the
        shell |z| = sqrt(d) whose true probabilities meet `at_least` (brute force); NaN if
        none does."""
        z = rng.standard_normal((samples, self.d))
        z *= np.sqrt(self.d) / np.linalg.norm(z, axis=1, keepdims=True)
        z = clip_to_ball(z)
        ok = np.ones(samples, dtype=bool)
        for name, low in at_least.items():
            ok &= self.probability(name, z) >= low
        if not ok.any():
            return float("nan")
        return float(self.probability(maximize, z[ok]).max())

    def true_front(
        self, first: str, second: str, rng: np.random.Generator, samples: int = 200_000
    ) -> tuple[np.ndarray, np.ndarray]:
        """Brute-force Pareto front of true probabilities over shell samples: (second's grid
        (m,), best first at each) for second's probability at least each grid value."""
        z = rng.standard_normal((samples, self.d))
        z *= np.sqrt(self.d) / np.linalg.norm(z, axis=1, keepdims=True)
        p1, p2 = self.probability(first, z), self.probability(second, z)
        grid = np.linspace(0.05, 0.95, 19)
        best = np.array([p1[p2 >= g].max() if (p2 >= g).any() else np.nan for g in grid])
        return grid, best
