"""The content cache an Engine uses: content by (generator config, latent), pools, shared likes,
and what each user kept. Everything lives in one `BaseCache` store, under these keys:

- `content:<digest>` / `render:<digest>:<media type>`: content and rendered bytes, where
  digest = sha256(config digest + the latent's float64 bytes). Evictable copies.
- `pool:<config>:...`: pregenerated latents (see `plgl.cache.pool`).
- `likes:<config>:<digest>`: how many users liked a pool item, with no trace of who;
  `shared:<config>:<n>`: the n-th pool item to reach `min_shared_likes` (shared positives).
  The same per taste group (a population's cluster, `join`) under `likes:<config>:group:<g>:`
  and `shared:<config>:group:<g>:`; `group-pool:<config>:<g>`: the pool rows pregenerated
  for the group's members (`plgl.cache.groups`).
- `user:<user hash>:...`: one user's data (kept likes, which pool items they liked, which content
  was made for them), removed by `forget_user`; `deleted:<user hash>` keeps it from coming back.

The calls about users and across them (kept likes, shared positives, taste groups, served rows,
forgetting) are the method group `plgl.cache.users.UserData`, which `ContentCache` inherits.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from plgl.cache._base import BaseCache
from plgl.cache.codec import decode, encode
from plgl.cache.pool import CandidatePool, content_digest
from plgl.cache.urls import from_url
from plgl.cache.users import UserData, user_prefix
from plgl.errors import InvalidInputError
from plgl.generators import Generator, config_digest


class ContentCache(UserData):
    """Content by generator config and latent, candidate pools and shared positives.

    Args:
        store: a URL ("memory://", "sqlite:///path", "redis://host:port/db"), a BaseCache, or
            None for an in-memory LRU cache.
        fresh_start: share of each candidate batch made fresh for a new user (a model that
            knows nothing yet); the rest comes from the pool. It rises to 1 with the model's
            confidence (`fresh_share`; the sampler chooses which pool items fill the rest).
        min_shared_likes: likes from different users after which a pool item becomes a shared
            positive, offered to new users.
        shared_share: share of pool candidates taken from shared positives for a new user.
        keep_best: how many of their latest liked items each user keeps pinned in the cache.
        decoded_items: how many pool items' decoded content (arrays) and metadata each process
            keeps in memory, least recently used first out (0: none), so that serving a pool
            item reads no store and decodes nothing. Faces: about 13 KiB each.

    >>> from plgl.generators import get
    >>> cache = ContentCache().attach(get("identity", latent_dim=2))
    >>> cache.contents(np.ones((1, 2)))[0].tolist(), cache.stats["generated"]
    ([1.0, 1.0], 1)
    >>> cache.contents(np.ones((1, 2)))[0].tolist(), cache.stats["generated"]
    ([1.0, 1.0], 1)
    """

    generator: Generator
    config: str  # digest of the generator's config()
    pool: CandidatePool

    def __init__(
        self,
        store: str | BaseCache | None = None,
        *,
        fresh_start: float = 0.2,
        min_shared_likes: int = 5,
        shared_share: float = 0.1,
        keep_best: int = 100,
        decoded_items: int = 2048,
    ) -> None:
        for name, share in (("fresh_start", fresh_start), ("shared_share", shared_share)):
            if not 0.0 <= share <= 1.0:
                raise InvalidInputError(f"{name} must be in [0, 1], got {share}")
        for name, count in (("min_shared_likes", min_shared_likes), ("keep_best", keep_best)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise InvalidInputError(f"{name} must be a positive int, got {count!r}")
        if type(decoded_items) is not int or decoded_items < 0:
            raise InvalidInputError(f"decoded_items must be an int >= 0, got {decoded_items!r}")
        self.store = from_url(store)
        self.fresh_start = fresh_start
        self.min_shared_likes = min_shared_likes
        self.shared_share = shared_share
        self.keep_best = keep_best
        self.decoded_items = decoded_items
        self.stats: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._seen: dict[str, tuple[int, str, set[str]]] = {}
        self._shared: dict[str, tuple[list[int], int]] = {}  # scope -> (rows, slots read)
        self._groups: OrderedDict[str, str] = OrderedDict()  # user key -> taste group
        self._decoded: OrderedDict[str, np.ndarray] = OrderedDict()  # pool digest -> content
        self._metadata: OrderedDict[str, dict[str, Any]] = OrderedDict()  # pool digest -> facts

    def attach(self, generator: Generator) -> ContentCache:
        """Bind the cache to the generator whose content it holds (once)."""
        config = config_digest(generator)
        if hasattr(self, "generator") and config != self.config:
            raise InvalidInputError(
                "this ContentCache is attached to another generator configuration; "
                "give each Engine its own ContentCache (they may share a store)"
            )
        self.generator = generator
        self.config = config
        self.pool = CandidatePool(self.store, config, generator.latent_dim)
        return self

    # ----------------------------------------------------------------- content
    def digests(self, latents: np.ndarray) -> list[str]:
        """The cache key digest of each row of latents (n, latent_dim)."""
        return content_digest(self.config, latents)

    def contents(self, latents: np.ndarray, user_id: str | None = None) -> list[Any]:
        """Content for latents (n, latent_dim): cached where it was made before, otherwise made
        in one generator call and cached. Content made for `user_id` is removed with the user.

        The store is read in one batch (one round trip for Redis), and pool content this process
        decoded before is taken from memory (`decoded_items`)."""
        digests = self.digests(latents)
        found = self._lookup_many(digests, user_id)
        missing = [i for i, content in enumerate(found) if content is None]
        with self._lock:
            self.stats["lookups"] += len(digests)
            self.stats["hits"] += len(digests) - len(missing)
            self.stats["generated"] += len(missing)
        if missing:
            made = self.generator.generate(np.asarray(latents)[missing])
            entries = {}
            for i, content in zip(missing, made, strict=True):
                found[i] = content
                blob = _encoded(content)
                if blob is not None:  # content the codec cannot hold is made again when needed
                    entries[f"content:{digests[i]}"] = blob
            self.store.put_many(entries)
            if user_id is not None:
                self._note_made(user_id, [digests[i] for i in missing])
        return found

    def render(self, latent: np.ndarray, media_type: str, user_id: str | None = None) -> bytes:
        """Bytes of the content of one latent (latent_dim,) as `media_type`, cached."""
        if media_type not in self.generator.media_types:
            raise InvalidInputError(
                f"{self.generator.name} renders {', '.join(self.generator.media_types)}, "
                f"not {media_type!r}"
            )
        key = f"render:{self.digests(latent[None, :])[0]}:{media_type}"
        blob = self.store.get(key)
        if blob is not None:
            with self._lock:
                self.stats["render_hits"] += 1
            return blob
        content = self.contents(latent[None, :], user_id)[0]
        data = self.generator.render(content, media_type)
        self.store[key] = data
        return data

    def metadata(self, latent: np.ndarray, content: Any) -> dict[str, Any]:
        """The generator's metadata of `content`, the content of `latent` (latent_dim,): kept in
        memory for pool items (`decoded_items`), which many users are shown."""
        digest = self.digests(latent[None, :])[0]
        with self._lock:
            known = self._metadata.get(digest)
            if known is not None:
                self._metadata.move_to_end(digest)
                return dict(known)
        found = dict(self.generator.metadata(content))
        if self.decoded_items and digest in self.pool.rows:
            with self._lock:
                self._metadata[digest] = found
                while len(self._metadata) > self.decoded_items:
                    self._metadata.popitem(last=False)
            return dict(found)
        return found

    def _lookup(self, digest: str, user_id: str | None) -> Any:
        return self._lookup_many([digest], user_id)[0]

    def _lookup_many(self, digests: Sequence[str], user_id: str | None) -> list[Any]:
        """The cached content of each digest (None where there is none): decoded pool content
        from memory, the rest from the store in one read (and the user's pinned copies of what
        is still missing in a second)."""
        with self._lock:
            found: list[Any] = [self._decoded.get(digest) for digest in digests]
            for digest, content in zip(digests, found, strict=True):
                if content is not None:
                    self._decoded.move_to_end(digest)
        todo = [i for i, content in enumerate(found) if content is None]
        keys = [f"content:{digests[i]}" for i in todo]
        blobs = self.store.get_many(keys) if todo else []
        if user_id is not None and None in blobs:
            user = user_prefix(user_id)
            again = [j for j, blob in enumerate(blobs) if blob is None]
            pinned = self.store.get_many([f"{user}{keys[j]}" for j in again])
            for j, blob in zip(again, pinned, strict=True):
                blobs[j] = blob
        for i, blob in zip(todo, blobs, strict=True):
            if blob is not None:
                found[i] = self._remember(digests[i], decode(blob))
        return found

    def _remember(self, digest: str, content: Any) -> Any:
        """Keep decoded pool content in memory (read-only, as every user shares it); user
        content never, so that `forget_user` leaves no copy in any process."""
        if self.decoded_items and isinstance(content, np.ndarray) and digest in self.pool.rows:
            content.setflags(write=False)
            with self._lock:
                self._decoded[digest] = content
                while len(self._decoded) > self.decoded_items:
                    self._decoded.popitem(last=False)
        return content

    def _put(self, key: str, content: Any) -> bool:
        blob = _encoded(content)
        if blob is None:
            return False  # content the codec cannot hold is made again when needed
        self.store[key] = blob
        return True

    # ------------------------------------------------------------------ pools
    def pool_latents(self) -> np.ndarray:
        """(n_items, latent_dim) the pool's latents, with chunks written since the last call.

        Pools only grow at the end, so row i names the same latent in every later call.
        """
        return self.pool.refresh().latents

    def fresh_share(self, confidence: float) -> float:
        """Share of candidates made fresh: `fresh_start` for a new user, 1 for a sure model."""
        return self.fresh_start + (1.0 - self.fresh_start) * _clip(confidence)

    def shared_fraction(self, confidence: float) -> float:
        """Share of pool candidates taken from shared positives: `shared_share` for a new user,
        0 for a sure model."""
        return self.shared_share * (1.0 - _clip(confidence))


def _encoded(content: Any) -> bytes | None:
    """`content` as cache bytes, or None where the codec cannot hold it."""
    try:
        return encode(content)
    except InvalidInputError:
        return None


def _clip(confidence: float) -> float:
    return min(max(confidence, 0.0), 1.0)
