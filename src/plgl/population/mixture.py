"""A mixture prior over taste weights: one Gaussian per released taste cluster, plus the broad
population prior (for a user unlike any cluster) and, optionally, the from-scratch prior (for a
user unlike anyone). Post-processing of released values only.

Each cluster's component is centred on its DP centroid (in the released subspace, scaled by the
users' released mean taste norm). Inside the subspace its variance is the spread within the
cluster, spread evenly over the subspace's directions: the users' mean squared projected length
(released: the total variance of the directions plus the squared mean) less the centroid's
squared length, de-biased for its noise (a centroid of unit vectors is as much shorter than
them as they spread; one that merged two true clusters is short, so its component is wide),
plus the centroid's own DP error (the noise of the last Lloyd step's sums over its noisy size)
and the guard's share of the from-scratch variance. Outside the subspace it is the broad prior's
covariance (what no cluster says anything about). Along its mean it adds the spread of users'
taste norms (not released: a coefficient of variation `SCALE_SPREAD` is assumed; a wider one
lets a cluster explain a user unlike it as a member with a small norm). Component weights:
`scratch_weight` for the from-scratch prior; of the rest, `broad` for the broad prior and the
rest shared by the clusters' noisy sizes.

The from-scratch component is the guard rail's: the broad prior is tighter than the from-scratch
prior outside the population's subspace (only the guard's share of it is kept there), so a user
unlike anyone is slowed by it. A Bayes mixture's cumulative log-loss is within log(1 / w) of
that of any component of prior weight w (Cesa-Bianchi & Lugosi 2006, chapter 9): on such a
user's answers the mixture predicts at most log(1 / scratch_weight) nats worse in all than the
from-scratch model, and on a cluster member's at most log(1 / (1 - scratch_weight)) worse than
the mixture without it (a bound on prediction; what it costs in ratings is measured by the
`population` benchmark suite).
`plgl.models.mixture.MixturePreference` learns which component a new user is in (Birlutiu,
Groot & Heskes 2013; Hong et al. 2022, hierTS).
"""

from __future__ import annotations

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models.mixture import MixturePrior
from plgl.models.priors import GaussianPrior
from plgl.population.clusters import WEIGHTS
from plgl.population.fit import Fitted

BROAD = 0.2  # prior probability of the broad component: a user unlike every cluster
SCRATCH = 0.1  # prior probability of the from-scratch component: a user unlike anyone
SCALE_SPREAD = 0.15  # assumed coefficient of variation of a user's taste norm within a cluster


def mixture_prior(
    fitted: Fitted,
    centroids: np.ndarray,
    sizes: np.ndarray,
    noise_scale: float,
    guard_variance: float,
    broad: float = BROAD,
    scale_spread: float = SCALE_SPREAD,
    scratch: GaussianPrior | None = None,
    scratch_weight: float = SCRATCH,
) -> MixturePrior:
    """The broad prior, one component per cluster, then the from-scratch prior (if given).

    Args:
        fitted: the released prior (its covariance is the broad component's).
        centroids: (k, r) released cluster centroids in `fitted.subspace` coordinates.
        sizes: (k,) their noisy sizes.
        noise_scale: standard deviation of the DP noise on each Lloyd step's sums (0: none).
        guard_variance: the guard's share of the from-scratch variance of each weight.
        broad: prior probability of the broad component, in (0, 1).
        scale_spread: coefficient of variation of a user's taste norm within a cluster.
        scratch: the prior a new user starts from without a population (None: no such
            component).
        scratch_weight: its prior probability, in (0, 1) (ignored without `scratch`).
    """
    population = _population_components(
        fitted, centroids, sizes, noise_scale, guard_variance, broad, scale_spread
    )
    return population if scratch is None else with_scratch(population, scratch, scratch_weight)


def with_scratch(prior: MixturePrior, scratch: GaussianPrior, weight: float) -> MixturePrior:
    """`prior`'s components, then `scratch` with prior probability `weight` in (0, 1) (the
    others' weights scaled by 1 - weight).

    >>> one = MixturePrior((GaussianPrior.isotropic(2, 0.5),), np.ones(1))
    >>> with_scratch(one, GaussianPrior.isotropic(2, 2.0), 0.1).weights.tolist()
    [0.9, 0.1]
    """
    if not 0.0 < weight < 1.0:
        raise InvalidInputError(f"scratch_weight must be in (0, 1), got {weight!r}")
    if scratch.dim != prior.dim:
        raise InvalidInputError(
            f"the scratch prior is over {scratch.dim} weights; the population's over {prior.dim}"
        )
    weights = np.append((1.0 - weight) * prior.weights, weight)
    return MixturePrior((*prior.components, scratch), weights)


def _population_components(
    fitted: Fitted,
    centroids: np.ndarray,
    sizes: np.ndarray,
    noise_scale: float,
    guard_variance: float,
    broad: float,
    scale_spread: float,
) -> MixturePrior:
    """The broad prior and one component per cluster (see `mixture_prior`)."""
    broad_prior = GaussianPrior(fitted.mean, fitted.covariance)
    if len(centroids) == 0:
        return MixturePrior((broad_prior,), np.ones(1))
    subspace = fitted.subspace
    d, r = subspace.shape
    sizes = np.maximum(np.asarray(sizes, dtype=float), 1.0)
    share = sizes / sizes.sum()
    # Mean squared length of the users' projected directions (released: variance + mean^2).
    second = fitted.variance + float(np.sum((subspace.T @ fitted.direction) ** 2))
    outside = np.eye(d) - subspace @ subspace.T
    rest = outside @ fitted.covariance @ outside
    components = [broad_prior]
    for centroid, size in zip(centroids, sizes, strict=True):
        # The last step's centroid: noisy sum over noisy size, per coordinate.
        error = (noise_scale / (WEIGHTS[1] * size)) ** 2
        mean = fitted.norm * (subspace @ centroid)
        # Spread within: mean squared length less the centroid's (de-biased for its noise).
        within = max(second - (float(centroid @ centroid) - r * error), 1e-6 * second) / r
        inside = fitted.norm**2 * (within + error) + guard_variance
        cov = inside * (subspace @ subspace.T) + rest + scale_spread**2 * np.outer(mean, mean)
        components.append(GaussianPrior(mean, 0.5 * (cov + cov.T)))
    weights = np.concatenate([[broad], (1.0 - broad) * share])
    return MixturePrior(tuple(components), weights)


__all__ = ["BROAD", "SCRATCH", "mixture_prior", "with_scratch"]
