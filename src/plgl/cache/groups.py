"""Pools per taste group: latents made for each population cluster's members, pregenerated
into the shared candidate pool, so that a new member's candidates include items already made
for their group (`ContentCache.group_rows`, offered beside the sampler's fresh proposals).

The rows are appended to the generator's pool like any chunk (`plgl.cache.pool.append_chunk`),
and `group-pool:<config>:<group>` records which rows are the group's. A group already filled is
skipped, so a rerun adds nothing. Which latents a group gets is the caller's choice
(`plgl.population.pools.cluster_candidates`: what the sampler proposes to a member).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import numpy as np

from plgl.cache._base import BaseCache
from plgl.cache.pool import CandidatePool, append_chunk, check_batch
from plgl.errors import InvalidInputError
from plgl.generators import Generator, config_digest


def pregenerate_groups(
    generator: Generator,
    store: BaseCache,
    groups: Mapping[str, np.ndarray],
    batch: int = 250,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Add each group's latents (n, latent_dim) to the pool of `generator` in `store`, with
    their content; returns {group: rows it has}. `progress(done, total)` after each batch.

    >>> from plgl.cache import MemoryCache
    >>> from plgl.generators import get
    >>> store = MemoryCache()
    >>> pregenerate_groups(get("identity", latent_dim=2), store, {"r1:0": np.ones((3, 2))})
    {'r1:0': 3}
    """
    check_batch(batch)
    for group, latents in groups.items():
        if not isinstance(group, str) or not group:
            raise InvalidInputError(f"group names must be non-empty strings, got {group!r}")
        if np.ndim(latents) != 2 or np.shape(latents)[1] != generator.latent_dim:
            raise InvalidInputError(
                f"group {group!r}: latents must be (n, {generator.latent_dim}), got "
                f"{np.shape(latents)}"
            )
    config = config_digest(generator)
    pool = CandidatePool(store, config, generator.latent_dim)
    total = sum(len(latents) for latents in groups.values())
    done, sizes = 0, {}
    for group, latents in groups.items():
        key = group_key(config, group)
        stored = store.get(key)
        if stored is None:
            before = done

            def report(made: int, before: int = before) -> None:
                if progress is not None:
                    progress(before + made, total)

            rows = append_chunk(generator, pool, np.asarray(latents, dtype=float), batch, report)
            store[key] = json.dumps({"rows": list(rows)}).encode()
        else:
            rows = json.loads(stored)["rows"]
        sizes[group] = rows[1] - rows[0]
        done += len(latents)
    return sizes


def group_key(config: str, group: str) -> str:
    """The key that names a group's pool rows."""
    return f"group-pool:{config}:{group}"
