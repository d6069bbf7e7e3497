"""`Refreshing`: a population's refresh, fitting everything again from users' tastes.

A method group of `plgl.population.population.Population` (which inherits it): sum the users in
chunks, release the count and norm, then the prior's shape (each under its share of the refresh's
rho), fit the prior, then read the users again to cluster them (DP Lloyd steps) and release the
opted-in users' match vectors. It declares the population state it keeps; `Population.__init__`
sets it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from plgl.errors import InvalidInputError
from plgl.population.clusters import (
    FREE_STARTS,
    FREE_STEPS,
    STEPS,
    dp_kmeans,
    initial_centers,
)
from plgl.population.fit import Fitted, fit_prior, spectral_noise, users_and_norm
from plgl.population.match_release import Charge, MatchRelease
from plgl.population.matching import MatchIndex
from plgl.population.privacy import Accountant, Release, epsilon_of, gaussian_release, rho_for
from plgl.population.records import Cluster, PopulationSummary, UserTaste
from plgl.population.stats import Sums, chunks, stack

Tastes = Callable[[], Iterable[UserTaste]] | Sequence[UserTaste]
"""Users' fitted tastes: a sequence, or a function returning a fresh stream (read twice)."""

# Shares of one refresh's rho: the count and norm, the prior's shape, the clusters' Lloyd steps.
SHARES = {"count": 0.04, "shape": 0.81, "clusters": 0.15}


class Refreshing:
    """Release the users' aggregates and fit the prior, clusters and match index from them."""

    epsilon: float | None
    delta: float
    min_users: int
    norm_bound: float
    isotropic_scale: float | None
    guard: float
    mean_share: float
    max_rank: int | None
    noise_tolerance: float
    basis: np.ndarray | None
    match_epsilon: float | None
    secret: bytes
    min_cluster_share: float
    match_release: MatchRelease
    accountant: Accountant
    fitted_: Fitted | None
    clusters_: list[Cluster]
    centroids_: np.ndarray
    centroid_noise_: float
    summary_: PopulationSummary | None
    index_: MatchIndex | None
    _releases: list[Release]
    _match_charge: Charge | None

    def refresh(self, tastes: Tastes, now: dt.datetime | None = None) -> PopulationSummary:
        """Fit everything again from `tastes` (nothing of an earlier refresh is kept but the
        accountant's totals), reading the stream twice; returns the summary.

        Args:
            tastes: every current user's `UserTaste` (posterior mean and covariance of the
                taste weights, matching opt-in): a sequence, or a function returning a fresh
                iterable each call (e.g. paging through storage). Users with a zero mean are
                skipped. Memory stays bounded: users are summed in chunks, and the second
                pass keeps an (n, r) float32 projection (r <= max_rank + 1).
            now: the summary's time (None: now, UTC).
        """
        if not (callable(tastes) or isinstance(tastes, Sequence)):
            raise InvalidInputError(
                "tastes must be a sequence or a function returning a fresh iterable (the "
                f"stream is read twice), got {type(tastes).__name__}"
            )
        stream = tastes if callable(tastes) else (lambda: tastes)
        sums = self._sum(stream())
        if sums is None:
            raise InvalidInputError("refresh needs at least one user with a nonzero taste")
        self._releases, self._match_charge = [], None
        try:
            fitted, (clusters, centroids), index, n = self._fit(sums, stream)
        finally:
            # Whatever was released is charged, even when a later step fails.
            self.accountant.charge(self._releases)
            if self._match_charge is not None:
                self.accountant.charge_matching(*self._match_charge)
        self.fitted_, self.clusters_, self.index_ = fitted, clusters, index
        self.centroids_ = centroids
        self.centroid_noise_ = self._scale(
            None if self.epsilon is None else rho_for(self.epsilon, self.delta),
            "clusters",
            STEPS[-1],
        )
        self.summary_ = self._summary(n, sums.d, now)
        return self.summary_

    def _fit(
        self, sums: Sums, stream: Callable[[], Iterable[UserTaste]]
    ) -> tuple[Fitted | None, tuple[list[Cluster], np.ndarray], MatchIndex | None, float]:
        """Release and fit; nothing is stored on `self` but the releases."""
        d = sums.d
        rho = None if self.epsilon is None else rho_for(self.epsilon, self.delta)
        stage1 = self._release("count and norm", sums.stage1(), rho, "count")
        n, norm = users_and_norm(stage1, self.norm_bound)
        if n < self.min_users:
            return None, ([], np.zeros((0, 0))), None, n
        scale = self._scale(rho, "shape")
        diagonal = spectral_noise(scale, n, d) > self.noise_tolerance
        stage2 = self._release("prior shape", sums.stage2(diagonal), rho, "shape")
        fitted = fit_prior(
            stage2,
            scale,
            n,
            norm,
            d,
            sums.basis if diagonal else None,
            self.max_rank if self.max_rank is not None else max(1, d // 4),
            self._isotropic_variance(d),
            self.guard,
            self.mean_share,
        )
        clusters, index = self._second_pass(fitted, stream(), rho, n)
        return fitted, clusters, index, n

    def _isotropic_variance(self, d: int) -> float:
        """The from-scratch prior's variance of each weight (`isotropic_scale` squared)."""
        iso = (4.0 / math.sqrt(d)) if self.isotropic_scale is None else self.isotropic_scale
        return float(iso**2)

    def _sum(self, tastes: Iterable[UserTaste]) -> Sums | None:
        sums: Sums | None = None
        for block in chunks(tastes):
            means, covs = stack(block)
            if sums is None:
                d = means.shape[1]
                basis = np.eye(d) if self.basis is None else self._check_basis(d)
                sums = Sums(d, self.norm_bound, basis)
            sums.add(means, covs)
        return sums

    def _check_basis(self, d: int) -> np.ndarray:
        basis = np.asarray(self.basis, dtype=float)
        if basis.shape != (d, d) or not np.allclose(basis.T @ basis, np.eye(d), atol=1e-6):
            raise InvalidInputError(f"basis must be an orthonormal ({d}, {d}) matrix")
        return basis

    def _scale(self, rho: float | None, part: str, fraction: float = 1.0) -> float:
        """Noise scale of a release of `fraction` of `part`'s share of `rho`."""
        if rho is None:
            return 0.0
        return 1.0 / math.sqrt(2.0 * rho * SHARES[part] * fraction)

    def _release(
        self, name: str, exact: np.ndarray, rho: float | None, part: str, fraction: float = 1.0
    ) -> np.ndarray:
        if rho is None:
            self._releases.append(Release(name, exact.size, 0.0, 0.0))
            return exact
        noisy, scale, charged = gaussian_release(exact, rho * SHARES[part] * fraction)
        self._releases.append(Release(name, exact.size, scale, charged))
        return noisy

    def _second_pass(
        self, fitted: Fitted, tastes: Iterable[UserTaste], rho: float | None, n: float
    ) -> tuple[tuple[list[Cluster], np.ndarray], MatchIndex]:
        """Project every user on the released subspace; cluster (the clusters and their (k, r)
        centroids); release match vectors."""
        subspace = fitted.subspace
        parts: list[np.ndarray] = []
        ids: list[str] = []
        opted: list[np.ndarray] = []
        for block in chunks(tastes, subspace.shape[0]):
            means, _ = stack(block)
            y = (means / np.linalg.norm(means, axis=1, keepdims=True)) @ subspace
            parts.append(y.astype(np.float32))
            chosen = [i for i, t in enumerate(block) if t.matching]
            ids += [block[i].user_id for i in chosen]
            opted.append(y[chosen])
        clusters, centroids = self._cluster(fitted, np.vstack(parts).astype(float), rho, n)
        index = MatchIndex(self.secret, subspace)
        if ids:
            # Released values only: the clusters' directions (as `assign`) and noisy sizes.
            centers = np.array([subspace.T @ c.direction for c in clusters])
            sizes = np.array([c.size for c in clusters], dtype=float)
            vectors, self._match_charge = self.match_release.release(
                np.vstack(opted), centers, sizes, self.match_epsilon, self.delta
            )
            index.extend(ids, vectors)
        return (clusters, centroids), index

    def _cluster(
        self, fitted: Fitted, y: np.ndarray, rho: float | None, n: float
    ) -> tuple[list[Cluster], np.ndarray]:
        mean = fitted.subspace.T @ fitted.direction
        if rho is None:
            shares = (1.0 / FREE_STEPS,) * FREE_STEPS
            start = initial_centers(mean, fitted.spread, FREE_STARTS, diagonals=False)
        else:
            shares, start = STEPS, initial_centers(mean, fitted.spread)

        def release(exact: np.ndarray, step: int) -> np.ndarray:
            return self._release("cluster step", exact, rho, "clusters", shares[step])

        noise = [self._scale(rho, "clusters", share) for share in shares]
        least = self.min_cluster_share * n
        centers, sizes = dp_kmeans(y, start, release, noise, fitted.variance, least)
        clusters = [
            Cluster(i, round(float(size)), _unit(fitted.subspace @ c))
            for i, (c, size) in enumerate(zip(centers, sizes, strict=True))
        ]
        return clusters, centers

    def _summary(self, n: float, d: int, now: dt.datetime | None) -> PopulationSummary:
        fitted = self.fitted_
        rho = float(sum(r.rho for r in self._releases))
        noisy = self.epsilon is not None
        return PopulationSummary(
            users=round(n),
            dimension=d,
            kind="none" if fitted is None else fitted.kind,
            rank=0 if fitted is None else fitted.rank,
            clusters=len(self.clusters_),
            matching_users=0 if self.index_ is None else len(self.index_),
            epsilon=epsilon_of(rho, self.delta) if noisy else None,
            delta=self.delta,
            rho=rho,
            total_epsilon=self.accountant.total_epsilon if noisy else None,
            total_rho=self.accountant.total_rho,
            match_epsilon=self.match_epsilon,
            when=(now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
            releases=tuple((r.name, r.size, r.scale, r.rho) for r in self._releases),
        )


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v / max(float(np.linalg.norm(v)), 1e-12))
