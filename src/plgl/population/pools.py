"""What to pregenerate for each taste cluster's members (`plgl pregenerate --by-cluster`).

A member's feed shows two kinds of items: likely likes that still teach (predicted liked 70-80%
of the time) and items near their decision boundary. For a model that knows the member's
direction, both lie at small to moderate angles from it, not at its centre (an item liked for
sure teaches nothing), so a cluster's rows are spread around the centroid's direction at angles
from near (spread 0.5) to far (spread 8), log-uniformly: a member's candidates include them
once the member is placed in the cluster (`plgl.samplers.next_candidates`), the sampler judges
them like its own proposals, and what is shown from them costs no generator call
(`benchmarks/cluster_cache.py`).

Only the released centroid directions enter (a DP release), so the pools are post-processing of
it: no user's ratings, items or taste are in them (`docs/privacy.md`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError

if TYPE_CHECKING:
    from plgl.engine import Engine

SPREADS = (0.5, 8.0)  # range of the offsets from the centroid, relative to its unit length


def cluster_candidates(engine: Engine, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """{group: (n, latent_dim) latents} for each cluster of the engine's latest refresh, the
    group named as `EnginePopulation.group_of` names it; for `plgl.cache.pregenerate_groups`.

    Each row is the cluster's unit direction plus an isotropic offset of norm about s (s
    log-uniform in `SPREADS`), put on the prior's shell and projected by the generator.
    InvalidInputError when the engine has no population or its latest refresh no clusters.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive int, got {n!r}")
    population = engine.population
    if population is None:
        raise InvalidInputError("the engine has no population")
    clusters, refresh = population.clusters(), population.refresh_id
    if not clusters or refresh is None:
        raise InvalidInputError("the storage holds no population clusters: refresh it first")
    generator = engine.generator
    d = generator.latent_dim
    groups: dict[str, np.ndarray] = {}
    for cluster in clusters:
        spread = np.exp(rng.uniform(np.log(SPREADS[0]), np.log(SPREADS[1]), n))
        z = cluster.direction + spread[:, None] * rng.standard_normal((n, d)) / np.sqrt(d)
        z *= np.sqrt(d) / np.linalg.norm(z, axis=1, keepdims=True)
        groups[f"{refresh}:{cluster.id}"] = np.asarray(generator.project(z))
    return groups
