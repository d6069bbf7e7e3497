"""Constrained reverse classification when every model is linear in the latents.

z = Q'a + sqrt(R^2 - |a|^2) u with Q (r, d) an orthonormal basis of the span of the preference
directions and u a unit direction orthogonal to it, drawn from the prior: the orthogonal part
changes no model's mean log-odds, so the problem is convex in a (r,): a ball, the generator's
reach along each direction and half-spaces, solved by SLSQP. Bounds are chance constraints on
the posterior (mean - z * sd >= bound), met by a fixed point on the largest posterior sd among
the candidates; targets are met per candidate in closed form (least-norm a). When a criterion is
maximized, a second solve keeps it within `Goal.spare` of its best and takes the least-norm a:
room for the answers to differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.optimize import minimize

from plgl.models.laplace import PROBIT
from plgl.navigation.goal import Goal, variance

_INSIDE = 1e-3  # log-odds by which the convex program aims inside each bound
_ROUNDS = 12  # at most this many fixed-point rounds for the posterior spreads


def linear_latents(
    models: Mapping[str, Any],
    goal: Goal,
    n: int,
    radius: float,
    rng: np.random.Generator,
    reach: float | None,
) -> np.ndarray:
    """(n, d) candidates sharing one in-span part, with diverse orthogonal parts."""
    names = list(models)
    coefs = np.array([np.asarray(models[k].coef_, dtype=np.float64) for k in names])
    d = coefs.shape[1]
    basis = _basis(coefs)  # (r, d)
    ortho = rng.standard_normal((n, d))
    ortho -= (ortho @ basis.T) @ basis
    ortho /= np.maximum(np.linalg.norm(ortho, axis=1, keepdims=True), 1e-12)
    if basis.shape[0] == d:  # the span is everything: nothing orthogonal to vary
        ortho[:] = 0.0
    if goal.targets and not goal.at_least and goal.maximize is None:
        return _on_targets(models, names, coefs, basis, goal, ortho, radius)
    index = {k: i for i, k in enumerate(names)}
    projected = coefs @ basis.T
    intercept = np.array([float(models[k].intercept_) for k in names])
    maximize = None if goal.maximize is None else index[goal.maximize]
    spread = np.zeros(len(names))  # the largest posterior sd of each model's log-odds
    floor: dict[int, float] = {}  # a floor under the maximized mean, once its best is known
    a = np.zeros(len(basis))
    for phase in ("best", "diverse") if maximize is not None and goal.spare > 0 else ("best",):
        for _ in range(_ROUNDS):
            lows = {
                index[k]: t + _INSIDE + goal.kappa * spread[index[k]]
                for k, t in goal.at_least.items()
            }
            lows.update(floor)
            factor = np.sqrt(1.0 + PROBIT * spread**2)
            equal = {index[k]: t * factor[index[k]] for k, t in goal.targets.items()}
            objective = maximize if phase == "best" else None
            a = _solve_span(intercept, projected, lows, equal, objective, radius, reach)
            z = _assemble(a, basis, ortho, radius)
            before = spread
            spread = np.array([np.sqrt(variance(models[k], z)).max() for k in names])
            if np.abs(spread - before).max() < 1e-5:
                break
        if maximize is not None:
            # The best shell point is unique; a little below it there is room for variety.
            top = float(projected[maximize] @ a + intercept[maximize])
            floor = {maximize: top - goal.spare * abs(top)}
    return _assemble(a, basis, ortho, radius)


def _on_targets(
    models: Mapping[str, Any],
    names: list[str],
    coefs: np.ndarray,
    basis: np.ndarray,
    goal: Goal,
    ortho: np.ndarray,
    radius: float,
) -> np.ndarray:
    """(n, d) candidates each meeting the targets exactly (least-norm in-span part per
    candidate, its own moderation factors); those off the ball are dropped by the caller's
    check as they miss the targets."""
    rows = np.array([coefs[names.index(k)] @ basis.T for k in goal.targets])  # (t, r)
    wanted = np.array(list(goal.targets.values()))
    intercepts = np.array([float(models[k].intercept_) for k in goal.targets])
    factors = np.ones((len(ortho), len(wanted)))
    latents = ortho * radius
    for _ in range(_ROUNDS + 2):
        goals = wanted[None, :] * factors - intercepts[None, :]  # (n, t) mean log-odds
        a = np.linalg.lstsq(rows, goals.T, rcond=None)[0].T  # (n, r)
        rest = np.sqrt(np.maximum(radius**2 - (a**2).sum(axis=1), 0.0))
        latents = a @ basis + rest[:, None] * ortho
        factors = np.column_stack(
            [np.sqrt(1.0 + PROBIT * variance(models[k], latents)) for k in goal.targets]
        )
    return np.asarray(latents)


def _basis(coefs: np.ndarray) -> np.ndarray:
    """(r, d) orthonormal rows spanning the non-zero preference directions."""
    _, singular, vt = np.linalg.svd(coefs, full_matrices=False)
    rank = int((singular > 1e-10 * max(float(singular.max(initial=0.0)), 1e-300)).sum())
    return np.asarray(vt[:rank])


def _assemble(a: np.ndarray, basis: np.ndarray, ortho: np.ndarray, radius: float) -> np.ndarray:
    rest = math.sqrt(max(radius**2 - float(a @ a), 0.0))
    return np.asarray(a @ basis + rest * ortho)


def _solve_span(
    intercept: np.ndarray,
    projected: np.ndarray,
    lows: Mapping[int, float],
    equal_means: Mapping[int, float],
    maximize: int | None,
    radius: float,
    reach: float | None,
) -> np.ndarray:
    """(r,) in-span coordinates whose mean log-odds are at least `lows` and equal to
    `equal_means` (model index -> mean log-odds), maximizing model `maximize` if given."""
    r = projected.shape[1]
    if r == 0:
        return np.zeros(0)
    norms = np.maximum(np.linalg.norm(projected, axis=1), 1e-12)
    units = projected / norms[:, None]
    limit = radius if reach is None else min(radius, reach)
    need = list(lows.items())
    equal = list(equal_means.items())

    def slack(a: np.ndarray) -> np.ndarray:  # >= 0 where a constraint holds, in log-odds / |w|
        rows = [(projected[i] @ a + intercept[i] - t) / norms[i] for i, t in need]
        rows += [limit - units @ a, limit + units @ a, [(radius**2 - a @ a) / radius]]
        return np.concatenate([np.atleast_1d(np.asarray(row, dtype=np.float64)) for row in rows])

    def gap(a: np.ndarray) -> np.ndarray:
        return np.array([(projected[i] @ a + intercept[i] - t) / norms[i] for i, t in equal])

    start = np.zeros(r)
    if equal:  # the least-norm point meeting the targets: feasible whenever they are reachable
        rows = np.array([projected[i] for i, _ in equal])
        wanted = np.array([t - intercept[i] for i, t in equal])
        start = np.linalg.lstsq(rows, wanted, rcond=None)[0]
    if maximize is not None:
        i = maximize

        def objective(a: np.ndarray) -> float:
            return -float(projected[i] @ a / norms[i])
    else:  # no objective: the point nearest the start (least norm, most room to diversify)

        def objective(a: np.ndarray) -> float:
            return float((a - start) @ (a - start)) / radius**2

    constraints = [{"type": "ineq", "fun": slack}]
    if equal:
        constraints.append({"type": "eq", "fun": gap})
    start = _feasible_start(slack, start, r) if need else start
    result = minimize(
        objective,
        start,
        method="SLSQP",
        constraints=constraints,
        options={"maxiter": 200, "ftol": 1e-10},
    )
    return np.asarray(result.x)


def _feasible_start(
    slack: Callable[[np.ndarray], np.ndarray], start: np.ndarray, r: int
) -> np.ndarray:
    """A point maximizing the smallest slack (phase one), so SLSQP starts inside when it can."""

    def worst(x: np.ndarray) -> float:
        return -float(x[-1])

    result = minimize(
        worst,
        np.append(start, 0.0),
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda x: slack(x[:-1]) - x[-1]}],
        options={"maxiter": 200, "ftol": 1e-10},
    )
    return np.asarray(result.x[:r])
