"""What to pregenerate for each taste cluster's members (`plgl pregenerate --by-cluster`).

A member's feed shows two kinds of items: likely likes that still teach (predicted liked 70-80%
of the time) and items near their decision boundary, both chosen greedily by what a rating
would teach (`plgl.samplers.MixtureSampler.select`). For a member whose taste is near the
cluster's, both lie close to the boundary, a few degrees short of 90 from the cluster's
direction, the closer the sharper the member's model: an item liked for sure teaches nothing and
is never chosen. So a cluster's rows are what the default sampler proposes to a member (reverse
classification on the prior's shell): each aimed at a log-odds target of the sampler's
(exploit or explore) under a taste along the centroid's direction whose length is drawn from
`SCALES` x the length of the cluster's prior mean (a member's model sharpens from about that
length to twice it over their first 60 ratings, `benchmarks/cluster_cache.py`), with the part
orthogonal to the direction drawn where the cluster's prior is least sure. A member's candidates
include them once the member is placed in the cluster (`plgl.samplers.next_candidates`), the
sampler judges them like its own proposals, and what is shown from them costs no generator call.

Only released quantities enter (the DP centroids and the released prior, `Population.
mixture_prior`), so the pools are post-processing of them: no user's ratings, items or taste
are in them (`docs/privacy.md`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError
from plgl.navigation import logit
from plgl.samplers import MixtureSampler

if TYPE_CHECKING:
    from plgl.engine import Engine
    from plgl.models.priors import GaussianPrior

SCALES = (1.0, 3.0)  # a member's taste length, relative to their cluster's prior mean's


def cluster_candidates(engine: Engine, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """{group: (n, latent_dim) latents} for each cluster of the engine's latest refresh, the
    group named as `EnginePopulation.group_of` names it; for `plgl.cache.pregenerate_groups`.

    Each row z on the prior's shell (|z| = sqrt(d)) has s sqrt(d) cos(angle to the cluster's
    unit direction) = t: t a log-odds target of the engine's sampler (its explore share near 0,
    the rest between logit(exploit_min_proba) and logit(exploit_max_proba); the defaults of
    `MixtureSampler` for another sampler), s log-uniform in `SCALES` x |the cluster's prior
    mean|; its orthogonal part is Sigma x (x standard normal, Sigma the cluster's prior
    covariance, the direction projected out), as the sampler draws it. Rows are projected by the
    generator. InvalidInputError when the engine has no population or its latest refresh no
    clusters.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive int, got {n!r}")
    population = engine.population
    if population is None:
        raise InvalidInputError("the engine has no population")
    clusters, refresh = population.clusters(), population.refresh_id
    mixture = population.population.mixture_prior()
    if not clusters or refresh is None or mixture is None:
        raise InvalidInputError("the storage holds no population clusters: refresh it first")
    sampler = engine.sampler if isinstance(engine.sampler, MixtureSampler) else MixtureSampler()
    generator = engine.generator
    groups: dict[str, np.ndarray] = {}
    # The mixture's components: the broad one, one per cluster in the clusters' order, then
    # the from-scratch prior (where the population has one).
    for cluster, component in zip(clusters, mixture.components[1 : 1 + len(clusters)], strict=True):
        z = _aimed(cluster.direction, component, sampler, n, rng)
        groups[f"{refresh}:{cluster.id}"] = np.asarray(generator.project(z))
    return groups


def _aimed(
    direction: np.ndarray,
    prior: GaussianPrior,
    sampler: MixtureSampler,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n, d) latents on the shell aimed at the sampler's targets for tastes along `direction`
    (d,) (unit) whose length follows `prior` (the cluster's component)."""
    d = len(direction)
    radius = np.sqrt(d)
    n_explore = round(sampler.explore * n)
    low, high = logit(sampler.exploit_min_proba), logit(sampler.exploit_max_proba)
    targets = np.concatenate(
        [rng.uniform(low, high, n - n_explore), rng.uniform(-0.5, 0.5, n_explore)]
    )
    length = max(float(np.linalg.norm(prior.mean)), 1e-6)
    scale = length * np.exp(rng.uniform(np.log(SCALES[0]), np.log(SCALES[1]), n))
    cos = np.clip(targets / (scale * radius), -1.0, 1.0)
    other = rng.standard_normal((n, d)) @ prior.covariance
    other -= np.outer(other @ direction, direction)
    other /= np.maximum(np.linalg.norm(other, axis=1, keepdims=True), 1e-12)
    z = cos[:, None] * direction + np.sqrt(1.0 - cos**2)[:, None] * other
    return np.asarray(radius * z)
