"""How an opted-in user's match report is released, once per refresh, and what it can achieve.

Each opted-in user's report is a local DP release of their own data only (parallel composition:
it costs `match_epsilon` to that user and nothing to anyone else). Two mechanisms:

- `ClusterResponse` (the default): the user's taste cluster among the K clusters the refresh
  released (nearest released centroid to the projected direction, as `Population.assign`),
  released by K-ary randomized response (Warner 1965; optimal for K-ary data, Kairouz, Oh &
  Viswanath 2016): the true cluster with probability e^eps / (e^eps + K - 1), each other one
  with probability 1 / (e^eps + K - 1). Pure epsilon-DP.
- `GaussianVectors`: the projected direction itself with Gaussian noise calibrated to
  sensitivity 2 (any two unit vectors), (epsilon, delta)-DP. Finer-grained at a large epsilon,
  at chance at epsilon = 1 (noise of standard deviation 9 per coordinate on a unit vector).

Both return, by post-processing of the noisy report and released values only, an (n, r)
vector per user in the released subspace: its inner product with an asker's projected
direction is the asker's expected similarity to that user (for a cluster report: the posterior
mean of the user's centroid direction given the report, with the released cluster sizes as the
prior), which `MatchIndex` ranks by.

`own_cluster_bound` is the most any mechanism can achieve (docs/privacy.md derives it).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from functools import cache

import numpy as np

from plgl.population.clusters import assign
from plgl.population.privacy import gaussian_release, require_opendp, rho_for

SENSITIVITY = 2.0  # L2 distance between any two unit vectors

Charge = tuple[float, float]
"""(epsilon, delta) of one refresh's match release, per opted-in user."""


class MatchRelease(ABC):
    """Releases opted-in users' match reports (one refresh); the strategy `Population` uses."""

    name: str

    def release(
        self,
        y: np.ndarray,
        centers: np.ndarray,
        sizes: np.ndarray,
        epsilon: float | None,
        delta: float,
    ) -> tuple[np.ndarray, Charge | None]:
        """Release every opted-in user's report.

        Args:
            y: (n, r) their taste directions projected on the released subspace (|y| <= 1).
            centers: (K, r) the released cluster directions in the subspace (public).
            sizes: (K,) the released noisy cluster sizes (public).
            epsilon: the epsilon of each user's report; None: released without noise.
            delta: the delta a mechanism with a delta uses.

        Returns:
            (n, r) released vectors, and the (epsilon, delta) charged (None without noise).
        """
        if len(y) == 0:
            return np.zeros((0, centers.shape[1])), None
        return self._release(np.asarray(y, dtype=float), centers, sizes, epsilon, delta)

    @abstractmethod
    def _release(
        self,
        y: np.ndarray,
        centers: np.ndarray,
        sizes: np.ndarray,
        epsilon: float | None,
        delta: float,
    ) -> tuple[np.ndarray, Charge | None]: ...


class ClusterResponse(MatchRelease):
    """K-ary randomized response over the released clusters (OpenDP), pure epsilon-DP."""

    name = "cluster response"

    def _release(
        self,
        y: np.ndarray,
        centers: np.ndarray,
        sizes: np.ndarray,
        epsilon: float | None,
        delta: float,
    ) -> tuple[np.ndarray, Charge | None]:
        k = len(centers)
        labels = assign(y, centers)
        if epsilon is None or k == 1:  # one cluster: the report is a constant, nothing released
            return centers[labels], None
        prob, charged = truthful_probability(k, epsilon)
        dp = require_opendp()
        respond = dp.m.make_randomized_response(list(range(k)), prob, T=int)
        reports = np.array([respond(int(label)) for label in labels])
        return posterior(prob, np.maximum(sizes, 1.0))[reports] @ centers, charged

    def __repr__(self) -> str:
        return "ClusterResponse()"


class GaussianVectors(MatchRelease):
    """The projected direction plus Gaussian noise (OpenDP), (epsilon, delta)-DP."""

    name = "gaussian vectors"

    def _release(
        self,
        y: np.ndarray,
        centers: np.ndarray,
        sizes: np.ndarray,
        epsilon: float | None,
        delta: float,
    ) -> tuple[np.ndarray, Charge | None]:
        if epsilon is None:
            return y, None
        # Each user's row is their own: parallel composition, one rho per user.
        flat, _, _ = gaussian_release(y.ravel(), rho_for(epsilon, delta), SENSITIVITY)
        return flat.reshape(y.shape), (epsilon, delta)

    def __repr__(self) -> str:
        return "GaussianVectors()"


@cache
def truthful_probability(k: int, epsilon: float) -> tuple[float, Charge]:
    """The largest probability of answering the true one of `k` categories that OpenDP's
    randomized response charges at most `epsilon` for, and the (epsilon, 0) it charges.

    >>> prob, charged = truthful_probability(4, 1.0)
    >>> round(prob, 4), charged[0] <= 1.0
    (0.4754, True)
    """
    dp = require_opendp()
    categories = list(range(k))

    def cost(prob: float) -> float:
        return float(dp.m.make_randomized_response(categories, prob, T=int).map(1))

    prob = float(dp.binary_search(lambda p: cost(p) <= epsilon, bounds=(1.0 / k, 1.0)))
    return prob, (cost(prob), 0.0)


def posterior(prob: float, sizes: np.ndarray) -> np.ndarray:
    """(K, K) P(true cluster = column | report = row) of K-ary randomized response that tells
    the truth with probability `prob`, with prior proportional to `sizes` (K,).

    >>> posterior(0.5, np.array([1.0, 1.0, 1.0])).round(2).tolist()[0]
    [0.5, 0.25, 0.25]
    """
    k = len(sizes)
    other = (1.0 - prob) / (k - 1)
    likelihood = np.full((k, k), other) + (prob - other) * np.eye(k)
    joint = likelihood * (sizes / sizes.sum())[None, :]
    return np.asarray(joint / joint.sum(axis=1, keepdims=True))


def own_cluster_bound(
    epsilon: float, clusters: int, delta: float = 0.0, candidates: int = 0, listed: int = 5
) -> float:
    """The largest expected share of a `listed`-long answer from the asker's own cluster that
    any matching can reach when whether a user is listed is (epsilon, delta)-DP in that user's
    data, with `clusters` equally likely clusters per user and `candidates` users to list from
    (docs/privacy.md, "How good matching can be").

    >>> round(own_cluster_bound(1.0, 4), 3), round(own_cluster_bound(1.0, 2), 3)
    (0.475, 0.731)
    """
    e, k = math.exp(epsilon), clusters
    return min(1.0, (e + candidates * (k - 1) * delta / (listed * k)) / (e + k - 1))
