"""The trust region of grounded recommendations (`plgl.navigation.grounded`): how far from the
user's rated items a new latent may go, the candidates within that reach, and the bound that
ranks them.

The region is a ball, in latent units, around rated items (the anchors) whose radius
(`trust_radius`) widens as the model's confidence grows; its candidates (`trust_candidates`) are
shell latents stepped out from the anchors along posterior draws of the taste direction and
toward the closed-form top of the shell. A candidate z is ranked by a lower confidence bound on
its improvement over the favourite f (`improvement_bound`):

    LCB(z) = E[s(z) - s(f)] - kappa * sd[s(z) - s(f)],   s(x) = theta . (x, 1),

with theta ~ N(mean, covariance) the posterior. Its uncertainty grows with the distance from f
along directions the evidence has not pinned down, so the bound is itself a trust region. The
scheme is the trust-region Bayesian optimisation of Eriksson et al. (TuRBO, NeurIPS 2019) with
the lower-confidence-bound ranking of Srinivas et al. (GP-UCB, ICML 2010) turned pessimistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models import OnlinePreferenceModel

KAPPA = 1.0
"""Standard deviations of the improvement that the posterior must clear."""
_STEPS = 8  # radii per direction, out to the trust radius
_DIRECTIONS = 12  # posterior draws of the taste direction per anchor (plus the mean)


def trust_radius(d: int, confidence: float) -> float:
    """How far (latent units) from a rated item a recommendation may go: a quarter of the
    shell's radius sqrt(d) for a model that knows nothing, its diameter once it is sure.

    >>> trust_radius(100, 0.0), trust_radius(100, 1.0)
    (2.5, 20.0)
    """
    return math.sqrt(d) * (0.25 + 1.75 * min(max(confidence, 0.0), 1.0))


def improvement_bound(
    model: Any, latents: np.ndarray, favourite: np.ndarray, kappa: float = KAPPA
) -> np.ndarray:
    """(n,) lower confidence bound on s(z) - s(favourite) for latents (n, d) under the model's
    posterior (see the module docstring); positive where a latent is confidently better."""
    latents = np.atleast_2d(np.asarray(latents, dtype=np.float64))
    favourite = np.asarray(favourite, dtype=np.float64)
    weights, cov = _posterior(model)
    return _improvement_bound(latents, favourite, weights, cov, kappa)


def trust_candidates(
    model: Any, anchors: np.ndarray, generator: Any, rng: np.random.Generator, radius: float
) -> np.ndarray:
    """(m, d) shell latents within `radius` of the anchors (k, d): the candidates that
    `grounded_best` ranks (steps along the posterior's taste directions and toward their shell
    tops), for a caller that ranks them by another judge."""
    weights, cov = _posterior(model)
    anchors = np.atleast_2d(np.asarray(anchors, dtype=np.float64))
    if anchors.ndim != 2 or anchors.shape[1] != len(weights) or not len(anchors):
        raise InvalidInputError(f"anchors must be (k >= 1, {len(weights)}), got {anchors.shape}")
    if not (math.isfinite(radius) and radius > 0):
        raise InvalidInputError(f"radius must be > 0, got {radius}")
    return _candidates(anchors, weights, cov, generator, rng, radius)


def _posterior(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """(d,) mean and (d, d) covariance of a linear model's taste weights."""
    if not isinstance(model, OnlinePreferenceModel):
        raise InvalidInputError("grounded recommendations need an OnlinePreferenceModel")
    try:
        cov = model.weight_covariance()
        weights = np.asarray(model.coef_, dtype=np.float64)
    except (AttributeError, ValueError) as error:  # sklearn's NotFittedError is both
        raise InvalidInputError(f"the model is neither fitted nor started: {error}") from None
    if cov is None:
        raise InvalidInputError("grounded recommendations need a model linear in the latents")
    return weights, np.asarray(cov, dtype=np.float64)


def _improvement_bound(
    latents: np.ndarray, favourite: np.ndarray, weights: np.ndarray, cov: np.ndarray, kappa: float
) -> np.ndarray:
    delta = latents - favourite  # the intercept cancels in a difference
    spread = np.sqrt(np.maximum(((delta @ cov) * delta).sum(axis=1), 0.0))
    return np.asarray(delta @ weights - kappa * spread)


def _candidates(
    anchors: np.ndarray,
    weights: np.ndarray,
    cov: np.ndarray,
    generator: Any,
    rng: np.random.Generator,
    radius: float,
) -> np.ndarray:
    """(m, d) shell latents within `radius` of the anchors: steps along the posterior mean's
    direction, along posterior draws of it, and toward the closed-form top of the shell."""
    d = anchors.shape[1]
    draws = rng.multivariate_normal(weights, cov, size=_DIRECTIONS, method="cholesky")
    directions = np.vstack([weights, draws])
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    shell = math.sqrt(d)
    steps = radius * np.arange(1, _STEPS + 1) / _STEPS
    found = []
    for anchor in anchors:
        toward_top = directions * shell - anchor  # shell tops of each direction, from here
        toward_top /= np.maximum(np.linalg.norm(toward_top, axis=1, keepdims=True), 1e-12)
        for heading in (directions, toward_top):
            found.append((anchor + steps[:, None, None] * heading[None]).reshape(-1, d))
    points = np.asarray(generator.project(np.vstack(found)))
    points = _within_reach(points, weights, generator.reach, anchors)
    # Steps past the reach clip to one point: keep one of each (diverse picks need distinct ones).
    _, first = np.unique(points.round(9), axis=0, return_index=True)
    return np.asarray(points[np.sort(first)])


def _within_reach(
    points: np.ndarray, weights: np.ndarray, reach: float | None, anchors: np.ndarray
) -> np.ndarray:
    """`points` with their component along the taste direction clipped to the generator's
    reach (or to the furthest anchor, where the user's own items already go further)."""
    norm = float(np.linalg.norm(weights))
    if reach is None or norm < 1e-12:
        return points
    unit = weights / norm
    limit = max(reach, float(np.abs(anchors @ unit).max()))
    along = points @ unit
    clipped = np.clip(along, -limit, limit)
    moved = points + np.outer(clipped - along, unit)
    # Keep them on the shell: rescale the orthogonal part, not the clipped component.
    shell = math.sqrt(points.shape[1])
    ortho = moved - np.outer(clipped, unit)
    width = np.sqrt(np.maximum(shell**2 - clipped**2, 0.0))
    ortho *= (width / np.maximum(np.linalg.norm(ortho, axis=1), 1e-12))[:, None]
    return np.asarray(np.outer(clipped, unit) + ortho)
