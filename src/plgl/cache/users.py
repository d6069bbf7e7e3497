"""What the content cache keeps about users and across them: each user's kept likes, the
content made for them, the pool rows they were served and their taste group; the anonymous like
counts that make pool items shared positives, for everyone and per taste group; forgetting a user.

A method group of `plgl.cache.content.ContentCache` (which inherits it), kept apart so that the
content file holds content and renders by digest. It declares the state it uses;
`ContentCache.__init__` sets it. The keys it writes are listed in `plgl.cache.content`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.cache._base import BaseCache
from plgl.cache.codec import decode_latents, encode_latents
from plgl.cache.groups import group_key
from plgl.cache.pool import CandidatePool
from plgl.generators import Generator
from plgl.records import Item

_LIKES = ("like", "superlike")
_MAX_GROUPED = 100_000  # users whose taste group is remembered


class UserData:
    """Kept likes, shared positives, taste groups and served rows, by user; forgetting one."""

    generator: Generator
    config: str  # digest of the generator's config()
    pool: CandidatePool
    store: BaseCache
    min_shared_likes: int
    keep_best: int
    _lock: threading.RLock
    _seen: dict[str, tuple[int, str, set[str]]]  # user key -> (served read, last id, digests)
    _shared: dict[str, tuple[list[int], int]]  # scope -> (rows, slots read)
    _groups: OrderedDict[str, str]  # user key -> taste group

    if TYPE_CHECKING:  # the content cache's own (`plgl.cache.content.ContentCache`)

        def digests(self, latents: np.ndarray) -> list[str]: ...

        def _lookup(self, digest: str, user_id: str | None) -> Any: ...

        def _put(self, key: str, content: Any) -> bool: ...

    # ------------------------------------------------------------------ users
    def note_feedback(self, user_id: str, latent: np.ndarray, signal: str) -> None:
        """Keep a liked item for its user; count a like of a pool item, anonymously."""
        if signal not in _LIKES or self.is_forgotten(user_id):
            return
        user = user_prefix(user_id)
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
        user = user_prefix(user_id)
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
        keys = sorted(self.store.scan(f"{user_prefix(user_id)}kept:"))
        blobs = [self.store.get(key) for key in keys]
        rows = [decode_latents(blob[64:]) for blob in blobs if blob is not None]
        return np.vstack(rows) if rows else np.empty((0, self.generator.latent_dim))

    def forget_user(self, user_id: str) -> None:
        """Remove everything the cache holds about a user, for good."""
        user = user_prefix(user_id)
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
            self._seen.pop(user_prefix(user_id), None)
            self._groups.pop(user_prefix(user_id), None)

    def is_forgotten(self, user_id: str) -> bool:
        """Whether `forget_user` removed this user."""
        return f"deleted:{_hash(user_id)}" in self.store

    def _note_made(self, user_id: str, digests: Sequence[str]) -> None:
        user = user_prefix(user_id)
        seq = self.store.increment(f"{user}made_seq")
        self.store[f"{user}made:{seq:012d}"] = ",".join(digests).encode()

    # --------------------------------------- shared positives and served rows
    def shared_rows(self, user_id: str | None = None) -> np.ndarray:
        """Pool rows that at least `min_shared_likes` users liked, in the order they got there;
        for a user in a taste group (`join`), the group's liked rows come first."""
        with self._lock:
            group = None if user_id is None else self._groups.get(user_prefix(user_id))
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
            group = self._groups.get(user_prefix(user_id))
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

    def served_rows(self, user_id: str, served: Sequence[Item]) -> np.ndarray:
        """(k,) int pool rows among the items `served` to the user (never to be shown again).

        `served` is every item the user was shown, oldest first; the cache remembers how far it
        read, so each call hashes only the items served since the last one (all of them again
        when older items expired from the list: the rows seen before stay excluded).
        """
        user = user_prefix(user_id)
        with self._lock:
            done, last, digests = self._seen.get(user, (0, "", set()))
            if done > len(served) or (done and served[done - 1].id != last):
                done = 0  # items expired from the front: the list shifted
            if len(served) > done:
                latents = np.array([item.latent for item in served[done:]])
                digests |= set(self.digests(latents))
            self._seen[user] = (len(served), served[-1].id if served else "", digests)
            return np.array([self.pool.rows[d] for d in digests if d in self.pool.rows], dtype=int)


def _group_scope(config: str, group: str) -> str:
    """The key scope of a taste group's counts (never a config digest, which has no colon)."""
    return f"{config}:group:{group}"


def user_prefix(user_id: str) -> str:
    """The key prefix of a user's entries."""
    return f"user:{_hash(user_id)}:"


def _hash(user_id: str) -> str:
    """A user id in keys: hashed, so that no id can match another's prefix and keys do not
    spell out who the user is."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:32]
