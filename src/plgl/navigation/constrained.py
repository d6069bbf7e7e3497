"""Reverse classification over several preference models at once: latents whose predicted
probabilities meet constraints ("at least 0.8 on energy"), optionally as high as possible on one
criterion ("as calm as possible"), or at given targets on each.

Every latent lies on the typical shell |z| = R of the generator's Gaussian prior and, for linear
models, no further than the generator's `reach` along any model's preference direction (see
`plgl.navigation.reverse`). Where every model is linear the problem is convex in the span of the
preference directions: z = Q'a + sqrt(R^2 - |a|^2) u with Q (r, d) an orthonormal basis of that
span, a (r,) solved by SLSQP (a ball, the reach box and half-spaces in r <= k dimensions) and u
a direction orthogonal to the span drawn from the prior, so the answers are diverse and the
orthogonal part changes no model's mean log-odds. Constraints hold on the moderated log-odds (the
posterior's uncertainty shrinks them; MacKay 1992), met by scaling each mean target by the
largest moderation factor among the candidates, a few fixed-point rounds. Other models are
searched by gradient (torch, Adam) with quadratic penalties for missed constraints and for
leaving the shell, from several prior samples.

When no reachable latent meets the constraints together, `InfeasibleConstraintsError` says which
criteria conflict and what each can reach alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.stats import norm

from plgl.errors import InfeasibleConstraintsError
from plgl.models import is_linear

_PROBIT = math.pi / 8.0
_TOLERANCE = 1e-4  # log-odds slack accepted when checking a constraint
_INSIDE = 1e-3  # log-odds by which the convex program aims inside each bound
_ROUNDS = 12  # at most this many fixed-point rounds for the posterior spreads


@dataclass(frozen=True)
class Goal:
    """What to find, in log-odds per model name.

    Attributes:
        maximize: the model whose log-odds should be as high as possible (None: none).
        at_least: name -> lowest acceptable log-odds, met with posterior probability
            `confidence` (a chance constraint: mean - z_confidence * sd >= bound; Charnes &
            Cooper 1959), so a bound holds for the true taste, not only for the model's guess.
        targets: name -> wanted (moderated) log-odds, met as equalities.
        confidence: see `at_least`; 0.5 bounds the posterior mean.
        spare: the maximized log-odds may fall this share below its best, so that the answers
            can differ (the best point of the shell is unique).
    """

    maximize: str | None = None
    at_least: Mapping[str, float] = field(default_factory=dict)
    targets: Mapping[str, float] = field(default_factory=dict)
    confidence: float = 0.9
    spare: float = 0.05

    @property
    def kappa(self) -> float:
        """Standard deviations between the posterior mean and the bound."""
        return float(norm.ppf(self.confidence))

    def names(self) -> list[str]:
        """Every model name the goal uses, objective first."""
        names = [] if self.maximize is None else [self.maximize]
        return names + [n for n in [*self.at_least, *self.targets] if n not in names]


def constrained_latents(
    models: Mapping[str, Any],
    goal: Goal,
    n: int,
    radius: float,
    rng: np.random.Generator,
    reach: float | None = None,
    starts: Callable[[int], np.ndarray] | None = None,
) -> np.ndarray:
    """(m, d) shell latents, 1 <= m <= n, that meet `goal` under `models` (name -> model).

    Linear models are solved in closed form up to a small convex program; otherwise gradient
    search runs from `starts(n)` (n, d) prior samples (required then). Raises
    InfeasibleConstraintsError when no candidate meets the constraints.
    """
    missing = [name for name in goal.names() if name not in models]
    if missing:
        raise KeyError(f"no model for {', '.join(missing)}")
    used = {name: models[name] for name in goal.names()}
    if all(is_linear(model) for model in used.values()):
        found = _linear(used, goal, n, radius, rng, reach)
    else:
        if starts is None:
            raise ValueError("gradient search over non-linear models needs prior `starts`")
        found = _gradient(used, goal, np.asarray(starts(n), dtype=np.float64), radius)
    keep = _meets(used, goal, found)
    if not keep.any():
        raise InfeasibleConstraintsError(_why(used, goal, radius, rng, reach, starts))
    found = found[keep]
    if goal.maximize is not None:
        found = found[np.argsort(-used[goal.maximize].decision_function(found), kind="stable")]
    return np.asarray(found)


def pareto_front(
    models: Mapping[str, Any],
    first: str,
    second: str,
    radius: float,
    rng: np.random.Generator,
    reach: float | None = None,
    starts: Callable[[int], np.ndarray] | None = None,
    points: int = 15,
) -> tuple[np.ndarray, np.ndarray]:
    """The trade-off between two criteria: latents (m, d) and their probabilities (m, 2) of
    (first, second), m <= points, sorted by the second, none dominated by another.

    Each point maximizes `first` subject to `second` at least a threshold swept over the
    range from where `first` is best to where `second` is (the epsilon-constraint method;
    Haimes et al. 1971).
    """
    # The front runs from the best of `first` alone to the best of `second` alone.
    ends = [
        constrained_latents({k: models[k]}, Goal(maximize=k), 1, radius, rng, reach, starts)
        for k in (first, second)
    ]
    bottom, top = (float(models[second].decision_function(end[:1])[0]) for end in ends)
    latents: list[np.ndarray] = []
    for threshold in np.linspace(bottom, top, points):
        goal = Goal(first, {second: float(threshold) - 2 * _TOLERANCE}, confidence=0.5, spare=0.0)
        try:
            latents.append(constrained_latents(models, goal, 1, radius, rng, reach, starts)[0])
        except InfeasibleConstraintsError:
            continue
    found = np.array(latents)
    probs = np.column_stack(
        [models[first].predict_proba(found)[:, 1], models[second].predict_proba(found)[:, 1]]
    )
    dominated = np.array(
        [np.any(np.all(probs >= p, axis=1) & np.any(probs > p + 1e-9, axis=1)) for p in probs]
    )
    order = np.argsort(probs[~dominated, 1], kind="stable")
    return found[~dominated][order], probs[~dominated][order]


# --------------------------------------------------------------------- linear models
def _linear(
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
            factor = np.sqrt(1.0 + _PROBIT * spread**2)
            equal = {index[k]: t * factor[index[k]] for k, t in goal.targets.items()}
            objective = maximize if phase == "best" else None
            a = _solve_span(intercept, projected, lows, equal, objective, radius, reach)
            z = _assemble(a, basis, ortho, radius)
            before = spread
            spread = np.array([np.sqrt(_variance(models[k], z)).max() for k in names])
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
            [np.sqrt(1.0 + _PROBIT * _variance(models[k], latents)) for k in goal.targets]
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


def _variance(model: Any, z: np.ndarray) -> np.ndarray:
    """(n,) posterior variance of each latent's log-odds (0 for a model without one)."""
    return np.maximum(np.asarray(model.uncertainty(z), dtype=np.float64), 0.0)


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


# ------------------------------------------------------------------ any other model
def _gradient(
    models: Mapping[str, Any], goal: Goal, starts: np.ndarray, radius: float
) -> np.ndarray:
    """(n, d) shell latents from penalized gradient search (Adam) from `starts` (n, d).

    A first pass aims each bound a little above it; a second pass aims at the moderated
    log-odds that meets the chance constraint at the variance found there."""
    z = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([z], lr=0.05 * radius / math.sqrt(z.shape[1]))
    levels = {name: torch.full((len(starts),), low + 0.1) for name, low in goal.at_least.items()}
    for steps in (150, 100):
        for _ in range(steps):
            optimizer.zero_grad()
            loss = 10.0 * (z.norm(dim=1) / radius - 1.0) ** 2
            for name, level in levels.items():
                loss = loss + 10.0 * torch.relu(level - models[name].torch_decision(z)) ** 2
            for name, target in goal.targets.items():
                loss = loss + 10.0 * (models[name].torch_decision(z) - target) ** 2
            if goal.maximize is not None:
                loss = loss - models[goal.maximize].torch_decision(z)
            loss.sum().backward()
            optimizer.step()
        here = _on_shell(z.detach().numpy(), radius)
        for name, low in goal.at_least.items():
            variance = _variance(models[name], here)
            wanted = (low + 0.05 + goal.kappa * np.sqrt(variance)) / np.sqrt(
                1.0 + _PROBIT * variance
            )
            levels[name] = torch.as_tensor(wanted, dtype=torch.float64)
    return _on_shell(z.detach().numpy(), radius)


def _on_shell(latents: np.ndarray, radius: float) -> np.ndarray:
    return np.asarray(latents * (radius / np.linalg.norm(latents, axis=1, keepdims=True)))


# --------------------------------------------------------------------------- checks
def lower_bound(model: Any, latents: np.ndarray, confidence: float = 0.9) -> np.ndarray:
    """(n,) log-odds that each latent's true log-odds exceed with posterior probability
    `confidence` (mean - z * sd, the mean recovered from the moderated log-odds)."""
    variance = _variance(model, latents)
    mean = model.decision_function(latents) * np.sqrt(1.0 + _PROBIT * variance)
    return np.asarray(mean - float(norm.ppf(confidence)) * np.sqrt(variance))


def _meets(models: Mapping[str, Any], goal: Goal, latents: np.ndarray) -> np.ndarray:
    """(n,) bool: each latent meets every bound (as a chance constraint) and every target
    (within 0.05 log-odds)."""
    ok = np.ones(len(latents), dtype=bool)
    for name, low in goal.at_least.items():
        ok &= lower_bound(models[name], latents, goal.confidence) >= low - _TOLERANCE
    for name, target in goal.targets.items():
        ok &= np.abs(models[name].decision_function(latents) - target) <= 0.05
    return ok


def _why(
    models: Mapping[str, Any],
    goal: Goal,
    radius: float,
    rng: np.random.Generator,
    reach: float | None,
    starts: Callable[[int], np.ndarray] | None,
) -> str:
    """What each constrained criterion reaches on its own, as probabilities, for the error."""
    parts = []
    for name in [*goal.at_least, *goal.targets]:
        alone = {name: models[name]}
        top = constrained_latents(alone, Goal(maximize=name), 1, radius, rng, reach, starts)
        if name in goal.at_least:
            best = _probability(float(lower_bound(models[name], top[:1], goal.confidence)[0]))
            wanted = goal.at_least[name]
        else:
            best = float(models[name].predict_proba(top[:1])[0, 1])
            wanted = goal.targets[name]
        parts.append(f"{name}: wanted {_probability(wanted):.3f}, reaches {best:.3f} at most")
    return "no latent the generator renders well meets these constraints together (" + (
        "; ".join(parts) + ")"
    )


def _probability(log_odds: float) -> float:
    return 1.0 / (1.0 + math.exp(-log_odds))
