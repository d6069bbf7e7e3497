"""`Population`: what earlier users taught, released with user-level differential privacy."""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Iterator
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models.mixture import MixturePrior
from plgl.models.priors import GaussianPrior
from plgl.population import state
from plgl.population.clusters import assign
from plgl.population.fit import Fitted
from plgl.population.match_release import Charge, ClusterResponse, MatchRelease
from plgl.population.matching import MatchIndex
from plgl.population.mixture import SCRATCH, mixture_prior, with_scratch
from plgl.population.privacy import Accountant, Release, rho_for
from plgl.population.records import Cluster, Match, PopulationSummary
from plgl.population.records import UserTaste as UserTaste  # the class example uses it
from plgl.population.refresh import Refreshing


class Population(Refreshing):
    """A population prior, taste clusters and private matching, from users' fitted tastes.

    Args:
        epsilon: (epsilon, delta)-DP of each refresh's released aggregates (user level); None
            releases them without noise (opt-in deployments only).
        delta: the delta of every (epsilon, delta) statement.
        min_users: below this (noisy) number of users no prior is released.
        norm_bound: taste-weight norm clipped to (the scale of a user's contribution).
        isotropic_scale: the from-scratch prior standard deviation per weight (None: 4 /
            sqrt(d), LinearPreference's default).
        guard: share of the from-scratch prior variance kept in every direction: a user unlike
            anyone still learns about as fast as from scratch.
        mean_share: share of the population mean kept as the prior mean (the rest widens the
            covariance along it).
        max_rank: most directions in the low-rank part (None: d // 4).
        noise_tolerance: the largest DP spectral noise on the directions' covariance at which a
            full covariance is released; above it, a diagonal in `basis`.
        basis: (d, d) orthonormal public basis for the diagonal fallback (None: the latent axes).
        match_epsilon: epsilon of each opted-in user's match report per refresh (None: epsilon).
        match_release: how the match reports are released (None: `ClusterResponse()`, randomized
            response over the released clusters; see `plgl.population.match_release`).
        secret: key of the pseudonymous handles (None: a random one; pass the engine's).
        min_cluster_share: clusters smaller than this share of the users are dropped.
        mixture: new users start from the mixture prior (`mixture_prior`: one component per
            cluster, the broad prior and the from-scratch prior,
            `plgl.models.mixture.MixturePreference`); False: from the single Gaussian `prior`
            and the from-scratch prior (`new_user_prior`; the single Gaussian alone, for
            `LinearPreference`, with `scratch` 0).
        scratch: prior probability of the from-scratch prior (isotropic, `isotropic_scale`) as
            the new-user prior's last component, in [0, 1): a user unlike anyone is explained
            by it and learns about as fast as from scratch; 0: no such component. It is the
            isotropic prior the guard widens by, also where the engine's own model starts
            from a generator's geometry prior.

    >>> rng = np.random.default_rng(0)
    >>> tastes = [UserTaste(f"u{i}", 4 * np.eye(3)[i % 2] + rng.normal(0, .1, 3), np.full(3, .01))
    ...           for i in range(200)]
    >>> summary = Population(epsilon=None, max_rank=2).refresh(tastes)
    >>> summary.users, summary.kind, summary.clusters
    (200, 'low-rank', 2)
    """

    def __init__(
        self,
        epsilon: float | None = 1.0,
        delta: float = 1e-6,
        min_users: int = 50,
        *,
        norm_bound: float = 8.0,
        isotropic_scale: float | None = None,
        guard: float = 0.4,
        mean_share: float = 0.5,
        max_rank: int | None = None,
        noise_tolerance: float = 0.15,
        basis: np.ndarray | None = None,
        match_epsilon: float | None = None,
        secret: bytes | None = None,
        min_cluster_share: float = 0.02,
        match_release: MatchRelease | None = None,
        mixture: bool = True,
        scratch: float = SCRATCH,
    ) -> None:
        for value in (epsilon, match_epsilon):
            if value is not None:
                rho_for(value, delta)  # validates it and delta
        if not (isinstance(min_users, int) and min_users >= 1):
            raise InvalidInputError(f"min_users must be an integer >= 1, got {min_users!r}")
        if not (math.isfinite(norm_bound) and norm_bound > 0):
            raise InvalidInputError(f"norm_bound must be a number > 0, got {norm_bound!r}")
        for name, share in (("guard", guard), ("mean_share", mean_share)):
            if not 0.0 <= share <= 1.0:
                raise InvalidInputError(f"{name} must be in [0, 1], got {share!r}")
        if (
            isinstance(scratch, bool)
            or not isinstance(scratch, int | float)
            or not 0 <= scratch < 1
        ):
            raise InvalidInputError(f"scratch must be in [0, 1), got {scratch!r}")
        self.epsilon = epsilon
        self.delta = delta
        self.min_users = min_users
        self.norm_bound = norm_bound
        self.isotropic_scale = isotropic_scale
        self.guard = guard
        self.mean_share = mean_share
        self.max_rank = max_rank
        self.noise_tolerance = noise_tolerance
        self.basis = basis
        self.match_epsilon = epsilon if match_epsilon is None else match_epsilon
        self.secret = secrets.token_bytes(32) if secret is None else secret
        self.min_cluster_share = min_cluster_share
        if not isinstance(mixture, bool):
            raise InvalidInputError(f"mixture must be True or False, got {mixture!r}")
        self.mixture = mixture
        self.scratch = scratch
        if match_release is not None and not isinstance(match_release, MatchRelease):
            raise InvalidInputError(
                f"match_release must be a MatchRelease, got {type(match_release).__name__}"
            )
        self.match_release = ClusterResponse() if match_release is None else match_release
        self.accountant = Accountant(delta)
        self.fitted_: Fitted | None = None
        self.clusters_: list[Cluster] = []
        self.centroids_ = np.zeros((0, 0))  # (k, r) the clusters' centroids in the subspace
        self.centroid_noise_ = 0.0  # noise scale of the Lloyd steps' released sums
        self.summary_: PopulationSummary | None = None
        self.index_: MatchIndex | None = None
        self._releases: list[Release] = []
        self._match_charge: Charge | None = None

    # ------------------------------------------------------------------ reads
    def prior(self) -> GaussianPrior | None:
        """The population prior over taste weights, for `LinearPreference(prior=...)`; None
        before a refresh with at least `min_users` users (start from scratch)."""
        if self.fitted_ is None:
            return None
        return GaussianPrior(self.fitted_.mean, self.fitted_.covariance)

    def mixture_prior(self) -> MixturePrior | None:
        """The broad prior, one Gaussian per cluster and (`scratch` > 0) the from-scratch prior
        (`plgl.population.mixture`), for `MixturePreference(mixture=...)`; None where `prior`
        is None."""
        if self.fitted_ is None:
            return None
        d = self.fitted_.subspace.shape[0]
        return mixture_prior(
            self.fitted_,
            self.centroids_,
            np.array([c.size for c in self.clusters_], dtype=float),
            self.centroid_noise_,
            self.guard * self._isotropic_variance(d),
            scratch=self._scratch_prior(d),
            scratch_weight=self.scratch,
        )

    def new_user_prior(self, mixture: bool | None = None) -> GaussianPrior | MixturePrior | None:
        """What a new user's model starts from: with `mixture` (None: this population's
        setting) `mixture_prior`; else the single Gaussian `prior`, with (`scratch` > 0) the
        from-scratch prior beside it as a mixture of two, so that a user unlike anyone still
        learns about as fast as from scratch."""
        if mixture is None:
            mixture = self.mixture
        if not isinstance(mixture, bool):
            raise InvalidInputError(f"mixture must be True, False or None, got {mixture!r}")
        if mixture:
            return self.mixture_prior()
        prior = self.prior()
        scratch = None if prior is None else self._scratch_prior(prior.dim)
        if prior is None or scratch is None:
            return prior
        return with_scratch(MixturePrior((prior,), np.ones(1)), scratch, self.scratch)

    def clusters(self) -> list[Cluster]:
        """The taste clusters of the last refresh, largest first."""
        return list(self.clusters_)

    def assign(self, tastes: np.ndarray) -> np.ndarray:
        """(n,) cluster id of each taste (n, d) (nearest released centroid); -1 without clusters."""
        if not self.clusters_ or self.fitted_ is None:
            return np.full(len(tastes), -1)
        x = tastes / np.maximum(np.linalg.norm(tastes, axis=1, keepdims=True), 1e-12)
        y = x @ self.fitted_.subspace
        centers = np.array([self.fitted_.subspace.T @ c.direction for c in self.clusters_])
        return assign(y, centers)

    def matches(self, user_id: str, taste: np.ndarray, k: int = 5) -> list[Match]:
        """Up to `k` other opted-in users whose released vectors best match `taste` (d,), the
        asker's own current taste (their posterior mean)."""
        if not (isinstance(k, int) and k >= 1):
            raise InvalidInputError(f"k must be an integer >= 1, got {k!r}")
        return [match for _, match in itertools.islice(self.ranked(user_id, taste), k)]

    def ranked(self, user_id: str, taste: np.ndarray) -> Iterator[tuple[str, Match]]:
        """Every other opted-in user, best match for `taste` (d,) first, lazily: (user id,
        match); the id is for the caller's own checks, never to show."""
        if self.index_ is None:
            return iter(())
        taste = np.asarray(taste, dtype=float)
        if taste.shape != (self.index_.subspace.shape[0],):
            raise InvalidInputError(
                f"taste must have shape ({self.index_.subspace.shape[0]},), got {taste.shape}"
            )
        return self.index_.ranked(user_id, taste)

    def exclude(self, user_id: str) -> None:
        """Take `user_id` out of matching at once (opt-out or deletion); the next refresh leaves
        them out of every aggregate when the stream no longer yields them."""
        if self.index_ is not None:
            self.index_.exclude(user_id)

    def get_state(self) -> dict[str, Any]:
        """Everything fitted, JSON-native (released values and noisy match vectors only)."""
        return state.dump(self)

    def set_state(self, fitted: dict[str, Any]) -> Population:
        """Restore what `get_state` returned (this population's settings are kept)."""
        state.load(self, fitted)
        return self

    def is_matchable(self, user_id: str) -> bool:
        """Whether `user_id` is in the current matching index."""
        return self.index_ is not None and user_id in self.index_

    # --------------------------------------------------------------- internals
    def _scratch_prior(self, d: int) -> GaussianPrior | None:
        """The from-scratch prior as a component (None with `scratch` 0)."""
        if self.scratch == 0:
            return None
        return GaussianPrior.isotropic(d, math.sqrt(self._isotropic_variance(d)))
