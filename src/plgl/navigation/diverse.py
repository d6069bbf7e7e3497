"""Pick a diverse subset: greedy farthest-point selection."""

from __future__ import annotations

import numpy as np


def farthest_points(latents: np.ndarray, k: int, first: int = 0) -> np.ndarray:
    """Indices of k rows of `latents` (n, d), each as far as possible from those already chosen.

    Starts from row `first` (the best, when rows are sorted by preference).

    >>> farthest_points(np.array([[0.0], [0.1], [5.0]]), 2).tolist()
    [0, 2]
    """
    n = len(latents)
    k = min(k, n)
    if k == 0:
        return np.empty(0, dtype=int)
    chosen = [first]
    nearest = np.linalg.norm(latents - latents[first], axis=1)
    for _ in range(k - 1):
        nearest[chosen] = -np.inf
        pick = int(np.argmax(nearest))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(latents - latents[pick], axis=1))
    return np.array(chosen)
