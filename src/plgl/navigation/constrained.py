"""Reverse classification over several preference models at once: latents whose predicted
probabilities meet bounds ("at least 0.8 on energy"), optionally as high as possible on one
criterion ("as calm as possible"), or at given targets on each (a `Goal`).

Every latent lies on the typical shell |z| = R of the generator's Gaussian prior and, for linear
models, no further than the generator's `reach` along any model's preference direction (see
`plgl.navigation.reverse`). Where every model is linear the problem is convex (`span`). Other
models are searched by gradient (torch, Adam) with quadratic penalties for missed constraints and
for leaving the shell, from several prior samples. Bounds are chance constraints on the posterior
(`goal.lower_bound`), so that they hold for the true taste, not only the model's guess.

When no reachable latent meets the constraints together, `InfeasibleConstraintsError` says what
each constrained criterion can reach alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from plgl.errors import InfeasibleConstraintsError
from plgl.models import is_linear
from plgl.models.laplace import PROBIT
from plgl.navigation.goal import Goal, lower_bound, variance
from plgl.navigation.span import linear_latents

_TOLERANCE = 1e-4  # log-odds slack accepted when checking a constraint


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
        found = linear_latents(used, goal, n, radius, rng, reach)
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
            spread = variance(models[name], here)
            wanted = (low + 0.05 + goal.kappa * np.sqrt(spread)) / np.sqrt(1.0 + PROBIT * spread)
            levels[name] = torch.as_tensor(wanted, dtype=torch.float64)
    return _on_shell(z.detach().numpy(), radius)


def _on_shell(latents: np.ndarray, radius: float) -> np.ndarray:
    return np.asarray(latents * (radius / np.linalg.norm(latents, axis=1, keepdims=True)))


# --------------------------------------------------------------------------- checks
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
