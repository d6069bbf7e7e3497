"""Taste clusters by differentially private k-means in the released taste subspace.

Users' unit taste directions are projected onto the subspace the prior released (r columns, so
|y| <= 1). Lloyd's iterations then run with every step's per-cluster sums (count, sum of y)
released through the Gaussian mechanism: a user falls in one cluster, so one user moves the
released vector by at most 1 in L2, and the steps compose (rho adds up). Assignments are never
released, only the noisy sums; the centroids are post-processing of them. The number of clusters
is chosen by the data: Lloyd starts from more centroids than needed, placed along the released
principal directions (no private data), drops clusters whose noisy size is too small and, once
the centroids have settled, merges two closer than 2.2 within-cluster standard deviations (per
direction; the released total variance minus what the centroids explain): the halves of one
cluster split in two lie about 1.6 such deviations apart. The threshold errs towards keeping
clusters apart (distinct clusters seen at eps = 1 lie 3.7 or more apart; a wrongly merged pair
costs more adjusted Rand index than a wrongly split one)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

WEIGHTS = (0.6, 0.8)  # (count, sum of y): squares sum to 1
ITERATIONS = 6
MERGE_AT = (4,)  # the Lloyd steps after which close centroids merge (once they have settled)

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
    y: np.ndarray,
    centers: np.ndarray,
    release: Release,
    min_size: float,
    variance: float,
    merge: float = 2.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's iterations on y (n, r) from `centers` (k, r), every step's sums released.

    Args:
        y: (n, r) projected unit taste directions (|y| <= 1).
        centers: (k, r) starting centroids (from released statistics only).
        release: adds one step's noise to the (k * (r + 1),) weighted (count, sum) blocks.
        min_size: clusters with a smaller noisy size are dropped (after the first step, only
            those under a third of it: a centroid that starts between two clusters must be
            able to move to one before it is judged).
        variance: total variance of y over the users (released: the trace of the directions'
            covariance in the subspace); what the centroids do not explain is spread within.
        merge: two centroids closer than `merge` within-cluster standard deviations (per
            direction) become one.

    Returns:
        centroids (k', r) and noisy sizes (k',), largest first.
    """
    r = y.shape[1]
    sizes = np.zeros(len(centers))
    a, b = WEIGHTS
    for step in range(ITERATIONS):
        labels = assign(y, centers)
        k = len(centers)
        counts = np.bincount(labels, minlength=k).astype(float)
        sums = np.zeros((k, r))
        np.add.at(sums, labels, y)
        noisy = release(np.column_stack([a * counts, b * sums]).ravel()).reshape(k, r + 1)
        sizes = noisy[:, 0] / a
        keep = sizes >= (min_size / 3 if step == 0 else min_size)
        if not np.any(keep):
            keep = sizes == sizes.max()
        sizes, noisy = sizes[keep], noisy[keep]
        centers = noisy[:, 1:] / b / sizes[:, None]
        if step + 1 in MERGE_AT:
            centers, sizes = _merge(centers, sizes, variance, merge)
    order = np.argsort(sizes)[::-1]
    return centers[order], sizes[order]


def _merge(
    centers: np.ndarray, sizes: np.ndarray, variance: float, merge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of centroids (k, r) while they are closer than `merge` times the
    within-cluster standard deviation per direction, sqrt((variance - between) / r), where
    `between` is the variance the centroids explain (sizes (k,) weigh them)."""
    centers, sizes = centers.copy(), sizes.copy()
    r = centers.shape[1]
    while len(centers) > 1:
        weights = sizes / sizes.sum()
        middle = weights @ centers
        between = float(weights @ ((centers - middle) ** 2).sum(axis=1))
        within = np.sqrt(max(variance - between, 1e-6 * variance, 1e-12) / r)
        gaps = np.linalg.norm(centers[:, None] - centers[None], axis=2)
        np.fill_diagonal(gaps, np.inf)
        i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
        if gaps[i, j] >= merge * within:
            break
        total = sizes[i] + sizes[j]
        centers[i] = (sizes[i] * centers[i] + sizes[j] * centers[j]) / total
        sizes[i] = total
        centers, sizes = np.delete(centers, j, axis=0), np.delete(sizes, j)
    return centers, sizes
