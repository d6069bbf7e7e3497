"""Gaussian priors over a taste: the weights of a linear preference model over latents.

A prior says which tastes are plausible before any rating: a population's average taste, the
directions in which a generator's content changes most, a context's profile. All of them enter
`LinearPreference` through one parameter, `prior=GaussianPrior(mean, covariance)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plgl.errors import InvalidInputError

_SYMMETRY_TOLERANCE = 1e-8  # relative asymmetry accepted as round-off


@dataclass(frozen=True, eq=False)
class GaussianPrior:
    """N(mean, covariance) over the d taste weights.

    Args:
        mean: (d,) the expected taste.
        covariance: (d, d) symmetric positive definite: how far and in which directions a
            taste may lie from the mean.

    >>> prior = GaussianPrior.isotropic(3, 0.5)
    >>> float(prior.covariance[0, 0]), prior.dim
    (0.25, 3)
    >>> GaussianPrior(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    Traceback (most recent call last):
    ...
    plgl.errors.InvalidInputError: prior covariance must be positive definite; ...
    """

    mean: np.ndarray
    covariance: np.ndarray

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float64)
        cov = np.array(self.covariance, dtype=np.float64)
        if mean.ndim != 1 or len(mean) == 0:
            raise InvalidInputError(f"prior mean must be a (d,) vector; got shape {mean.shape}")
        d = len(mean)
        if cov.shape != (d, d):
            raise InvalidInputError(
                f"prior covariance must be ({d}, {d}) to match the mean; got shape {cov.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
            raise InvalidInputError("prior mean and covariance must be finite")
        scale = max(float(np.abs(cov).max()), 1e-300)
        if float(np.abs(cov - cov.T).max()) > _SYMMETRY_TOLERANCE * scale:
            raise InvalidInputError("prior covariance must be symmetric")
        cov = 0.5 * (cov + cov.T)
        try:
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            smallest = float(np.linalg.eigvalsh(cov)[0])
            raise InvalidInputError(
                f"prior covariance must be positive definite; its smallest eigenvalue is "
                f"{smallest:.3g}"
            ) from None
        mean.setflags(write=False)
        cov.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "covariance", cov)

    @classmethod
    def isotropic(cls, d: int, scale: float) -> GaussianPrior:
        """N(0, scale^2 I_d): every direction of taste equally plausible."""
        if not (isinstance(d, int) and d > 0):
            raise InvalidInputError(f"d must be a positive integer; got {d!r}")
        if not (np.isfinite(scale) and scale > 0):
            raise InvalidInputError(f"scale must be a positive number; got {scale!r}")
        return cls(np.zeros(d), np.eye(d) * float(scale) ** 2)

    @property
    def dim(self) -> int:
        """d, the number of taste weights."""
        return len(self.mean)

    def widened(self, factor: float) -> GaussianPrior:
        """The same prior with its covariance multiplied by `factor` (> 0): less decisive when
        > 1, more when < 1; the mean is kept."""
        if not (np.isfinite(factor) and factor > 0):
            raise InvalidInputError(f"factor must be a positive number; got {factor!r}")
        return GaussianPrior(self.mean, self.covariance * float(factor))

    def precision(self) -> np.ndarray:
        """(d, d) the inverse covariance."""
        return np.asarray(np.linalg.inv(self.covariance))


__all__ = ["GaussianPrior"]
