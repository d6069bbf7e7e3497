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
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from plgl.cache._base import BaseCache
from plgl.cache.codec import decode, decode_latents, encode, encode_latents
from plgl.cache.groups import group_key
from plgl.cache.pool import CandidatePool, content_digest
from plgl.cache.urls import from_url
from plgl.errors import InvalidInputError
from plgl.generators import Generator, config_digest
from plgl.records import Item

_LIKES = ("like", "superlike")


class ContentCache:
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
            user = _user(user_id)
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

    # ------------------------------------------------------------------ users
    def note_feedback(self, user_id: str, latent: np.ndarray, signal: str) -> None:
        """Keep a liked item for its user; count a like of a pool item, anonymously."""
        if signal not in _LIKES or self.is_forgotten(user_id):
            return
        user = _user(user_id)
        digest = self.digests(latent[None, :])[0]
        content = self._lookup(digest, user_id)
        if content is not None:  # pinned: kept when the evictable copy is gone
            self._put(f"{user}content:{digest}", content)
        seq = self.store.increment(f"{user}kept_seq")
        self.store[f"{user}kept:{seq:012d}"] = digest.encode() + encode_latents(latent[None])
        old = self.store.pop(f"{user}kept:{seq - self.keep_best:012d}", None)
        if old is not None and old[:64].decode() != digest:
            self.store.pop(f"{user}content:{old[:64].decode()}", None)
        # The per-user mark makes a user count once per item; the count itself names no one.
        # Pools only grow: a row loaded before needs no new read of the manifest.
        in_pool = digest in self.pool.rows or digest in self.pool.refresh().rows
        if in_pool and f"{user}liked:{digest}" not in self.store:
            self.store[f"{user}liked:{digest}"] = b"1"
            self._count_like(self.config, digest)
            with self._lock:
                group = self._groups.get(user)
            if group is not None:  # the group's count names no one either
                self._count_like(_group_scope(self.config, group), digest)

    def join(self, user_id: str, group: str | None) -> None:
        """Place the user in a taste group (a population's cluster; None: none): their likes
        of pool items count towards the group's shared positives too (`shared_rows`), and
        the rows pregenerated for the group are among their candidates (`group_rows`). Kept
        in memory, for the latest users."""
        user = _user(user_id)
        with self._lock:
            self._groups.pop(user, None)
            if group is not None:
                self._groups[user] = group
                while len(self._groups) > _MAX_GROUPED:
                    self._groups.popitem(last=False)

    def _count_like(self, scope: str, digest: str) -> None:
        if self.store.increment(f"likes:{scope}:{digest}") == self.min_shared_likes:
            slot = self.store.increment(f"shared:{scope}:count")
            self.store[f"shared:{scope}:{slot:08d}"] = digest.encode()

    def kept(self, user_id: str) -> np.ndarray:
        """(k, latent_dim) the user's latest liked latents, oldest first."""
        keys = sorted(self.store.scan(f"{_user(user_id)}kept:"))
        blobs = [self.store.get(key) for key in keys]
        rows = [decode_latents(blob[64:]) for blob in blobs if blob is not None]
        return np.vstack(rows) if rows else np.empty((0, self.generator.latent_dim))

    def forget_user(self, user_id: str) -> None:
        """Remove everything the cache holds about a user, for good."""
        user = _user(user_id)
        self.store[f"deleted:{_hash(user_id)}"] = b"1"  # first: a late like cannot slip back in
        for key in list(self.store.scan(f"{user}made:")):
            for digest in self.store.get(key, b"").decode().split(","):
                self.store.pop(f"content:{digest}", None)
                for media_type in self.generator.media_types:
                    self.store.pop(f"render:{digest}:{media_type}", None)
        self.store.delete_prefix(user)
        with self._lock:
            self._seen.pop(user, None)
            self._groups.pop(user, None)

    def release(self, user_id: str) -> None:
        """Drop what this object holds in memory about a user (which pool rows they were
        served, their taste group). Served rows are read again from the items storage still
        holds: rows of items that expired before the release may be offered again."""
        with self._lock:
            self._seen.pop(_user(user_id), None)
            self._groups.pop(_user(user_id), None)

    def is_forgotten(self, user_id: str) -> bool:
        """Whether `forget_user` removed this user."""
        return f"deleted:{_hash(user_id)}" in self.store

    def _note_made(self, user_id: str, digests: Sequence[str]) -> None:
        user = _user(user_id)
        seq = self.store.increment(f"{user}made_seq")
        self.store[f"{user}made:{seq:012d}"] = ",".join(digests).encode()

    # ------------------------------------------------------------------ pools
    def shared_rows(self, user_id: str | None = None) -> np.ndarray:
        """Pool rows that at least `min_shared_likes` users liked, in the order they got there;
        for a user in a taste group (`join`), the group's liked rows come first."""
        with self._lock:
            group = None if user_id is None else self._groups.get(_user(user_id))
        rows = self._liked_rows(self.config)
        if group is None:
            return rows
        ordered = np.concatenate([self._liked_rows(_group_scope(self.config, group)), rows])
        _, first = np.unique(ordered, return_index=True)  # each row once, where it came first
        return ordered[np.sort(first)].astype(int)

    def group_rows(self, user_id: str) -> np.ndarray:
        """(k,) pool rows pregenerated for the members of the user's taste group (`join`);
        empty when the user is in none or the group has no pool."""
        with self._lock:
            group = self._groups.get(_user(user_id))
        return np.empty(0, dtype=int) if group is None else self.group_pool_rows(group)

    def group_pool_rows(self, group: str) -> np.ndarray:
        """(k,) pool rows pregenerated for a taste group's members (`plgl.cache.groups`)."""
        blob = self.store.get(group_key(self.config, group))
        if blob is None:
            return np.empty(0, dtype=int)
        start, stop = json.loads(blob)["rows"]
        return np.arange(start, min(stop, len(self.pool.refresh())), dtype=int)

    def _liked_rows(self, scope: str) -> np.ndarray:
        count = int(self.store.get(f"shared:{scope}:count", b"0"))
        with self._lock:
            rows = self.pool.refresh().rows
            found, read = self._shared.get(scope, ([], 0))
            for slot in range(read + 1, count + 1):
                digest = self.store.get(f"shared:{scope}:{slot:08d}", b"").decode()
                if digest in rows:  # only pool items are counted, so only a torn write misses
                    found.append(rows[digest])
            self._shared[scope] = (found, max(read, count))
            return np.array(found, dtype=int)

    def pool_latents(self) -> np.ndarray:
        """(n_items, latent_dim) the pool's latents, with chunks written since the last call.

        Pools only grow at the end, so row i names the same latent in every later call.
        """
        return self.pool.refresh().latents

    def served_rows(self, user_id: str, served: Sequence[Item]) -> np.ndarray:
        """(k,) int pool rows among the items `served` to the user (never to be shown again).

        `served` is every item the user was shown, oldest first; the cache remembers how far it
        read, so each call hashes only the items served since the last one (all of them again
        when older items expired from the list: the rows seen before stay excluded).
        """
        user = _user(user_id)
        with self._lock:
            done, last, digests = self._seen.get(user, (0, "", set()))
            if done > len(served) or (done and served[done - 1].id != last):
                done = 0  # items expired from the front: the list shifted
            if len(served) > done:
                latents = np.array([item.latent for item in served[done:]])
                digests |= set(self.digests(latents))
            self._seen[user] = (len(served), served[-1].id if served else "", digests)
            return np.array([self.pool.rows[d] for d in digests if d in self.pool.rows], dtype=int)

    def fresh_share(self, confidence: float) -> float:
        """Share of candidates made fresh: `fresh_start` for a new user, 1 for a sure model."""
        return self.fresh_start + (1.0 - self.fresh_start) * _clip(confidence)

    def shared_fraction(self, confidence: float) -> float:
        """Share of pool candidates taken from shared positives: `shared_share` for a new user,
        0 for a sure model."""
        return self.shared_share * (1.0 - _clip(confidence))


_MAX_GROUPED = 100_000  # users whose taste group is remembered


def _encoded(content: Any) -> bytes | None:
    """`content` as cache bytes, or None where the codec cannot hold it."""
    try:
        return encode(content)
    except InvalidInputError:
        return None


def _group_scope(config: str, group: str) -> str:
    """The key scope of a taste group's counts (never a config digest, which has no colon)."""
    return f"{config}:group:{group}"


def _clip(confidence: float) -> float:
    return min(max(confidence, 0.0), 1.0)


def _user(user_id: str) -> str:
    """The key prefix of a user's entries."""
    return f"user:{_hash(user_id)}:"


def _hash(user_id: str) -> str:
    """A user id in keys: hashed, so that no id can match another's prefix and keys do not
    spell out who the user is."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]
