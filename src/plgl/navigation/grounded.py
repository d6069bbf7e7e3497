"""Grounded recommendations: new latents the posterior is confident beat the user's favourite.

A linear model driven to the top of its range extrapolates: on real content the taste is not
linear in the latent, and its maximum on the shell lies far from anything the user rated. Here
the search starts from evidence. The anchors are the user's best-rated items; candidates are
latents near them (a trust region, in latent units, that widens as the model's confidence
grows), including steps toward the model's closed-form top of the shell. Each candidate z is
scored by a lower confidence bound on its improvement over the favourite f (the liked item the
posterior rates highest):

    LCB(z) = E[s(z) - s(f)] - kappa * sd[s(z) - s(f)],   s(x) = theta . (x, 1),

with theta ~ N(mean, covariance) the posterior. The improvement's uncertainty grows with the
distance from f along directions the evidence has not pinned down, so the bound is itself a
trust region: a step is taken only as far as the posterior vouches for it. The best candidate
with a positive bound is recommended; when none is predicted better the favourite itself is
(the pick never falls below the favourite as the model sees it). Anchoring on the favourite
also keeps the pick from jumping between checkpoints. The scheme is the trust-region
Bayesian optimisation of Eriksson et al. (TuRBO, NeurIPS 2019) with the lower-confidence-bound
ranking of Srinivas et al. (GP-UCB, ICML 2010) turned pessimistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models import OnlinePreferenceModel
from plgl.navigation.diverse import farthest_points
from plgl.navigation.reverse import shell_top

KAPPA = 1.0
"""Standard deviations of the improvement that the posterior must clear."""
_ANCHORS = 5  # best-rated items searched around
_STEPS = 8  # radii per direction, out to the trust radius
_DIRECTIONS = 12  # posterior draws of the taste direction per anchor (plus the mean)
_SAME = 1e-6  # latents (and bounds) closer than this are taken as equal


def trust_radius(d: int, confidence: float) -> float:
    """How far (latent units) from a rated item a recommendation may go: a quarter of the
    shell's radius sqrt(d) for a model that knows nothing, its diameter once it is sure.

    >>> trust_radius(100, 0.0), trust_radius(100, 1.0)
    (2.5, 20.0)
    """
    return math.sqrt(d) * (0.25 + 1.75 * min(max(confidence, 0.0), 1.0))


def grounded_best(
    model: Any,
    rated: np.ndarray,
    labels: np.ndarray,
    n_out: int,
    generator: Any,
    rng: np.random.Generator,
    confidence: float,
    kappa: float = KAPPA,
    scores: np.ndarray | None = None,
    champion: np.ndarray | None = None,
) -> np.ndarray:
    """(n_out, d) latents to recommend, best first, grounded in what the user rated.

    Args:
        model: a linear online preference model (its `coef_` (d,) and `weight_covariance()`
            (d, d) are the posterior over the taste weights), started or fitted.
        rated: (n, d) latents the user rated; labels: (n,) 1 for a like, 0 for a dislike.
        n_out: how many latents (diverse among the best candidates).
        generator: its `project` keeps latents on the shell it renders well, its `reach` (or
            None) bounds how far along the taste direction a latent may go.
        rng: draws the directions searched.
        confidence: the model's confidence in [0, 1] (`plgl.models.confidence`); widens the
            trust region.
        kappa: how many standard deviations the predicted improvement must clear.
        scores: (n,) how good each rated item is by a better judge than the linear posterior
            (a model of the content, `content_scores`); None ranks them by the posterior mean.
            Only the anchors (and so the favourite) are chosen by it.
        champion: (d,) the favourite as the user's own comparisons found it (the winner of
            their latest duel, `plgl.grounding`), ahead of every other anchor; None: the best
            liked item by `liked_order`.

    Returns new latents whose improvement over the favourite has a positive lower bound; when
    fewer than `n_out` exist, the favourite and then the next best-rated items fill the rest.
    Before the first like there is nothing to stand on: the closed-form top of the shell
    (`shell_top`, as `Session.recommend` picks it).
    """
    new, anchors = _grounded(
        model, rated, labels, n_out, generator, rng, confidence, kappa, scores, champion
    )
    if anchors is None:  # no like to stand on: the closed-form top of the shell
        return _shell_tops(model, generator, n_out, rng)
    picks = new
    if len(picks) < n_out:  # nothing (or too little) predicted better: the rated best
        picks = np.vstack([picks, anchors])[:n_out]  # anchors: liked items, best first
        if len(picks) < n_out:
            weights, cov = _posterior(model)
            d = anchors.shape[1]
            extra = _candidates(anchors[:1], weights, cov, generator, rng, trust_radius(d, 0.0))
            picks = np.vstack([picks, extra[: n_out - len(picks)]])
    return np.asarray(picks[:n_out])


def grounded_new(
    model: Any,
    rated: np.ndarray,
    labels: np.ndarray,
    n_out: int,
    generator: Any,
    rng: np.random.Generator,
    confidence: float,
    kappa: float = KAPPA,
    scores: np.ndarray | None = None,
    champion: np.ndarray | None = None,
) -> np.ndarray:
    """(m, d), m <= n_out: only the new latents of `grounded_best` (arguments alike), those
    whose improvement over the favourite has a positive lower bound, best first; none before
    the first like or when nothing is confidently better. The exploit share of a feed mixes
    these in: likely likes that stay near what the user liked."""
    new, _ = _grounded(
        model, rated, labels, n_out, generator, rng, confidence, kappa, scores, champion
    )
    return new


def grounded_at(
    model: Any,
    rated: np.ndarray,
    labels: np.ndarray,
    target_logit: float,
    n_out: int,
    generator: Any,
    rng: np.random.Generator,
    confidence: float,
    kappa: float = KAPPA,
) -> np.ndarray | None:
    """(n_out, d) diverse latents within the trust region of the best-rated items whose
    pessimistic log-odds, s(f) + LCB(z) (f the favourite, see the module docstring), lie
    nearest `target_logit`: a target above what the evidence vouches for gives the best the
    evidence does vouch for, not an extrapolation. None before the first like (nothing to
    stand on)."""
    weights, cov = _posterior(model)
    rated, labels = _check(weights, rated, labels, n_out, confidence, kappa)
    if not math.isfinite(target_logit):
        raise InvalidInputError(f"target_logit must be finite, got {target_logit}")
    if not np.any(labels > 0.5):
        return None
    anchors = _anchors(rated, labels, model)
    radius = trust_radius(rated.shape[1], confidence)
    candidates = np.vstack([anchors, _candidates(anchors, weights, cov, generator, rng, radius)])
    value = float(anchors[0] @ weights) + _improvement_bound(
        candidates, anchors[0], weights, cov, kappa
    )
    nearest = candidates[np.argsort(np.abs(value - target_logit), kind="stable")]
    return np.asarray(nearest[farthest_points(nearest[: 4 * n_out], n_out)])


def _grounded(
    model: Any,
    rated: np.ndarray,
    labels: np.ndarray,
    n_out: int,
    generator: Any,
    rng: np.random.Generator,
    confidence: float,
    kappa: float,
    scores: np.ndarray | None,
    champion: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(m <= n_out, d) new latents confidently better than the favourite, best first and
    diverse, and the (k, d) anchors (None before the first like)."""
    weights, cov = _posterior(model)
    rated, labels = _check(weights, rated, labels, n_out, confidence, kappa)
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if scores.shape != labels.shape or not np.all(np.isfinite(scores)):
            raise InvalidInputError(f"scores must be {labels.shape} finite numbers")
    d = rated.shape[1]
    if champion is not None:
        champion = np.asarray(champion, dtype=np.float64)
        if champion.shape != (d,) or not np.all(np.isfinite(champion)):
            raise InvalidInputError(
                f"champion must be a finite ({d},) latent, got {champion.shape}"
            )
    if not np.any(labels > 0.5) and champion is None:
        return np.empty((0, d)), None
    anchors = _anchors(rated, labels, model, scores, champion)
    candidates = _candidates(anchors, weights, cov, generator, rng, trust_radius(d, confidence))
    bound = _improvement_bound(candidates, anchors[0], weights, cov, kappa)
    # A candidate at a rated item is not new (its bound is 0 up to rounding).
    known = np.linalg.norm(candidates[:, None] - anchors[None], axis=2).min(axis=1) < _SAME
    keep = (bound > _SAME) & ~known
    better = candidates[keep][np.argsort(-bound[keep], kind="stable")]
    picks = better[farthest_points(better[: 4 * n_out], n_out)] if len(better) else better
    return np.asarray(picks), anchors


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


def _shell_tops(model: Any, generator: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, d) shell points the model scores highest (`shell_top`), or prior samples while it
    has no direction."""
    radius = math.sqrt(generator.latent_dim)
    tops = [shell_top(model, radius, generator.reach, rng) for _ in range(n)]
    if tops[0] is None:
        return np.asarray(generator.project(generator.sample(n, rng)))
    return np.array(tops)


def liked_order(
    model: Any, rated: np.ndarray, labels: np.ndarray, scores: np.ndarray | None = None
) -> np.ndarray:
    """Rows of the liked items (labels (n,) > 0.5) of `rated` (n, d), best first: the one
    definition of the favourite (its first row). By a content judge's `scores` (n,) where
    given, else by the posterior mean log-odds (unmoderated: an item the model is unsure of is
    not ranked down for that; the intercept, common to all, is left out)."""
    if scores is None:
        weights, _ = _posterior(model)
        scores = np.asarray(rated, dtype=np.float64) @ weights
    liked = np.flatnonzero(np.asarray(labels) > 0.5)
    return np.asarray(liked[np.argsort(-np.asarray(scores)[liked], kind="stable")])


def _anchors(
    rated: np.ndarray,
    labels: np.ndarray,
    model: Any,
    scores: np.ndarray | None = None,
    champion: np.ndarray | None = None,
) -> np.ndarray:
    """(k, d) the liked items, best first (`liked_order`), the champion (d,) ahead of all."""
    best = rated[liked_order(model, rated, labels, scores)]
    if champion is None:
        return np.asarray(best[:_ANCHORS])
    champion = np.asarray(champion, dtype=np.float64).reshape(1, -1)
    others = best[np.linalg.norm(best - champion, axis=1) >= _SAME]
    return np.asarray(np.vstack([champion, others])[:_ANCHORS])


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


def _check(
    weights: np.ndarray,
    rated: np.ndarray,
    labels: np.ndarray,
    n_out: int,
    confidence: float,
    kappa: float,
) -> tuple[np.ndarray, np.ndarray]:
    d = len(weights)
    rated = np.asarray(rated, dtype=np.float64)
    if rated.size == 0:
        rated = np.empty((0, d))
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    if (
        rated.ndim != 2
        or rated.shape[1] != d
        or len(labels) != len(rated)
        or not np.all(np.isfinite(rated))
    ):
        raise InvalidInputError(
            f"rated must be finite (n, {d}) latents with (n,) labels; got {rated.shape} "
            f"and {labels.shape}"
        )
    if isinstance(n_out, bool) or not isinstance(n_out, int) or n_out < 1:
        raise InvalidInputError(f"n_out must be a positive int, got {n_out!r}")
    if not (0.0 <= confidence <= 1.0) or not (math.isfinite(kappa) and kappa >= 0):
        raise InvalidInputError(f"need confidence in [0, 1], kappa >= 0; got {confidence}, {kappa}")
    return rated, labels
