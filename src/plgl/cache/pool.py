"""Candidate pools: latents generated ahead of time, whose content already sits in the cache.

A pool is a list of chunks of latents under `pool:<config>:` in a cache store, written by
`pregenerate` (content first, then the chunk, then the manifest, so a chunk never names content
that is missing). `CandidatePool` loads them; which rows a user is shown is the sampler's choice
(`plgl.samplers.next_candidates`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from plgl.cache._base import BaseCache
from plgl.cache.codec import decode_latents, encode, encode_latents
from plgl.errors import InvalidInputError
from plgl.generators import Generator, config_digest

CHUNK = 1000


def content_digest(config: str, latents: np.ndarray) -> list[str]:
    """One hex key per row of latents (n, d): the config digest plus the row's float64 bytes."""
    rows = np.ascontiguousarray(latents, dtype="<f8")
    return [hashlib.sha256(config.encode() + row.tobytes()).hexdigest() for row in rows]


class CandidatePool:
    """The pool of one generator configuration in one store, loaded into memory on demand.

    Attributes:
        latents: (n_items, latent_dim) float64 pool latents.
        keys: content digest of each row.
    """

    def __init__(self, store: BaseCache, config: str, latent_dim: int) -> None:
        self._lock = threading.Lock()  # two threads' first refresh must not both append
        self.store = store
        self.prefix = f"pool:{config}:"
        self.config = config
        self.latent_dim = latent_dim
        self.latents = np.empty((0, latent_dim))
        self.keys: list[str] = []
        self.rows: dict[str, int] = {}
        self._chunks = 0

    def manifest(self) -> dict[str, Any]:
        """{"chunks": number of chunks, "items": number of latents} as stored."""
        blob = self.store.get(self.prefix + "meta")
        return {"chunks": 0, "items": 0} if blob is None else dict(json.loads(blob))

    def refresh(self) -> CandidatePool:
        """Load chunks written since the last call (one read when nothing changed)."""
        with self._lock:
            self._load(int(self.manifest()["chunks"]))
        return self

    def _load(self, chunks: int) -> None:
        if chunks > self._chunks:
            added = np.vstack(
                [
                    decode_latents(self.store[f"{self.prefix}{i:06d}"])
                    for i in range(self._chunks, chunks)
                ]
            )
            if added.shape[1] != self.latent_dim:
                raise InvalidInputError(
                    f"pool latents have {added.shape[1]} columns, the generator {self.latent_dim}"
                )
            keys = content_digest(self.config, added)
            self.rows.update({key: len(self.keys) + i for i, key in enumerate(keys)})
            self.keys += keys
            self.latents = np.vstack([self.latents, added])
            self._chunks = chunks

    def __len__(self) -> int:
        return len(self.keys)


def append_chunk(
    generator: Generator,
    pool: CandidatePool,
    latents: np.ndarray,
    batch: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Make the content of latents (n, latent_dim) in batches of `batch` and append them to
    `pool` as one chunk; returns the (start, stop) rows they got.

    Content first, then the chunk, then the manifest: a chunk never names content that is
    missing. `progress(done)` is called after each batch with the latents made so far.
    """
    store = pool.store
    keys = content_digest(pool.config, latents)
    for begin in range(0, len(latents), batch):
        made = generator.generate(latents[begin : begin + batch])
        store.put_many(
            {f"content:{k}": encode(c) for k, c in zip(keys[begin:], made, strict=False)}
        )
        if progress is not None:
            progress(begin + len(made))
    meta = pool.manifest()
    chunks, items = int(meta["chunks"]), int(meta["items"])
    store[f"{pool.prefix}{chunks:06d}"] = encode_latents(latents)
    store[pool.prefix + "meta"] = json.dumps(
        {"chunks": chunks + 1, "items": items + len(latents)}
    ).encode()
    return items, items + len(latents)


def pregenerate(
    generator: Generator,
    store: BaseCache,
    n: int,
    seed: int = 0,
    batch: int = 250,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Fill the pool of `generator` in `store` up to `n` items; returns the pool's size.

    Chunk i draws its latents from the prior with seed (seed, i), so an interrupted run resumes
    where it stopped and a rerun adds nothing. `progress(done, n)` is called after each batch.

    >>> from plgl.cache import MemoryCache
    >>> from plgl.generators import get
    >>> pregenerate(get("identity", latent_dim=4), MemoryCache(), n=1500)
    1500
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be a positive int, got {n!r}")
    check_batch(batch)
    pool = CandidatePool(store, config_digest(generator), generator.latent_dim)
    meta = pool.manifest()
    chunks, items = int(meta["chunks"]), int(meta["items"])
    while items < n:
        rng = np.random.default_rng([seed, chunks])
        # On the prior's shell, like every latent navigation proposes: the region the model
        # renders well, and the norm the sampler's candidates have, so neither source is
        # favoured by its length alone.
        latents = generator.project(generator.sample(min(CHUNK, n - items), rng))
        done = items

        def report(made: int, done: int = done) -> None:
            if progress is not None:
                progress(done + made, n)

        items = append_chunk(generator, pool, latents, batch, report)[1]
        chunks += 1
    return items


def check_batch(batch: object) -> None:
    """InvalidInputError unless `batch` (latents per generator call) is a positive int."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidInputError(f"batch must be a positive int, got {batch!r}")
