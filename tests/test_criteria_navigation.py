"""Constraint-aware reverse classification over several models (plgl.navigation.constrained)."""

import math
from typing import Any

import numpy as np
import pytest

from plgl.errors import InfeasibleConstraintsError
from plgl.models import KernelPreference, LinearPreference
from plgl.navigation.constrained import constrained_latents, pareto_front
from plgl.navigation.goal import Goal, lower_bound

D = 8
R = math.sqrt(D)


def _models(kind: type = LinearPreference, n: int = 80) -> tuple[dict[str, Any], np.ndarray]:
    rng = np.random.default_rng(0)
    directions = np.eye(D)[:2] + 0.3 * np.eye(D)[2]
    X = rng.standard_normal((n, D)) * 1.5
    models = {
        name: kind().fit(X, (X @ u > 0.3).astype(int))
        for name, u in zip(["energy", "calm"], directions, strict=True)
    }
    return models, directions


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_bounds_hold_with_confidence_and_the_objective_is_pushed_up() -> None:
    models, _ = _models()
    rng = np.random.default_rng(1)
    goal = Goal(maximize="calm", at_least={"energy": _logit(0.8)})
    found = constrained_latents(models, goal, 12, R, rng)
    assert found.shape == (12, D)
    np.testing.assert_allclose(np.linalg.norm(found, axis=1), R)
    assert np.all(lower_bound(models["energy"], found) >= _logit(0.8) - 1e-3)
    # The objective beats every random shell point that meets the same bound.
    z = rng.standard_normal((4000, D))
    z *= R / np.linalg.norm(z, axis=1, keepdims=True)
    ok = lower_bound(models["energy"], z) >= _logit(0.8)
    assert ok.any()
    calm = models["calm"].decision_function
    assert calm(found).min() >= calm(z[ok]).max() - 1e-6


def test_answers_are_diverse_outside_the_span_of_the_directions() -> None:
    models, _ = _models()
    found = constrained_latents(
        models, Goal(maximize="calm", at_least={"energy": 0.0}), 10, R, np.random.default_rng(2)
    )
    distances = np.linalg.norm(found[:, None] - found[None], axis=2)
    assert distances[np.triu_indices(10, 1)].min() > 0.1
    # They spread over every direction the models leave free (D - 2 of them).
    assert np.linalg.matrix_rank(found - found.mean(axis=0), tol=1e-3) == D - 2


def test_targets_are_met_on_every_model() -> None:
    models, _ = _models()
    goal = Goal(targets={"energy": _logit(0.7), "calm": _logit(0.4)})
    found = constrained_latents(models, goal, 8, R, np.random.default_rng(3))
    assert len(found) >= 6
    np.testing.assert_allclose(models["energy"].predict_proba(found)[:, 1], 0.7, atol=0.01)
    np.testing.assert_allclose(models["calm"].predict_proba(found)[:, 1], 0.4, atol=0.01)


def test_the_reach_caps_every_direction() -> None:
    models, _ = _models()
    found = constrained_latents(
        models, Goal(maximize="calm"), 5, R, np.random.default_rng(4), reach=1.0
    )
    unit = models["calm"].coef_ / np.linalg.norm(models["calm"].coef_)
    assert np.all(np.abs(found @ unit) <= 1.0 + 1e-6)


def test_conflicting_constraints_raise_a_clear_error() -> None:
    rng = np.random.default_rng(5)
    X = rng.standard_normal((120, D)) * 1.5
    up = LinearPreference().fit(X, (X[:, 0] > 0).astype(int))
    down = LinearPreference().fit(X, (X[:, 0] < 0).astype(int))
    goal = Goal(at_least={"energy": _logit(0.9), "calm": _logit(0.9)})
    with pytest.raises(InfeasibleConstraintsError, match=r"energy: wanted 0\.900") as caught:
        constrained_latents({"energy": up, "calm": down}, goal, 5, R, rng)
    assert isinstance(caught.value, ValueError)


def test_a_model_without_a_name_is_a_key_error() -> None:
    models, _ = _models()
    with pytest.raises(KeyError, match="mood"):
        constrained_latents(models, Goal(maximize="mood"), 2, R, np.random.default_rng(0))


def test_non_linear_models_are_searched_by_gradient() -> None:
    models, _ = _models(KernelPreference, n=60)
    rng = np.random.default_rng(6)
    goal = Goal(maximize="calm", at_least={"energy": _logit(0.7)}, confidence=0.5)
    with pytest.raises(ValueError, match="starts"):
        constrained_latents(models, goal, 4, R, rng)
    found = constrained_latents(
        models, goal, 6, R, rng, starts=lambda n: rng.standard_normal((n, D))
    )
    np.testing.assert_allclose(np.linalg.norm(found, axis=1), R)
    assert np.all(lower_bound(models["energy"], found, 0.5) >= _logit(0.7) - 1e-3)


def test_the_pareto_front_trades_one_criterion_for_the_other() -> None:
    models, _ = _models()
    latents, probs = pareto_front(models, "calm", "energy", R, np.random.default_rng(7), points=8)
    assert len(latents) == len(probs) >= 4
    assert np.all(np.diff(probs[:, 1]) >= 0)  # sorted by the second criterion
    assert np.all(np.diff(probs[:, 0]) <= 1e-9)  # so the first can only fall
    for p in probs:  # none dominated
        assert not np.any(np.all(probs >= p, axis=1) & np.any(probs > p + 1e-9, axis=1))
