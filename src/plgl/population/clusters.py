"""Taste clusters by differentially private k-means in the released taste subspace.

Users' unit taste directions are projected onto the subspace the prior released (r columns, so
|y| <= 1). Lloyd's iterations then run with every step's per-cluster sums (count, sum of y, sum of
|y|^2) released through the Gaussian mechanism: a user falls in one cluster, so one user moves
the released vector by at most 1 in L2, and the steps compose (rho adds up). Assignments are
never released, only the noisy sums; the centroids are post-processing of them. The number of
clusters is chosen by the data: Lloyd starts from more centroids than needed, placed along the
released principal directions (no private data), drops clusters whose noisy size is too small and
merges two centroids when they lie closer than three times the spread along one direction of
the cluster they would make (the parts of a true cluster split in two or three lie about 1.6-2.7
such spreads apart; two clusters far apart, up to 2 sqrt(r)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WEIGHTS = (0.5, 0.7, 0.5)  # (count, sum of y, sum of |y|^2): squares sum to <= 1
ITERATIONS = 6
MERGE_AT = (2, 4)  # the Lloyd steps after which close centroids merge

Release = Callable[[np.ndarray], np.ndarray]
"""Releases a vector with sensitivity 1 (adds the noise of one Lloyd step; identity: no noise)."""


def initial_centers(mean: np.ndarray, spread: np.ndarray, most: int) -> np.ndarray:
    """(k, r) starting centroids: the mean, and the mean +- each direction's spread, for the
    most spread directions (from released statistics only).

    >>> initial_centers(np.array([0.5, 0.0, 0.0]), np.array([0.0, 0.3, 0.1]), 3).tolist()
    [[0.5, 0.0, 0.0], [0.5, 0.3, 0.0], [0.5, -0.3, 0.0]]
    """
    centers = [mean]
    for j in np.argsort(spread)[::-1]:
        if spread[j] <= 0:
            break
        for sign in (1.0, -1.0):
            centers.append(mean + sign * spread[j] * np.eye(len(mean))[j])
    return np.array(centers[:most])


def assign(y: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """(n,) index of the nearest centroid (k, r) of each row of y (n, r)."""
    distances = (
        (y**2).sum(axis=1)[:, None] - 2.0 * y @ centers.T + (centers**2).sum(axis=1)[None, :]
    )
    return np.asarray(np.argmin(distances, axis=1))


def dp_kmeans(
    y: np.ndarray, centers: np.ndarray, release: Release, min_size: float, merge: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's iterations on y (n, r) from `centers` (k, r), every step's sums released.

    Args:
        y: (n, r) projected unit taste directions (|y| <= 1).
        centers: (k, r) starting centroids (from released statistics only).
        release: adds one step's noise to the (k * (r + 2),) weighted sums.
        min_size: clusters with a smaller noisy size are dropped.
        merge: two centroids closer than `merge` times the spread along one direction of the
            cluster they would make become one.

    Returns:
        centroids (k', r) and noisy sizes (k',), largest first.
    """
    r = y.shape[1]
    sizes = np.zeros(len(centers))
    for step in range(ITERATIONS):
        labels = assign(y, centers)
        k = len(centers)
        counts = np.bincount(labels, minlength=k).astype(float)
        sums = np.zeros((k, r))
        np.add.at(sums, labels, y)
        squares = np.bincount(labels, weights=(y**2).sum(axis=1), minlength=k)
        a, b, c = WEIGHTS
        exact = np.column_stack([a * counts, b * sums, c * squares]).ravel()
        noisy = release(exact).reshape(k, r + 2)
        sizes = noisy[:, 0] / a
        keep = sizes >= min_size
        if not np.any(keep):
            keep = sizes == sizes.max()
        sizes, noisy = sizes[keep], noisy[keep]
        centers = noisy[:, 1 : r + 1] / b / sizes[:, None]
        if step + 1 in MERGE_AT:
            centers, sizes = _merge(centers, sizes, noisy[:, r + 1] / c / sizes, merge)
    order = np.argsort(sizes)[::-1]
    return centers[order], sizes[order]


def _merge(
    centers: np.ndarray, sizes: np.ndarray, second: np.ndarray, merge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of centroids (k, r) while they are closer than `merge` times the
    spread along one direction of the cluster they would make, sqrt((E|y|^2 - |c|^2) / r),
    computed from the sizes (k,) and mean squared norms `second` (k,)."""
    centers, sizes, second = centers.copy(), sizes.copy(), second.copy()
    r = centers.shape[1]
    while len(centers) > 1:
        total = sizes[:, None] + sizes[None]
        share = sizes[:, None] / total
        joint = share[..., None] * centers[:, None] + (1 - share[..., None]) * centers[None]
        joint_second = share * second[:, None] + (1 - share) * second[None]
        spread = np.sqrt(np.maximum(joint_second - (joint**2).sum(axis=2), 1e-12) / r)
        ratio = np.linalg.norm(centers[:, None] - centers[None], axis=2) / spread
        np.fill_diagonal(ratio, np.inf)
        i, j = np.unravel_index(np.argmin(ratio), ratio.shape)
        # Two clusters far apart reach 2 sqrt(r): in few dimensions, stay below that.
        if ratio[i, j] >= min(merge, 1.5 * np.sqrt(r)):
            break
        centers[i], second[i], sizes[i] = joint[i, j], joint_second[i, j], total[i, j]
        centers, sizes, second = (np.delete(a, j, axis=0) for a in (centers, sizes, second))
    return centers, sizes
