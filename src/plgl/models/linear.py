"""Bayesian linear preference model: the default.

A linear classifier of "liked" over latents, like a linear SVM, but with the logistic loss and a
Gaussian posterior over its weights (Laplace approximation). The posterior gives what an SVM does
not: calibrated probabilities that account for what is still unknown, and the uncertainty that
query selection needs. Labels and pairwise comparisons share one weight vector: a like is a
logistic observation of (z, 1), a comparison "a over b" one of (a - b, 0), so the intercept
(the user's like threshold) is learned from labels only.

`partial_fit` is the online update used per rating: a one-dimensional Laplace step along the
posterior covariance, O(d^2) and independent of how many ratings came before. `refine` recomputes
the exact Laplace posterior (Newton) from every observation when that is affordable; `fit` is
`refine` on a batch. Evidence fades (half-life 1 / `drift` ratings), so recent ratings weigh more;
when recent ratings surprise the model far more than it expects (`change_threshold`), it reopens
its uncertainty, discounts what came before, and follows the new taste.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from plgl.models._base import BasePreferenceModel, Pairs

_PROBIT = math.pi / 8.0  # sigmoid(x) ~ Phi(sqrt(pi/8) x): moderates log-odds by the variance


class LinearPreference(BasePreferenceModel):
    """Bayesian logistic preference model with online updates.

    Args:
        prior_scale: prior standard deviation of each weight; None is 4 / sqrt(d), so that the
            prior log-odds of a random prior sample (z ~ N(0, I_d)) have standard deviation 4
            whatever the dimension (a user is about as decisive in 512 dimensions as in 16).
        intercept_scale: prior standard deviation of the intercept (the like threshold).
        drift: forgetting rate: evidence loses half its weight every 1 / drift ratings.
        change_threshold: excess surprise (nats, averaged over about 10 ratings) that is taken as
            a change of taste; None never detects one.
        change_discount: weight kept by ratings given before a detected change of taste.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> model = LinearPreference().fit(X, y)
    >>> bool(model.predict_proba([[3.0, 0, 0, 0]])[0, 1] > 0.9)
    True
    """

    mean_: np.ndarray  # (d + 1,) posterior mean of (weights, intercept)
    prior_scale_: float  # the prior standard deviation of each weight in use
    covariance_: np.ndarray  # (d + 1, d + 1) posterior covariance
    change_step_: int  # the rating at which the last change of taste was detected
    _prior_variance: np.ndarray
    _phi: list[np.ndarray]  # every observation's features (d + 1,), for `refine`
    _targets: list[float]
    _weights: list[float]
    _steps: list[int]

    def __init__(
        self,
        prior_scale: float | None = None,
        intercept_scale: float = 2.0,
        drift: float = 0.002,
        change_threshold: float | None = 0.25,
        change_discount: float = 0.3,
    ) -> None:
        self.prior_scale = prior_scale
        self.intercept_scale = intercept_scale
        self.drift = drift
        self.change_threshold = change_threshold
        self.change_discount = change_discount

    # ----------------------------------------------------------------- fitting
    def _fit(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> None:
        self._reset(X.shape[1])
        phi, targets, w = self._design(X, y01, weights, preferred, other)
        self._phi, self._targets, self._weights = list(phi), targets.tolist(), w.tolist()
        self.n_updates_ = len(targets)
        self._steps = [self.n_updates_] * len(targets)  # one batch: all equally recent
        self.refine(budget=None)

    def refine(self, budget: float | None = 2e7) -> bool:
        """Recompute the posterior exactly (damped Newton, Laplace) from every observation.

        Online updates approximate; this makes the model exact again. Older observations weigh
        less (half-life `1 / drift` ratings) and those before a detected change of taste are
        discounted by `change_discount`. Skipped (returns False) when n * d^2 exceeds `budget`.
        """
        check_is_fitted(self, "mean_")
        n, k = len(self._targets), len(self.mean_)
        if n == 0 or (budget is not None and n * k * k > budget):
            return False
        phi = np.asarray(self._phi)
        targets = np.asarray(self._targets)
        age = self.n_updates_ - np.asarray(self._steps)
        w = np.asarray(self._weights) * 0.5 ** (age * self.drift)
        w[np.asarray(self._steps) < self.change_step_] *= self.change_discount
        theta, hess = _newton_map(phi, targets, w, 1.0 / self._prior_variance, self.mean_)
        self.mean_ = theta
        self.covariance_ = _symmetric(np.linalg.inv(hess))
        return True

    def partial_fit(
        self,
        X: Any,
        y: Any,
        classes: Any = None,
        sample_weight: Any = None,
    ) -> LinearPreference:
        """Online update with labelled rows X (n, d), y (n,), in order."""
        first = not hasattr(self, "mean_")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
        if first:
            if classes is not None:
                self.classes_ = np.unique(classes)
            self._reset(X.shape[1])
        y01 = self._encode_labels(y)
        weights = self._check_weights(sample_weight, len(y01))
        for row, label, weight in zip(X, y01, weights, strict=True):
            self.learn(row, label, weight)
        return self

    def learn(self, latent: np.ndarray, label: float, weight: float = 1.0) -> None:
        """Online update with one labelled latent (d,): the per-rating fast path (no checks)."""
        self._observe(np.append(latent, 1.0), label, weight)

    def learn_pair(self, preferred: np.ndarray, other: np.ndarray, weight: float = 1.0) -> None:
        """Online update with one comparison of two latents (d,): `preferred` won (no checks)."""
        self._observe(np.append(preferred - other, 0.0), 1.0, weight)

    def partial_fit_pairs(
        self, preferred: Any, other: Any, sample_weight: Any = None
    ) -> LinearPreference:
        """Online update with comparisons: row i of `preferred` (m, d) beat row i of `other`."""
        check_is_fitted(self)
        preferred, other = self._check_pairs((preferred, other), self.n_features_in_)
        weights = self._check_weights(sample_weight, len(preferred))
        for a, b, weight in zip(preferred, other, weights, strict=True):
            self.learn_pair(a, b, weight)
        return self

    def start(self, n_features: int) -> LinearPreference:
        """An unfitted model becomes the prior over `n_features` latents, ready for updates."""
        self.n_features_in_ = n_features
        self.classes_ = np.array([0, 1])
        self._reset(n_features)
        return self

    # -------------------------------------------------------------- prediction
    @property
    def coef_(self) -> np.ndarray:
        """(d,) posterior mean of the weights."""
        check_is_fitted(self, "mean_")
        return np.asarray(self.mean_[:-1])

    @property
    def intercept_(self) -> float:
        """Posterior mean of the intercept."""
        check_is_fitted(self, "mean_")
        return float(self.mean_[-1])

    def decision_function(self, X: Any) -> np.ndarray:
        X = self._check_x(X)
        phi = np.column_stack([X, np.ones(len(X))])
        variance = ((phi @ self.covariance_) * phi).sum(axis=1)
        return np.asarray((phi @ self.mean_) / np.sqrt(1.0 + _PROBIT * variance))

    def predictive_covariance(self, X: Any) -> np.ndarray:
        X = self._check_x(X)
        phi = np.column_stack([X, np.ones(len(X))])
        return np.asarray(phi @ self.covariance_ @ phi.T)

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        check_is_fitted(self, "mean_")
        mean = torch.as_tensor(self.mean_, dtype=z.dtype)
        cov = torch.as_tensor(self.covariance_, dtype=z.dtype)
        phi = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], dim=1)
        variance = ((phi @ cov) * phi).sum(dim=1)
        return (phi @ mean) / torch.sqrt(1.0 + _PROBIT * variance)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # ---------------------------------------------------------------- internals
    def _reset(self, d: int) -> None:
        self.prior_scale_ = 4.0 / math.sqrt(d) if self.prior_scale is None else self.prior_scale
        self._prior_variance = np.append(np.full(d, self.prior_scale_**2), self.intercept_scale**2)
        self.mean_ = np.zeros(d + 1)
        self.covariance_ = np.diag(self._prior_variance)
        self._phi = []
        self._targets = []
        self._weights = []
        self._steps = []
        self.n_updates_ = 0
        self.change_step_ = 0
        self.surprise_ = 0.0
        self.usual_surprise_ = 0.0
        self.changes_detected_ = 0

    def _design(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        labelled = np.column_stack([X, np.ones(len(X))])
        compared = np.column_stack([preferred - other, np.zeros(len(preferred))])
        phi = np.vstack([labelled, compared])
        targets = np.concatenate([y01, np.ones(len(preferred))])
        return phi, targets, np.concatenate([weights, np.ones(len(preferred))])

    def _observe(self, phi: np.ndarray, label: float, weight: float) -> None:
        """One online Laplace update with features phi (d+1,), label in {0, 1}, weight >= 0."""
        self.n_updates_ += 1
        self._phi.append(phi)
        self._targets.append(label)
        self._weights.append(weight)
        self._steps.append(self.n_updates_)
        cov = self.covariance_
        cov *= 2.0**self.drift  # forgetting: evidence halves every 1 / drift ratings
        s = cov @ phi
        v = float(phi @ s)
        m = float(phi @ self.mean_)
        if v <= 0.0 or weight == 0.0:
            return
        self._track_surprise(m, v, label, weight)
        f = m  # posterior mode of the log-odds f ~ N(m, v) x sigmoid(f)^label-weighted
        for _ in range(20):
            p = _sigmoid(f)
            grad = weight * (label - p) - (f - m) / v
            hess = -weight * p * (1 - p) - 1.0 / v
            step = grad / hess
            f -= step
            if abs(step) < 1e-9:
                break
        p = _sigmoid(f)
        c = weight * p * (1 - p)
        self.mean_ += s * ((f - m) / v)
        cov -= np.outer(s, s * (c / (1.0 + c * v)))

    def _track_surprise(self, m: float, v: float, label: float, weight: float) -> None:
        """Averages of (log-loss - expected log-loss) over ~10 and ~50 ratings; a spike of the
        first over the second means a new taste."""
        if self.change_threshold is None:
            return
        p = min(max(_sigmoid(m / math.sqrt(1.0 + _PROBIT * v)), 1e-6), 1 - 1e-6)
        loss = -math.log(p if label else 1.0 - p)
        entropy = -(p * math.log(p) + (1 - p) * math.log(1 - p))
        excess = min(weight, 1.0) * (loss - entropy)
        self.surprise_ = 0.9 * self.surprise_ + 0.1 * excess
        # A model that is merely miscalibrated is surprised all the time; a change of taste
        # shows as surprise well above the model's own long-run level.
        self.usual_surprise_ = 0.995 * self.usual_surprise_ + 0.005 * excess
        if self.surprise_ - max(self.usual_surprise_, 0.0) > self.change_threshold:
            self.covariance_[np.diag_indices_from(self.covariance_)] += self._prior_variance
            self.surprise_ = 0.0
            self.changes_detected_ += 1
            self.change_step_ = self.n_updates_

    # --------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything learned, as named arrays (no pickle): `set_state` restores it exactly.

        Keys are "<kind>:<attribute>" with kind "array", "list" (a list of numbers, or of
        equal-length arrays, stacked) or "scalar"; constructor parameters are not included.

        >>> model = LinearPreference().start(2)
        >>> model.learn(np.array([1.0, 0.0]), 1)
        >>> twin = LinearPreference().set_state(model.get_state())
        >>> bool(np.array_equal(twin.mean_, model.mean_))
        True
        """
        check_is_fitted(self, "mean_")
        params = self.get_params()
        state: dict[str, np.ndarray] = {}
        for name, value in vars(self).items():
            if name in params:
                continue
            if isinstance(value, np.ndarray):
                kind = "array"
            elif isinstance(value, list):
                kind = "list"
            elif isinstance(value, bool | int | float | np.number):
                kind = "scalar"
            else:
                raise TypeError(f"attribute {name!r} ({type(value).__name__}) has no array form")
            array = np.array(value)
            if array.dtype == object:
                raise TypeError(f"attribute {name!r} is not numeric")
            state[f"{kind}:{name}"] = array
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> LinearPreference:
        """Restore what `get_state` returned (this model's parameters are kept)."""
        params = self.get_params()
        for key, value in state.items():
            kind, _, name = key.partition(":")
            if name in params or not name or name.startswith("__"):
                raise ValueError(f"state key {key!r} does not name a learned attribute")
            if kind == "array":
                setattr(self, name, np.array(value))
            elif kind == "list":
                setattr(self, name, list(np.array(value)) if value.ndim == 2 else value.tolist())
            elif kind == "scalar":
                setattr(self, name, value.item())
            else:
                raise ValueError(f"state key {key!r} has an unknown kind {kind!r}")
        check_is_fitted(self, "mean_")
        return self


def _newton_map(
    phi: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    prior_precision: np.ndarray,
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """MAP of weighted logistic regression with a N(0, diag(1/prior_precision)) prior.

    Newton with backtracking (the objective is strictly convex, but full steps can overshoot).
    Returns the mode (k,) and the Hessian (k, k) there.
    """

    def objective(theta: np.ndarray) -> float:
        f = phi @ theta
        nll = weights @ (np.logaddexp(0.0, f) - targets * f)
        return float(nll + 0.5 * prior_precision @ theta**2)

    theta = start.copy()
    value = objective(theta)
    for _ in range(100):
        p = _sigmoid(phi @ theta)
        grad = phi.T @ (weights * (p - targets)) + prior_precision * theta
        hess = (phi.T * (weights * p * (1 - p))) @ phi + np.diag(prior_precision)
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
    p = _sigmoid(phi @ theta)
    hess = (phi.T * (weights * p * (1 - p))) @ phi + np.diag(prior_precision)
    return theta, hess


def _sigmoid(x: Any) -> Any:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _symmetric(a: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (a + a.T))


__all__ = ["LinearPreference", "Pairs"]
