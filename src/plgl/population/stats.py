"""Clipped per-user contributions, summed over a stream of users in bounded memory.

Each user contributes their taste direction x = m / |m| (a unit vector, so clipping is exact), its
outer product, their posterior variance relative to |m|^2 (clipped to L2 norm 1) and their taste
norm |m| / B clipped to [0, 1]. Every part of a user's contribution has L2 norm <= 1, and each
part is multiplied by a fixed weight with sum of squares <= 1, so one user moves the weighted sum
by at most 1 in L2: the sensitivity the Gaussian mechanism is calibrated to.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from plgl.population.records import UserTaste

CHUNK = 1024  # users summed per matrix product: bounded memory, vectorised speed

# Weights of the parts of a user's contribution (sums of squares <= 1 per release).
COUNT_WEIGHTS = (0.8, 0.6)  # stage 1: (count, norm)
SHAPE_WEIGHTS = (0.4, 0.9, 0.17)  # stage 2: (direction, second moment, posterior variance)


def vech(matrix: np.ndarray) -> np.ndarray:
    """The upper triangle of a symmetric (d, d) matrix, off-diagonals times sqrt(2), so that
    |vech(A)|_2 = |A|_F (a unit vector's outer product has norm 1).

    >>> v = vech(np.outer([0.6, 0.8], [0.6, 0.8]))
    >>> v.round(3).tolist(), round(float(np.linalg.norm(v)), 6)
    ([0.36, 0.679, 0.64], 1.0)
    """
    d = matrix.shape[0]
    rows, cols = np.triu_indices(d)
    scale = np.where(rows == cols, 1.0, np.sqrt(2.0))
    return np.asarray(matrix[rows, cols] * scale)


def unvech(vector: np.ndarray, d: int) -> np.ndarray:
    """The symmetric (d, d) matrix of `vech`."""
    rows, cols = np.triu_indices(d)
    scale = np.where(rows == cols, 1.0, np.sqrt(2.0))
    out = np.zeros((d, d))
    out[rows, cols] = vector / scale
    out[cols, rows] = vector / scale
    return out


class Sums:
    """Exact sums of the clipped contributions of the users streamed through `add`.

    Args:
        d: taste dimension.
        norm_bound: B, the taste norm that counts as 1 (larger norms are clipped).
        basis: (d, d) orthonormal public basis of the diagonal kind.
    """

    def __init__(self, d: int, norm_bound: float, basis: np.ndarray) -> None:
        self.d = d
        self.norm_bound = norm_bound
        self.basis = basis
        self._axes = bool(np.array_equal(basis, np.eye(d)))  # the basis is the latent axes
        self.count = 0.0
        self.norm = 0.0
        self.direction = np.zeros(d)
        self.moment = np.zeros((d, d))
        self.variance = np.zeros(d)  # along the latent axes
        self.basis_variance = np.zeros(d)  # along the public basis

    def add(self, means: np.ndarray, covariances: np.ndarray) -> None:
        """Add users: means (n, d) with nonzero norm, posterior covariances (n, d, d) or (n, d)."""
        norms = np.linalg.norm(means, axis=1)
        x = means / norms[:, None]
        self.count += len(means)
        self.norm += float(np.minimum(norms / self.norm_bound, 1.0).sum())
        self.direction += x.sum(axis=0)
        self.moment += x.T @ x
        variance = _relative(_diagonals(covariances), norms).sum(axis=0)
        self.variance += variance
        if self._axes:
            self.basis_variance += variance
        else:
            diagonals = _diagonals(covariances, self.basis)
            self.basis_variance += _relative(diagonals, norms).sum(axis=0)

    def stage1(self) -> np.ndarray:
        """(2,) weighted (count, norm) sums."""
        return np.array([COUNT_WEIGHTS[0] * self.count, COUNT_WEIGHTS[1] * self.norm])

    def stage2(self, diagonal: bool) -> np.ndarray:
        """Weighted (direction, second moment, posterior variance) sums, concatenated: the full
        moment (as `vech`) and variance along the axes, or both along the public basis."""
        a, b, c = SHAPE_WEIGHTS
        if diagonal:
            moment = self.along(self.basis)
            variance = self.basis_variance
        else:
            moment, variance = vech(self.moment), self.variance
        return np.concatenate([a * self.direction, b * moment, c * variance])

    def along(self, basis: np.ndarray) -> np.ndarray:
        """(d,) sums of (basis^T x)^2 over the users, for an orthonormal basis (d, d): one
        user's part has L2 norm (sum_i (b_i . x)^4)^(1/2) <= sum_i (b_i . x)^2 = 1."""
        return np.asarray(np.einsum("ji,jk,ki->i", basis, self.moment, basis))


def _relative(diagonals: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """(n, d) posterior variances relative to |m|^2, each row clipped to L2 norm 1."""
    relative = diagonals / norms[:, None] ** 2
    return np.asarray(relative / np.maximum(np.linalg.norm(relative, axis=1), 1.0)[:, None])


def _diagonals(covariances: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """(n, d) diagonals of covariances (n, d, d) or (n, d) (diagonals), in `basis` if given."""
    if covariances.ndim == 2:
        if basis is None:
            return np.array(covariances, dtype=float)
        return np.asarray(covariances @ basis**2)
    if basis is None:
        return np.array(np.diagonal(covariances, axis1=1, axis2=2), dtype=float)
    return np.asarray(np.einsum("ji,njk,ki->ni", basis, covariances, basis))


def chunks(tastes: Iterable[UserTaste], d: int | None = None) -> Iterator[list[UserTaste]]:
    """Validated users in lists of at most CHUNK; users whose mean is zero (nothing learned) are
    skipped."""
    block: list[UserTaste] = []
    for taste in tastes:
        d = taste.check(d)
        if not np.any(taste.mean):
            continue
        block.append(taste)
        if len(block) == CHUNK:
            yield block
            block = []
    if block:
        yield block


def stack(block: list[UserTaste]) -> tuple[np.ndarray, np.ndarray]:
    """(n, d) means and (n, d, d) or (n, d) covariances of a block (diagonals when mixed)."""
    means = np.array([t.mean for t in block], dtype=float)
    covs = [np.asarray(t.covariance, dtype=float) for t in block]
    if all(c.ndim == 2 for c in covs):
        return means, np.array(covs)
    return means, np.array([np.diagonal(c) if c.ndim == 2 else c for c in covs])
