"""From a request in probabilities ("at least 0.8 on energy, as calm as possible") to diverse,
safe latents: validation, then `plgl.navigation.constrained`, then the safety filter and a
farthest-point selection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from plgl import validation as check
from plgl.criteria.models import CriteriaModels
from plgl.errors import InvalidInputError, UnsafeRegionError
from plgl.navigation import farthest_points
from plgl.navigation.constrained import constrained_latents, pareto_front
from plgl.navigation.goal import Goal

OVERALL = "*"
"""The key of the user's overall model among the criteria (no criterion name can be "*")."""

_TRIES = 20


def goal_for(
    criteria: CriteriaModels,
    overall: Any,
    maximize: str | None = None,
    at_least: Mapping[str, float] | None = None,
    targets: Mapping[str, float] | None = None,
    confidence: float = 0.9,
) -> tuple[dict[str, Any], Goal]:
    """The models (name -> model, the overall one as `OVERALL`) and the goal in log-odds.

    `maximize` None means the overall taste when there are bounds, nothing when there are
    only targets. Each bound must hold with posterior probability `confidence` (see
    `plgl.navigation.constrained.Goal`). Raises InvalidInputError for bad names or probabilities and
    UnknownCriterionError for a criterion without ratings.
    """
    bounds = _probabilities("at_least", at_least, criteria)
    wanted = _probabilities("targets", targets, criteria)
    both = sorted(set(bounds) & set(wanted))
    if both:
        raise InvalidInputError(f"a criterion is either bounded or targeted, not both: {both}")
    models: dict[str, Any] = {OVERALL: overall}
    for name in [*bounds, *wanted]:
        models[name] = criteria.model(name)
    if maximize is not None:
        models[maximize] = criteria.model(maximize)
    elif bounds or not wanted:
        maximize = OVERALL
    confidence = check.probability("confidence", confidence)
    return models, Goal(maximize, bounds, wanted, confidence)


def find_latents(
    models: Mapping[str, Any],
    goal: Goal,
    n: int,
    generator: Any,
    rng: np.random.Generator,
    unsafe: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """(n, d) diverse latents meeting `goal`, none of them `unsafe` (a (m,) bool mask of
    latents (m, d)), best first when the goal maximizes. Raises InfeasibleConstraintsError or
    UnsafeRegionError."""
    radius = math.sqrt(generator.latent_dim)

    def starts(count: int) -> np.ndarray:
        return np.asarray(generator.project(generator.sample(count, rng)))

    found: list[np.ndarray] = []
    for attempt in range(_TRIES):
        latents = constrained_latents(
            models, goal, 4 * n * (attempt + 1), radius, rng, generator.reach, starts
        )
        found.extend(latents[~unsafe(latents)])
        if len(found) >= n:
            break
    if len(found) < n:
        raise UnsafeRegionError(
            f"only {len(found)} of {n} latents meeting these constraints lie outside the "
            "marked region"
        )
    pool = np.array(found)
    if goal.maximize is not None:
        pool = pool[np.argsort(-models[goal.maximize].decision_function(pool), kind="stable")]
    return np.asarray(pool[farthest_points(pool, n)])


def front(
    criteria: CriteriaModels,
    first: str,
    second: str,
    generator: Any,
    rng: np.random.Generator,
    points: int = 15,
) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto front of two rated criteria: latents (m, d) and probabilities (m, 2)."""
    if criteria.check(first) == criteria.check(second):
        raise InvalidInputError(f"a Pareto front needs two different criteria, got {first!r}")
    points = check.integer("points", points, minimum=2, maximum=100)
    models = {first: criteria.model(first), second: criteria.model(second)}

    def starts(count: int) -> np.ndarray:
        return np.asarray(generator.project(generator.sample(count, rng)))

    radius = math.sqrt(generator.latent_dim)
    return pareto_front(models, first, second, radius, rng, generator.reach, starts, points)


def _probabilities(
    what: str, values: Mapping[str, float] | None, criteria: CriteriaModels
) -> dict[str, float]:
    """name -> log-odds of a mapping of criterion names to probabilities in (0, 1)."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidInputError(
            f"{what} must map criterion names to probabilities, got {type(values).__name__}"
        )
    out: dict[str, float] = {}
    for name, p in values.items():
        p = check.probability(f"{what}[{name!r}]", p)
        out[criteria.check(name)] = math.log(p / (1.0 - p))
    return out
