"""Laplace approximation of Bayesian logistic regression: the numerics shared by the models.

The mode of a weighted logistic likelihood under a Gaussian prior (damped Newton), and the
probit moderation of log-odds by their variance (MacKay, "The evidence framework applied to
classification networks", Neural Computation 1992).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PROBIT = math.pi / 8.0  # sigmoid(x) ~ Phi(sqrt(pi/8) x): moderates log-odds by their variance


def sigmoid(x: Any) -> Any:
    """The logistic function, written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def moderate(mean: Any, variance: Any) -> Any:
    """Log-odds `mean` moderated by their `variance`: the probit approximation of E[sigmoid]."""
    return mean / np.sqrt(1.0 + PROBIT * variance)


def symmetric(a: np.ndarray) -> np.ndarray:
    """(k, k) the symmetric part of a square matrix (removes round-off asymmetry)."""
    return np.asarray(0.5 * (a + a.T))


def newton_map(
    phi: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    prior_precision: np.ndarray,
    start: np.ndarray,
    prior_mean: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """MAP of weighted logistic regression under a Gaussian prior, and the Hessian there.

    Args:
        phi: (n, k) features of the observations.
        targets: (n,) labels in [0, 1].
        weights: (n,) non-negative observation weights.
        prior_precision: (k,) a diagonal prior precision, or (k, k) a full one.
        start: (k,) where Newton starts.
        prior_mean: (k,) the prior mean; None is zero.

    Newton with backtracking (the objective is strictly convex, but full steps can overshoot).

    Returns:
        The mode (k,) and the Hessian (k, k) of the negative log posterior there.
    """
    full = prior_precision.ndim == 2
    center = np.zeros(len(start)) if prior_mean is None else prior_mean

    def penalty(theta: np.ndarray) -> tuple[float, np.ndarray]:
        offset = theta - center if prior_mean is not None else theta
        if full:
            pull = prior_precision @ offset
            return 0.5 * float(offset @ pull), np.asarray(pull)
        return 0.5 * float(prior_precision @ offset**2), np.asarray(prior_precision * offset)

    def objective(theta: np.ndarray) -> float:
        f = phi @ theta
        nll = weights @ (np.logaddexp(0.0, f) - targets * f)
        return float(nll + penalty(theta)[0])  # the prior's quadratic form

    prior_hessian = prior_precision if full else np.diag(prior_precision)
    theta = start.copy()
    value = objective(theta)
    for _ in range(100):
        p = sigmoid(phi @ theta)
        grad = phi.T @ (weights * (p - targets)) + penalty(theta)[1]
        hess = (phi.T * (weights * p * (1 - p))) @ phi + prior_hessian
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6:
            trial = theta - scale * step
            trial_value = objective(trial)
            if trial_value <= value:
                break
            scale *= 0.5
        else:
            break
        theta, change, value = trial, value - trial_value, trial_value
        if change < 1e-10:
            break
    p = sigmoid(phi @ theta)
    hess = (phi.T * (weights * p * (1 - p))) @ phi + prior_hessian
    return theta, hess
