"""Laplace approximation of Bayesian logistic regression: the numerics shared by the models.

The mode of a weighted logistic likelihood under a Gaussian prior (damped Newton), over the
weights (`newton_map`, for many observations) or over the observations' log-odds (`window_mode`,
for fewer observations than weights), and the probit moderation of log-odds by their variance
(MacKay, "The evidence framework applied to classification networks", Neural Computation 1992).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.linalg import cho_solve, solve_triangular

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
    lapse: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """MAP of weighted logistic regression under a Gaussian prior, and the Hessian there.

    Args:
        phi: (n, k) features of the observations.
        targets: (n,) labels in [0, 1].
        weights: (n,) non-negative observation weights.
        prior_precision: (k,) a diagonal prior precision, or (k, k) a full one.
        start: (k,) where Newton starts.
        prior_mean: (k,) the prior mean; None is zero.
        lapse: the lapse rate of the likelihood (`lapse_terms`); 0 is plain logistic.

    Newton with backtracking (the objective is strictly convex for lapse 0, but full steps can
    overshoot); with a lapse, Fisher scoring (the expected Hessian, positive definite) with the
    same backtracking.

    Returns:
        The mode (k,) and the (expected) Hessian (k, k) of the negative log posterior there.
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
        if lapse == 0.0:
            nll = weights @ (np.logaddexp(0.0, f) - targets * f)
        else:
            nll = -weights @ lapse_log_likelihood(f, targets, lapse)
        return float(nll + penalty(theta)[0])  # the prior's quadratic form

    def terms(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n,) weighted derivative of the negative log-likelihood in f, and its curvature."""
        if lapse == 0.0:
            p = sigmoid(phi @ theta)
            return weights * (p - targets), weights * p * (1 - p)
        score, information = lapse_terms(phi @ theta, targets, lapse)
        return -weights * score, weights * information

    prior_hessian = prior_precision if full else np.diag(prior_precision)
    theta = start.copy()
    value = objective(theta)
    for _ in range(100):
        slope, curvature = terms(theta)
        grad = phi.T @ slope + penalty(theta)[1]
        hess = (phi.T * curvature) @ phi + prior_hessian
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
    hess = (phi.T * terms(theta)[1]) @ phi + prior_hessian
    return theta, hess


def window_mode(
    phi: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    mean: np.ndarray,
    cross: np.ndarray,
    lapse: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The posterior mode of `newton_map`, found over the n observations' log-odds f = phi theta.

    The prior theta ~ N(mean, S) makes f ~ N(phi mean, K), K = phi S phi^T (n, n), and the mode
    is mean + S phi^T a for the a at which Newton on f stops (Rasmussen & Williams, "Gaussian
    Processes for Machine Learning", 2006, algorithm 3.1, with the same backtracking as
    `newton_map`): O(n^2 k + n^3) per step instead of O(n k^2 + k^3), for n < k.

    Args:
        phi: (n, k) features of the observations.
        targets: (n,) labels in [0, 1].
        weights: (n,) non-negative observation weights.
        mean: (k,) the prior mean.
        cross: (k, n) S phi^T, S the prior covariance.
        lapse: the lapse rate of the likelihood (`lapse_terms`); 0 is plain logistic.

    Returns:
        The mode (k,), the (expected) curvatures (n,) of the negative log-likelihood in f there
        and the lower Cholesky factor (n, n) of I + R K R, R = diag(sqrt(curvatures)).
    """
    n = len(targets)
    gram = symmetric(phi @ cross)
    center = phi @ mean

    def terms(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        score, information = lapse_terms(f, targets, lapse)
        return weights * score, weights * information

    def factor(curvature: np.ndarray) -> np.ndarray:
        root = np.sqrt(curvature)
        return np.linalg.cholesky(np.eye(n) + root[:, None] * gram * root[None, :])

    a = np.zeros(n)
    f = center.copy()
    value = -float(weights @ lapse_log_likelihood(f, targets, lapse))
    for _ in range(100 if n else 0):
        score, curvature = terms(f)
        root = np.sqrt(curvature)
        lower = factor(curvature)
        b = curvature * (f - center) + score
        step = b - root * cho_solve((lower, True), root * (gram @ b)) - a
        scale = 1.0
        while scale > 1e-6:
            trial = a + scale * step
            trial_f = center + gram @ trial
            fit = float(weights @ lapse_log_likelihood(trial_f, targets, lapse))
            trial_value = 0.5 * float(trial @ (trial_f - center)) - fit
            if trial_value <= value:
                break
            scale *= 0.5
        else:
            break
        a, f, change, value = trial, trial_f, value - trial_value, trial_value
        if change < 1e-10:
            break
    curvature = terms(f)[1]
    return mean + cross @ a, curvature, factor(curvature)


def window_covariance(
    covariance: np.ndarray, cross: np.ndarray, curvature: np.ndarray, lower: np.ndarray
) -> np.ndarray:
    """(k, k) the Laplace posterior covariance (S^-1 + phi^T W phi)^-1 of `window_mode`, by
    Woodbury: S - S phi^T R (I + R K R)^-1 R phi S, from S (k, k), cross = S phi^T (k, n), the
    curvatures W (n,) and the factor `lower` (n, n) that `window_mode` returned."""
    half = solve_triangular(lower, (cross * np.sqrt(curvature)).T, lower=True)
    return symmetric(covariance - half.T @ half)


def lapse_terms(f: Any, targets: Any, lapse: float) -> tuple[Any, Any]:
    """Score and Fisher information of log-odds f under the lapse likelihood.

    P(label 1) = lapse / 2 + (1 - lapse) sigmoid(f): with probability `lapse` the answer is a
    coin toss (a mis-swipe), else it follows the taste (Wichmann & Hill, "The psychometric
    function: I. Fitting, sampling, and goodness of fit", Perception & Psychophysics 2001).

    Returns:
        d log-likelihood / df and the Fisher information E[-d^2 log-likelihood / df^2], both
        shaped like f; for lapse 0 they are target - sigmoid(f) and sigmoid(f)(1 - sigmoid(f)).
    """
    p = sigmoid(f)
    if lapse == 0.0:
        return targets - p, p * (1 - p)
    g = 0.5 * lapse + (1.0 - lapse) * p
    slope = (1.0 - lapse) * p * (1 - p)
    spread = g * (1.0 - g)
    return (targets - g) * slope / spread, slope * slope / spread


def lapse_log_likelihood(f: np.ndarray, targets: np.ndarray, lapse: float) -> np.ndarray:
    """(n,) log-likelihood of targets in [0, 1] given log-odds f (n,) under the lapse model."""
    if lapse == 0.0:
        return np.asarray(targets * f - np.logaddexp(0.0, f))
    g = 0.5 * lapse + (1.0 - lapse) * sigmoid(f)
    return np.asarray(targets * np.log(g) + (1.0 - targets) * np.log1p(-g))
