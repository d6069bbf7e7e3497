"""Pools per taste group: latents along each population cluster's centroid, pregenerated into the
shared candidate pool, so that a new member's first candidates already lean towards what their
group likes (`ContentCache.shared_rows` offers them first).

The rows are appended to the generator's pool like any chunk (content first, then the chunk,
then the manifest), and `group-pool:<config>:<group>` records which rows are the group's. A
group already filled is skipped, so a rerun adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import numpy as np

from plgl.cache._base import BaseCache
from plgl.cache.codec import encode, encode_latents
from plgl.cache.pool import CandidatePool, content_digest
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
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidInputError(f"batch must be a positive int, got {batch!r}")
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
        key = f"group-pool:{config}:{group}"
        stored = store.get(key)
        if stored is not None:
            start, stop = json.loads(stored)["rows"]
            sizes[group] = stop - start
            done += len(latents)
            continue
        latents = np.asarray(latents, dtype=float)
        keys = content_digest(config, latents)
        for begin in range(0, len(latents), batch):
            made = generator.generate(latents[begin : begin + batch])
            store.put_many(
                {f"content:{k}": encode(c) for k, c in zip(keys[begin:], made, strict=False)}
            )
            done += len(made)
            if progress is not None:
                progress(done, total)
        meta = pool.manifest()
        chunks, items = int(meta["chunks"]), int(meta["items"])
        store[f"{pool.prefix}{chunks:06d}"] = encode_latents(latents)
        store[pool.prefix + "meta"] = json.dumps(
            {"chunks": chunks + 1, "items": items + len(latents)}
        ).encode()
        store[key] = json.dumps({"rows": [items, items + len(latents)]}).encode()
        sizes[group] = len(latents)
    return sizes
