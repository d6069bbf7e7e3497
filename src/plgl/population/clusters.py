"""Taste clusters by differentially private k-means in the released taste subspace.

Users' unit taste directions are projected onto the subspace the prior released (r columns, so
|y| <= 1). Lloyd's iterations then run with every step's per-cluster sums (count, sum of y)
released through the Gaussian mechanism: a user falls in one cluster, so one user moves the
released vector by at most 1 in L2, and the steps compose (rho adds up). Assignments are never
released, only the noisy sums; the centroids are post-processing of them (Blum et al. 2005).

Every step costs budget, so with noise the steps are few (`STEPS`: two; the error grows with
their number, Su et al. 2016) and the starts many: one user still falls in one cluster whatever
their number, so more starting centroids add no noise per sum. They lie one standard deviation
from the mean along each released principal direction and along the diagonals of every pair of
them (public values only), so that most clusters have a start near them and one step from it is
enough; starts whose noisy size is too small are dropped. Without noise the steps are free:
`FREE_STEPS` of them from the mean and the axes' starts let the centroids settle.

After every step, two centroids closer than 2.2 within-cluster standard deviations (per
direction; the released total variance minus what the centroids explain) merge, their squared
distance first de-biased for the DP noise on both (which adds each one's noise variance): the
halves of one cluster split in two lie about 1.6 such deviations apart. The threshold errs
towards keeping clusters apart (a wrongly merged pair costs more adjusted Rand index, and a
wider mixture component, than a wrongly split one)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

WEIGHTS = (0.6, 0.8)  # (count, sum of y): squares sum to 1
STEPS = (0.5, 0.5)  # each Lloyd step's share of the clusters' budget (they sum to 1)
# Without noise: steps from at most FREE_STARTS starts on the mean and the axes (the diagonals'
# starts would leave settled clusters in pieces).
FREE_STEPS = 6
FREE_STARTS = 12
MOST_STARTS = 64  # starting centroids at most (the assignment costs n * starts * r)

Release = Callable[[np.ndarray, int], np.ndarray]
"""Releases a vector with sensitivity 1 (adds the noise of Lloyd step `step`, counted from 0;
identity: no noise)."""


def initial_centers(
    mean: np.ndarray, spread: np.ndarray, most: int = MOST_STARTS, diagonals: bool = True
) -> np.ndarray:
    """(k, r) starting centroids from released statistics only: the mean; the mean +- each
    direction's spread, most spread first; then (`diagonals`) the mean +- the spreads of two
    directions along each diagonal of their plane (at the same distance from the mean), most
    spread pairs first; at most `most`.

    >>> initial_centers(np.array([0.5, 0.0, 0.0]), np.array([0.0, 0.3, 0.1]), 3).tolist()
    [[0.5, 0.0, 0.0], [0.5, 0.3, 0.0], [0.5, -0.3, 0.0]]
    >>> initial_centers(np.zeros(2), np.array([0.2, 0.1])).shape
    (9, 2)
    """
    order = [int(j) for j in np.argsort(spread)[::-1] if spread[j] > 0]
    axes = np.eye(len(mean)) * spread[:, None]  # row j: direction j scaled by its spread
    centers = [mean] + [mean + sign * axes[j] for j in order for sign in (1.0, -1.0)]
    pairs = sorted(
        ((a, b) for i, a in enumerate(order) for b in order[i + 1 :] if diagonals),
        key=lambda pair: -spread[pair[0]] * spread[pair[1]],
    )
    for a, b in pairs:
        for sa, sb in ((1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)):
            centers.append(mean + (sa * axes[a] + sb * axes[b]) / np.sqrt(2.0))
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
    noise: Sequence[float],
    variance: float,
    least: float = 0.0,
    merge: float = 2.2,
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's iterations on y (n, r) from `centers` (k, r), every step's sums released.

    Args:
        y: (n, r) projected unit taste directions (|y| <= 1).
        centers: (k, r) starting centroids (from released statistics only).
        release: adds step `step`'s noise to the (k * (r + 1),) weighted (count, sum) blocks.
        noise: (steps,) the noise scale of each step's release (0: none); their number is the
            number of steps.
        variance: total variance of y over the users (released: the trace of the directions'
            covariance in the subspace); what the centroids do not explain is spread within.
        least: clusters with a smaller noisy size are dropped, and so are those whose noisy
            size is not 4 noise deviations clear of zero (after the first step, only those
            under a third of that: a start between two clusters must be able to move to one
            before it is judged).
        merge: after every step, two centroids closer than `merge` within-cluster standard
            deviations (per direction, their DP noise discounted) become one.

    Returns:
        centroids (k', r) and noisy sizes (k',), largest first.
    """
    r = y.shape[1]
    sizes = np.zeros(len(centers))
    a, b = WEIGHTS
    for step, scale in enumerate(noise):
        labels = assign(y, centers)
        k = len(centers)
        counts = np.bincount(labels, minlength=k).astype(float)
        sums = np.zeros((k, r))
        np.add.at(sums, labels, y)
        exact = np.column_stack([a * counts, b * sums]).ravel()
        noisy = release(exact, step).reshape(k, r + 1)
        sizes = noisy[:, 0] / a
        min_size = max(least, 4.0 * scale / a)
        keep = sizes >= (min_size / 3 if step == 0 else min_size)
        if not np.any(keep):
            keep = sizes == sizes.max()
        sizes, noisy = sizes[keep], noisy[keep]
        centers = noisy[:, 1:] / b / sizes[:, None]
        # Each centroid's DP error per coordinate: the noise over its noisy sum weight.
        errors = (scale / (b * sizes)) ** 2
        centers, sizes = _merge(centers, sizes, errors, variance, merge)
    order = np.argsort(sizes)[::-1]
    return centers[order], sizes[order]


def _merge(
    centers: np.ndarray, sizes: np.ndarray, errors: np.ndarray, variance: float, merge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of centroids (k, r) while they are closer than `merge` times the
    within-cluster standard deviation per direction, sqrt((variance - between) / r), where
    `between` is the variance the centroids explain (sizes (k,) weigh them). Both distances and
    `between` are de-biased for the centroids' noise (errors (k,): its variance per
    coordinate)."""
    centers, sizes, errors = centers.copy(), sizes.copy(), errors.copy()
    r = centers.shape[1]
    while len(centers) > 1:
        weights = sizes / sizes.sum()
        middle = weights @ centers
        between = float(weights @ ((centers - middle) ** 2).sum(axis=1)) - r * weights @ errors
        within = np.sqrt(max(variance - max(between, 0.0), 1e-6 * variance, 1e-12) / r)
        gaps = ((centers[:, None] - centers[None]) ** 2).sum(axis=2)
        gaps -= r * (errors[:, None] + errors[None, :])
        np.fill_diagonal(gaps, np.inf)
        i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
        if gaps[i, j] >= (merge * within) ** 2:
            break
        total = sizes[i] + sizes[j]
        centers[i] = (sizes[i] * centers[i] + sizes[j] * centers[j]) / total
        errors[i] = (sizes[i] ** 2 * errors[i] + sizes[j] ** 2 * errors[j]) / total**2
        sizes[i] = total
        centers, sizes = np.delete(centers, j, axis=0), np.delete(sizes, j)
        errors = np.delete(errors, j)
    return centers, sizes
