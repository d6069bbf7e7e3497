"""The refit over the window's log-odds (fewer observations than weights) agrees with Newton
over the weights, and the budget decides when a refit is skipped."""

from __future__ import annotations

import numpy as np
import pytest

from plgl.models import GaussianPrior, LinearPreference
from plgl.models.folding import FOLD
from plgl.models.laplace import newton_map, window_covariance, window_mode
from plgl.models.refits import AgedBase


@pytest.mark.parametrize("lapse", [0.0, 0.3])
def test_window_mode_is_the_newton_mode(lapse: float) -> None:
    rng = np.random.default_rng(0)
    n, k = 12, 30
    phi = rng.standard_normal((n, k))
    targets = (rng.random(n) < 0.5).astype(float)
    weights = rng.uniform(0.5, 1.0, n)
    root = rng.standard_normal((k, k)) / np.sqrt(k)
    covariance = root @ root.T + 0.5 * np.eye(k)
    precision = np.linalg.inv(covariance)
    mean = rng.standard_normal(k) * 0.1
    theta, hess = newton_map(phi, targets, weights, precision, mean, mean, lapse)
    cross = covariance @ phi.T
    mode, curvature, lower = window_mode(phi, targets, weights, mean, cross, lapse)
    assert np.allclose(mode, theta, atol=1e-6)
    assert np.allclose(window_covariance(covariance, cross, curvature, lower), np.linalg.inv(hess))


def test_window_mode_without_observations_is_the_prior() -> None:
    mean = np.array([0.5, -1.0])
    mode, curvature, lower = window_mode(
        np.zeros((0, 2)), np.zeros(0), np.zeros(0), mean, np.zeros((2, 0))
    )
    assert np.array_equal(mode, mean) and curvature.shape == (0,) and lower.shape == (0, 0)


def test_a_folded_model_refits_over_log_odds_exactly() -> None:
    # d = 120: after a fold the window of 70 observations is refitted over their log-odds, on
    # top of the aged folded base; Newton over the weights must give the same posterior.
    d = 120
    rng = np.random.default_rng(1)
    taste = rng.standard_normal(d)
    X = rng.standard_normal((2 * FOLD + 20, d))
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-X @ taste / np.sqrt(d) * 3))).astype(float)
    prior = GaussianPrior(np.full(d, 0.05), 0.2 * np.eye(d) + 0.01)
    model = LinearPreference(prior=prior, lapse=0.1).start(d)
    for row, label in zip(X, y, strict=True):
        model.learn(row, label)
    assert model.refine(budget=None) and model.folds_ == 1 and len(model._targets) == FOLD + 20
    base = AgedBase(model, model.n_updates_, 0)
    phi, targets, weights = model._window(FOLD + 20, model.n_updates_, 0)
    precision = base.precision
    theta, hess = newton_map(phi, targets, weights, precision, base.mean, base.mean, 0.1)
    assert np.allclose(model.mean_, theta, atol=1e-6)
    assert np.allclose(model.covariance_, np.linalg.inv(hess), atol=1e-8)


def test_the_budget_skips_refits_it_cannot_afford() -> None:
    d = 20
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2 * FOLD + 5, d))
    y = (X[:, 0] > 0).astype(float)
    model = LinearPreference().start(d)
    for row, label in zip(X, y, strict=True):
        model.learn(row, label)
    before = model.mean_.copy()
    assert model.refine(budget=1.0)  # folds (that bounds the state) but does not refit
    assert model.folds_ == 1 and np.array_equal(model.mean_, before)
    assert not model.refine(budget=1.0)  # nothing to fold, refit too dear
    assert model.refine(budget=None) and not np.array_equal(model.mean_, before)
