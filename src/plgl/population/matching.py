"""Private preference matching: released per-user reports, pseudonymous answers.

Each opted-in user's report is released once per refresh by a `MatchRelease`
(`plgl.population.match_release`) and turned there, by post-processing only, into a vector in the
released taste subspace whose inner product with a taste direction estimates their similarity.
A query ranks the others by that inner product with the asker's own direction and answers with
a pseudonymous handle (an HMAC of the user id under the engine's secret, computed once when the
index is built) and a similarity bucket, never the report, the ratings or the items. Equal
scores are ordered by a random permutation seeded per asker, so answers are stable for one asker
and no user is always first among equals. Excluding a user (opt-out, deletion) removes them from
every later answer at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import numpy as np

from plgl.population.records import Match

BUCKETS = ((0.8, "very similar"), (0.5, "similar"), (0.2, "somewhat similar"))
_DIGITS = 12  # scores are rounded so that equal reports tie exactly whatever the BLAS order


def handle(secret: bytes, user_id: str) -> str:
    """The pseudonymous handle of `user_id`: stable under one secret, unlinkable without it.

    >>> handle(b"k", "alice") == handle(b"k", "alice") != handle(b"other", "alice")
    True
    """
    return hmac.new(secret, user_id.encode(), hashlib.sha256).hexdigest()[:16]


def bucket(similarity: float) -> str:
    """The coarse similarity bucket of an estimated cosine.

    >>> bucket(0.9), bucket(0.3), bucket(-0.5)
    ('very similar', 'somewhat similar', 'different')
    """
    for level, name in BUCKETS:
        if similarity >= level:
            return name
    return "different"


class MatchIndex:
    """Released match vectors of opted-in users, by user id, with their handles.

    Args:
        secret: the engine's secret for the handles.
        subspace: (d, r) orthonormal columns the vectors live in.

    >>> index = MatchIndex(b"k", np.eye(2))
    >>> index.extend(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]]))
    >>> [(who, m.similarity) for who, m in index.ranked("a", np.array([1.0, 0.0]))]
    [('c', 'very similar'), ('b', 'different')]
    >>> index.exclude("c"); index.ids
    ['a', 'b']
    """

    def __init__(self, secret: bytes, subspace: np.ndarray) -> None:
        self._secret = secret
        self.subspace = subspace
        self._ids: list[str] = []
        self._handles: list[str] = []
        self._position: dict[str, int] = {}
        self._live = np.zeros(0, dtype=bool)
        self._vectors = np.zeros((0, subspace.shape[1]))

    @property
    def ids(self) -> list[str]:
        """The opted-in user ids still listed, in the order of `vectors`."""
        return [self._ids[i] for i in np.flatnonzero(self._live)]

    @property
    def vectors(self) -> np.ndarray:
        """(n, r) their released vectors."""
        return self._vectors[self._live]

    @property
    def rank(self) -> int:
        """r, the dimension of the vectors."""
        return int(self.subspace.shape[1])

    def __len__(self) -> int:
        return int(self._live.sum())

    def __contains__(self, user_id: object) -> bool:
        i = self._position.get(user_id) if isinstance(user_id, str) else None
        return i is not None and bool(self._live[i])

    def extend(self, user_ids: list[str], released: np.ndarray) -> None:
        """Add users with their released vectors (n, r); their handles are computed here, once."""
        start = len(self._ids)
        self._ids += user_ids
        self._handles += [handle(self._secret, user_id) for user_id in user_ids]
        self._position.update((user_id, start + i) for i, user_id in enumerate(user_ids))
        self._live = np.concatenate([self._live, np.ones(len(user_ids), dtype=bool)])
        self._vectors = np.vstack([self._vectors, released])

    def exclude(self, user_id: str) -> None:
        """Remove `user_id` from every later answer (opt-out, deletion); no-op when absent."""
        i = self._position.get(user_id)
        if i is not None:
            self._live[i] = False

    def ranked(self, user_id: str, taste: np.ndarray) -> Iterator[tuple[str, Match]]:
        """The others, best match for `taste` (d,) (the asker's own taste) first, lazily: (user
        id, match). The user id is for the caller's own checks (still opted in?), never to show.
        """
        norm = float(np.linalg.norm(taste))
        live = np.flatnonzero(self._live)
        if norm == 0.0 or len(live) == 0:
            return
        scores = np.round(self._vectors[live] @ (self.subspace.T @ (taste / norm)), _DIGITS)
        order = np.lexsort((self._ties(user_id).permutation(len(live)), -scores))
        for j in order:
            i = int(live[j])
            if self._ids[i] != user_id:
                yield self._ids[i], Match(self._handles[i], bucket(float(scores[j])))  # type: ignore[arg-type]

    def query(self, user_id: str, taste: np.ndarray, k: int) -> list[Match]:
        """The `k` others whose released vectors best match `taste` (d,), the asker's own taste."""
        out: list[Match] = []
        for _, match in self.ranked(user_id, taste):
            out.append(match)
            if len(out) == k:
                break
        return out

    def _ties(self, user_id: str) -> np.random.Generator:
        """The asker's own stream for ordering equal scores (keyed: not guessable by others)."""
        digest = hmac.new(self._secret, b"ties:" + user_id.encode(), hashlib.sha256).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "big"))
