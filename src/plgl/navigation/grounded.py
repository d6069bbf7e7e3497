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
ranking of Srinivas et al. (GP-UCB, ICML 2010) turned pessimistic. The trust region and the
bound are in `plgl.navigation.trust`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.navigation.diverse import farthest_points
from plgl.navigation.reverse import shell_top
from plgl.navigation.trust import (
    KAPPA,
    _candidates,
    _improvement_bound,
    _posterior,
    trust_radius,
)

_ANCHORS = 5  # best-rated items searched around
_SAME = 1e-6  # latents (and bounds) closer than this are taken as equal


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
