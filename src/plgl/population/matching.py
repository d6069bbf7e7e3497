"""Private preference matching: opted-in users' noisy taste vectors, pseudonymous answers.

Each opted-in user's unit taste direction, projected onto the released taste subspace, is
released once per refresh through the Gaussian mechanism (one user's data moves it by at most 2
in L2, the distance between two unit vectors), so everything a match reveals about them is
post-processing of that noisy vector. A query ranks the others by the inner product of the
asker's own direction with their noisy vectors (an unbiased estimate of the cosine) and answers
with a pseudonymous handle (an HMAC of the user id under the engine's secret) and a similarity
bucket, never the vector, the ratings or the items. Excluding a user (opt-out, deletion) removes
their vector from the index at once.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

from plgl.population.records import Match

SENSITIVITY = 2.0
BUCKETS = ((0.8, "very similar"), (0.5, "similar"), (0.2, "somewhat similar"))


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
    """Noisy taste vectors of opted-in users, by user id.

    Args:
        secret: the engine's secret for the handles.
        subspace: (d, r) orthonormal columns the vectors live in.
    """

    def __init__(self, secret: bytes, subspace: np.ndarray) -> None:
        self._secret = secret
        self.subspace = subspace
        self._ids: list[str] = []
        self._vectors = np.zeros((0, subspace.shape[1]))

    @property
    def ids(self) -> list[str]:
        """The opted-in user ids, in the order of `vectors`."""
        return list(self._ids)

    @property
    def vectors(self) -> np.ndarray:
        """(n, r) their released noisy vectors."""
        return self._vectors.copy()

    @property
    def rank(self) -> int:
        """r, the dimension of the vectors."""
        return int(self.subspace.shape[1])

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._ids

    def extend(self, user_ids: list[str], noisy: np.ndarray) -> None:
        """Add users with their released noisy vectors (n, r)."""
        self._ids += user_ids
        self._vectors = np.vstack([self._vectors, noisy])

    def exclude(self, user_id: str) -> None:
        """Remove `user_id` from every later answer (opt-out, deletion); no-op when absent."""
        if user_id in self._ids:
            i = self._ids.index(user_id)
            del self._ids[i]
            self._vectors = np.delete(self._vectors, i, axis=0)

    def query(self, user_id: str, taste: np.ndarray, k: int) -> list[Match]:
        """The `k` others whose noisy vectors best match `taste` (d,), the asker's own taste."""
        norm = float(np.linalg.norm(taste))
        if norm == 0.0 or not self._ids:
            return []
        scores = self._vectors @ (self.subspace.T @ (taste / norm))
        order = np.argsort(scores)[::-1]
        out: list[Match] = []
        for i in order:
            if self._ids[i] == user_id:
                continue
            out.append(Match(handle(self._secret, self._ids[i]), bucket(float(scores[i]))))  # type: ignore[arg-type]
            if len(out) == k:
                break
        return out
