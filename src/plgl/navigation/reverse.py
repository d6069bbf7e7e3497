"""Reverse classification: latents that a preference model predicts at a wanted probability.

Every latent returned lies on the typical shell |z| = R of the generator's Gaussian prior, and
no further than the generator's `reach` (in prior standard deviations) along the preference
direction: the region it renders well. A GAN asked for a point 10 standard deviations along one
direction draws a ghost, although that point lies on the shell; a score is never raised by
leaving the region. For a linear model the answer is
closed form: z = a * u_w + sqrt(R^2 - a^2) * u, with u_w the preference direction, u a direction
orthogonal to it (from the prior, so the answers are diverse) and a solved for the target. Other
models are searched by gradient (torch, Adam) with a penalty that holds |z| near R.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models import BasePreferenceModel, LinearPreference
from plgl.models.laplace import moderate
from plgl.models.search import TorchScore, gradient_search


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def reverse_linear(
    model: Any,
    target_logit: float | np.ndarray,
    n: int,
    radius: float,
    rng: np.random.Generator,
    directions: np.ndarray | None = None,
    reach: float | None = None,
) -> np.ndarray:
    """(n, d) shell latents whose moderated log-odds under a linear model equal `target_logit`
    (a number, or (n,) targets, one per latent).

    `model` is linear (`plgl.models.is_linear`); a `LinearPreference` also moderates its
    log-odds by its posterior covariance. Targets
    outside the reachable range give the nearest reachable latents (the top or the bottom of
    the shell, or `reach` along the preference direction if that is nearer). `directions`
    (n, d), if given, replace the random orthogonal components.
    """
    coef = np.asarray(model.coef_, dtype=np.float64)
    d = len(coef)
    norm = float(np.linalg.norm(coef))
    if directions is None:
        directions = rng.standard_normal((n, d))
    if norm < 1e-12:  # no direction learned yet: any shell point predicts the same
        return np.asarray(directions * (radius / np.linalg.norm(directions, axis=1, keepdims=True)))
    unit = coef / norm
    ortho = directions - np.outer(directions @ unit, unit)
    ortho /= np.maximum(np.linalg.norm(ortho, axis=1, keepdims=True), 1e-12)
    alpha = _solve_alpha(model, unit, ortho, norm, target_logit, radius, _limit(radius, reach))
    gamma = np.sqrt(np.maximum(radius**2 - alpha**2, 0.0))
    return np.asarray(alpha[:, None] * unit + gamma[:, None] * ortho)


def shell_top(
    model: Any,
    radius: float,
    reach: float | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray | None:
    """(d,) a shell point a linear model scores highest, or None before it has a direction.

    Without a `reach` it is the one point R * w / |w|; with one, the top is `reach` along w and
    the rest of the radius in a direction orthogonal to w drawn from `rng`.
    """
    coef = np.asarray(model.coef_, dtype=np.float64)
    norm = float(np.linalg.norm(coef))
    if norm < 1e-12:
        return None
    alpha = _limit(radius, reach)
    if alpha >= radius:
        return np.asarray(coef * (radius / norm))
    if rng is None:
        raise ValueError("a shell top within a reach needs an rng for its orthogonal part")
    unit = coef / norm
    other = rng.standard_normal(len(coef))
    other -= (other @ unit) * unit
    other /= max(float(np.linalg.norm(other)), 1e-12)
    return np.asarray(alpha * unit + math.sqrt(radius**2 - alpha**2) * other)


def _limit(radius: float, reach: float | None) -> float:
    """How far along one direction a latent may go: the radius, or the generator's reach."""
    return radius if reach is None else min(radius, reach)


def _solve_alpha(
    model: Any,
    unit: np.ndarray,
    ortho: np.ndarray,
    norm: float,
    target_logit: float | np.ndarray,
    radius: float,
    limit: float,
) -> np.ndarray:
    """(n,) position a in [-limit, limit] along the direction where each candidate meets the
    target (limit <= R)."""
    n, d = ortho.shape
    intercept = float(model.intercept_)
    # The full covariance of (weights, intercept): moderation needs the cross terms too.
    cov = model.covariance_ if isinstance(model, LinearPreference) else np.zeros((d + 1, d + 1))
    # phi(a) = a e1 + g(a) e2 + e3 with e1 = (unit, 0), e2 = (ortho, 0), e3 = (0, 1): the
    # log-odds variance phi' S phi is a quadratic form in (a, g, 1) with these coefficients.
    s_uu = float(unit @ cov[:d, :d] @ unit)
    s_oo = ((ortho @ cov[:d, :d]) * ortho).sum(axis=1)
    s_uo = ortho @ (cov[:d, :d] @ unit)
    s_ub = float(unit @ cov[:d, d])
    s_ob = ortho @ cov[:d, d]
    s_bb = float(cov[d, d])

    def moderated(alpha: np.ndarray) -> np.ndarray:
        gamma = np.sqrt(np.maximum(radius**2 - alpha**2, 0.0))
        variance = (
            alpha**2 * s_uu
            + gamma**2 * s_oo
            + s_bb
            + 2 * alpha * gamma * s_uo
            + 2 * alpha * s_ub
            + 2 * gamma * s_ob
        )
        return np.asarray(moderate(alpha * norm + intercept, variance))

    low, high = np.full(n, -limit), np.full(n, limit)
    for _ in range(50):  # bisection: the moderated log-odds rise along the direction
        mid = 0.5 * (low + high)
        above = moderated(mid) > target_logit
        high = np.where(above, mid, high)
        low = np.where(above, low, mid)
    return np.asarray(0.5 * (low + high))


def reverse_gradient(
    model: TorchScore,
    target_logit: float | np.ndarray | None,
    starts: np.ndarray,
    radius: float,
    steps: int | None = None,
    learning_rate: float | None = None,
    shell_penalty: float | None = None,
) -> np.ndarray:
    """(n, d) shell latents found by gradient search from `starts` (n, d).

    A preference model searches its own way (`BasePreferenceModel.reverse_search`: by default
    this gradient search; a model whose log-odds are costly to differentiate, such as
    `FeaturePreference`, overrides it), so the search settings are refused for one. Any other
    differentiable score is searched here: minimizes (f(z) - target)^2 with f the score (or
    maximizes f when the target is None), plus `shell_penalty` (default 10) * (|z|/R - 1)^2,
    for `steps` (default 150) Adam steps at `learning_rate` (default 0.05); the results are
    then put exactly on the shell.

    Raises:
        InvalidInputError: search settings given for a preference model.
    """
    settings = {"steps": steps, "learning_rate": learning_rate, "shell_penalty": shell_penalty}
    if isinstance(model, BasePreferenceModel):
        given = [name for name, value in settings.items() if value is not None]
        if given:
            raise InvalidInputError(
                f"{', '.join(given)} apply to other scores; {type(model).__name__} searches "
                "its own way (reverse_search)"
            )
        return np.asarray(model.reverse_search(target_logit, starts, radius))
    chosen: dict[str, Any] = {name: value for name, value in settings.items() if value is not None}
    return gradient_search(model, target_logit, starts, radius, **chosen)
