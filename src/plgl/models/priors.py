"""Gaussian priors over a taste: the weights of a linear preference model over latents.

A prior says which tastes are plausible before any rating: a population's average taste, the
directions in which a generator's content changes most, a context's profile. All of them enter
`LinearPreference` through one parameter, `prior=GaussianPrior(mean, covariance)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import InvalidInputError

if TYPE_CHECKING:
    from plgl.generators import Generator

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

    def __deepcopy__(self, memo: dict[int, Any]) -> GaussianPrior:
        """Itself: a prior is immutable, so the models copied from one (each session's is a
        deep copy of the engine's) share its arrays instead of holding their own."""
        return self

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

    def with_intercept(self, variance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The prior over (weights, intercept), the intercept independent with `variance`: mean
        (d + 1,), covariance and precision (d + 1, d + 1); read-only and computed once per
        variance, so that every model started from this prior shares them."""
        known: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]
        known = self.__dict__.setdefault("_with_intercept", {})
        if variance not in known:
            d = self.dim
            cov = np.zeros((d + 1, d + 1))
            cov[:d, :d] = self.covariance
            cov[d, d] = variance
            precision = np.zeros((d + 1, d + 1))
            precision[:d, :d] = self.precision()
            precision[d, d] = 1.0 / variance
            parts = (np.append(self.mean, 0.0), cov, 0.5 * (precision + precision.T))
            for array in parts:
                array.setflags(write=False)
            known[variance] = parts
        return known[variance]

    def precision(self) -> np.ndarray:
        """(d, d) the inverse covariance, read-only (computed once: every session's model
        starts from it)."""
        cached = self.__dict__.get("_precision")
        if cached is None:
            cached = np.asarray(np.linalg.inv(self.covariance))
            cached.setflags(write=False)
            object.__setattr__(self, "_precision", cached)
        return cached


__all__ = ["GaussianPrior"]


def prior_covariance(metric: np.ndarray, scale: float = 4.0, floor: float = 0.1) -> np.ndarray:
    """(d, d) prior covariance of a taste vector shaped by a metric (d, d).

    Sigma = scale^2 * ((1 - floor) * G / tr(G) + floor * I / d): the trace is scale^2, so
    E[(w . z)^2] = tr(Sigma) = scale^2 for z ~ N(0, I), as with the isotropic prior of
    standard deviation scale / sqrt(d) (the prior log-odds of a random latent keep standard
    deviation `scale`: the prior is as decisive as before, only its shape changes). `floor`
    keeps a share of isotropic mass so that a direction the metric deems invisible is unlikely,
    not impossible.

    >>> cov = prior_covariance(np.diag([3.0, 1.0]), scale=2.0, floor=0.0)
    >>> cov.round(2).tolist(), float(np.trace(cov))
    ([[3.0, 0.0], [0.0, 1.0]], 4.0)
    """
    metric = np.asarray(metric, dtype=np.float64)
    if metric.ndim != 2 or metric.shape[0] != metric.shape[1] or not np.all(np.isfinite(metric)):
        raise InvalidInputError(f"metric must be a finite square matrix, got {metric.shape}")
    if not (np.isfinite(scale) and scale > 0 and 0.0 <= floor <= 1.0):
        raise InvalidInputError(f"need scale > 0 and floor in [0, 1], got {scale}, {floor}")
    d = metric.shape[0]
    symmetric = 0.5 * (metric + metric.T)
    trace = float(np.trace(symmetric))
    if trace <= 0.0:
        raise InvalidInputError("metric has no positive trace: the content never changes")
    shape = (1.0 - floor) * symmetric / trace + floor * np.eye(d) / d
    return np.asarray(scale**2 * shape)


def geometry_prior(
    generator: Generator,
    scale: float = 4.0,
    floor: float = 0.1,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    compute: bool = True,
) -> GaussianPrior:
    """The `GaussianPrior` over taste weights for `generator`: zero mean, covariance
    `prior_covariance(generator_metric(generator), scale, floor)`
    (`plgl.generators.geometry`); isotropic (standard
    deviation scale / sqrt(d), today's default) for a generator without a perceptual map, or
    with `compute` False while its metric is neither shipped nor cached (`generator_metric`).

    Pass it to the linear model: `LinearPreference(prior=geometry_prior(generator))`.
    """
    from plgl.generators.geometry import generator_metric  # torch: only when asked

    d = generator.latent_dim
    metric = generator_metric(generator, cache_dir, compute=compute)
    if metric is None:
        return GaussianPrior.isotropic(d, scale / np.sqrt(d))
    return GaussianPrior(np.zeros(d), prior_covariance(metric, scale, floor))
