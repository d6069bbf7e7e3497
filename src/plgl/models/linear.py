"""Bayesian linear preference model: the default.

A linear classifier of "liked" over latents, like a linear SVM, but with the logistic loss and a
Gaussian posterior over its weights (Laplace approximation). The posterior gives what an SVM does
not: calibrated probabilities that account for what is still unknown, and the uncertainty that
query selection needs. Labels and pairwise comparisons share one weight vector: a like is a
logistic observation of (z, 1), a comparison "a over b" one of (a - b, 0), so the intercept
(the user's like threshold) is learned from labels only.

`learn` is the online update used per rating: a one-dimensional Laplace step along the posterior
covariance, O(d^2) and independent of how many ratings came before. `refine` recomputes the
exact Laplace posterior (Newton) of the recent observations on top of a folded posterior: every
`FOLD` observations, the oldest window is folded into that posterior and forgotten, so the state
stays bounded (see `LinearPreference`). Evidence fades (half-life 1 / `drift` ratings), so recent
ratings weigh more; when recent ratings surprise the model far more than it expects
(`change_threshold`), it reopens its uncertainty, discounts what came before, and follows the
new taste.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from plgl.errors import InvalidInputError
from plgl.models._base import Pairs
from plgl.models.laplace import PROBIT, moderate, newton_map, sigmoid, symmetric
from plgl.models.online import (
    REFINE_BUDGET,
    OnlinePreferenceModel,
    attributes_state,
    restore_attributes,
)
from plgl.models.priors import GaussianPrior

FOLD = 50  # observations folded into the posterior at a time

# What `get_state` saves: the folded posterior, the recent window, counters, and where the last
# refit stood (so that `set_state` rebuilds the live posterior exactly by replaying from there).
_STATE = [
    "n_features_in_",
    "classes_",
    "base_mean_",
    "base_covariance_",
    "base_step_",
    "folds_",
    "_phi",
    "_targets",
    "_weights",
    "_steps",
    "change_steps_",
    "n_updates_",
    "surprise_",
    "usual_surprise_",
    "changes_detected_",
    "_anchor",
    "_anchor_tracking",
]


class LinearPreference(OnlinePreferenceModel):
    """Bayesian logistic preference model with online updates and a bounded state.

    Args:
        prior_scale: prior standard deviation of each weight when `prior` is None; None is
            4 / sqrt(d), so that the prior log-odds of a random prior sample (z ~ N(0, I_d))
            have standard deviation 4 whatever the dimension.
        intercept_scale: prior standard deviation of the intercept (the like threshold).
        drift: forgetting rate: evidence loses half its weight every 1 / drift ratings.
        change_threshold: excess surprise (nats, averaged over about 10 ratings) that is taken as
            a change of taste; None never detects one.
        change_discount: weight kept by ratings given before a detected change of taste.
        prior: a full Gaussian prior over the d weights (mean and covariance: a population's
            taste, a generator's geometry); None is isotropic with `prior_scale`. The intercept
            keeps its own prior either way.

    Folding: observations are kept in a window; the oldest `FOLD` of them, at fixed observation
    counts (so a live model, a replay and a resumed one hold the same folded posterior), are
    folded into the posterior by an exact Laplace fit, which becomes the prior of later
    observations. `refine` folds while the window holds 2 * `FOLD` or more (the last `FOLD` or
    more stay exact); `learn` folds itself at 3 * `FOLD`, when no `refine` came.
    A folded posterior ages like the observations it holds: at a refit its evidence (its
    precision beyond the prior's) is weighted by 0.5^(age * drift), times `change_discount` when
    a change of taste was detected after it, the Gaussian form of the weights each of its
    observations would get.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> model = LinearPreference().fit(X, y)
    >>> bool(model.predict_proba([[3.0, 0, 0, 0]])[0, 1] > 0.9)
    True
    """

    mean_: np.ndarray  # (d + 1,) posterior mean of (weights, intercept)
    covariance_: np.ndarray  # (d + 1, d + 1) posterior covariance
    prior_scale_: float  # the prior standard deviation of each weight of an isotropic prior
    base_mean_: np.ndarray  # (d + 1,) the folded posterior: mean ...
    base_covariance_: np.ndarray  # (d + 1, d + 1) ... and covariance
    base_step_: int  # the observation count the folded posterior covers
    folds_: int  # folds so far (0: the folded posterior is the prior)
    change_steps_: list[int]  # observation counts at which changes of taste were detected
    _phi: list[np.ndarray]  # the window's observations: features (d + 1,) ...
    _targets: list[float]  # ... labels ...
    _weights: list[float]  # ... weights ...
    _steps: list[int]  # ... and observation counts
    _anchor: np.ndarray  # (3,) window size at the last refit (-1: none), n_updates_, changes
    _anchor_tracking: np.ndarray  # (3,) surprise_, usual_surprise_, changes_detected_ there
    _prior_mean: np.ndarray | None  # (d + 1,) or None for zero
    _prior_precision: np.ndarray  # (d + 1,) diagonal, or (d + 1, d + 1)
    _prior_covariance: np.ndarray  # (d + 1, d + 1)

    def __init__(
        self,
        prior_scale: float | None = None,
        intercept_scale: float = 2.0,
        drift: float = 0.002,
        change_threshold: float | None = 0.25,
        change_discount: float = 0.3,
        prior: GaussianPrior | None = None,
    ) -> None:
        self.prior_scale = prior_scale
        self.intercept_scale = intercept_scale
        self.drift = drift
        self.change_threshold = change_threshold
        self.change_discount = change_discount
        self.prior = prior

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
        labelled = np.column_stack([X, np.ones(len(X))])
        compared = np.column_stack([preferred - other, np.zeros(len(preferred))])
        self._phi = list(np.vstack([labelled, compared]))
        self._targets = np.concatenate([y01, np.ones(len(preferred))]).tolist()
        self._weights = np.concatenate([weights, np.ones(len(preferred))]).tolist()
        self.n_updates_ = len(self._targets)
        self._steps = [self.n_updates_] * self.n_updates_  # one batch: all equally recent
        self._refit(len(self._phi))  # exact on the whole batch: no folding

    def refine(self, budget: float | None = REFINE_BUDGET) -> bool:
        """Recompute the posterior exactly (damped Newton, Laplace) from the folded posterior
        and the window of recent observations.

        Online updates approximate; this makes the model exact again. Old observations are
        folded first (whatever the budget: that bounds the state). Returns False when there is
        nothing to learn from yet or the refit is skipped. Older observations weigh less
        (half-life `1 / drift` ratings) and those before a detected change of taste are
        discounted by `change_discount`. The refit is skipped (returns False unless it folded)
        when window * d^2 exceeds `budget`.
        """
        check_is_fitted(self, "mean_")
        folded = self._fold_full()
        n, k = len(self._targets), len(self.mean_)
        if (n == 0 and self.folds_ == 0) or (budget is not None and n * k * k > budget):
            if folded:
                self._refit(n)
            return folded
        self._refit(n)
        return True

    def partial_fit(
        self,
        X: Any,
        y: Any,
        classes: Any = None,
        sample_weight: Any = None,
    ) -> LinearPreference:
        """Online update with labelled rows X (n, d), y (n,), in order."""
        first = "mean_" not in vars(self)
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

    @property
    def change_step_(self) -> int:
        """The observation count at which the last change of taste was detected (0: none)."""
        check_is_fitted(self, "mean_")
        return self.change_steps_[-1] if self.change_steps_ else 0

    def weight_covariance(self) -> np.ndarray:
        """(d, d) posterior covariance of the weights (a copy)."""
        check_is_fitted(self, "mean_")
        return np.array(self.covariance_[:-1, :-1])

    def decision_function(self, X: Any) -> np.ndarray:
        X = self._check_x(X)
        phi = np.column_stack([X, np.ones(len(X))])
        variance = ((phi @ self.covariance_) * phi).sum(axis=1)
        return np.asarray(moderate(phi @ self.mean_, variance))

    def predictive_covariance(self, X: Any) -> np.ndarray:
        X = self._check_x(X)
        phi = np.column_stack([X, np.ones(len(X))])
        return np.asarray(phi @ self.covariance_ @ phi.T)

    def uncertainty(self, X: Any) -> np.ndarray:
        """(n,) predictive variance of the log-odds (the diagonal alone: O(n d^2))."""
        X = self._check_x(X)
        phi = np.column_stack([X, np.ones(len(X))])
        return np.asarray(((phi @ self.covariance_) * phi).sum(axis=1))

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        check_is_fitted(self, "mean_")
        mean = torch.as_tensor(self.mean_, dtype=z.dtype)
        cov = torch.as_tensor(self.covariance_, dtype=z.dtype)
        phi = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], dim=1)
        variance = ((phi @ cov) * phi).sum(dim=1)
        return (phi @ mean) / torch.sqrt(1.0 + PROBIT * variance)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    # ---------------------------------------------------------------- internals
    def _set_prior(self, d: int) -> None:
        """The prior over (weights, intercept) for d latent dimensions."""
        if self.prior is None:
            scale = 4.0 / math.sqrt(d) if self.prior_scale is None else self.prior_scale
            variance = np.append(np.full(d, scale**2), self.intercept_scale**2)
            self._prior_mean = None
            self._prior_precision = 1.0 / variance
            self._prior_covariance = np.diag(variance)
            return
        if self.prior.dim != d:
            raise InvalidInputError(
                f"the prior is over {self.prior.dim} weights but the latents have {d} dimensions"
            )
        cov = np.zeros((d + 1, d + 1))
        cov[:d, :d] = self.prior.covariance
        cov[d, d] = self.intercept_scale**2
        precision = np.zeros((d + 1, d + 1))
        precision[:d, :d] = self.prior.precision()
        precision[d, d] = 1.0 / self.intercept_scale**2
        self._prior_mean = np.append(self.prior.mean, 0.0)
        self._prior_precision = symmetric(precision)
        self._prior_covariance = cov

    def _reset(self, d: int) -> None:
        self._set_prior(d)
        self.mean_ = np.zeros(d + 1) if self._prior_mean is None else self._prior_mean.copy()
        self.covariance_ = self._prior_covariance.copy()
        self.base_mean_ = self.mean_.copy()
        self.base_covariance_ = self.covariance_.copy()
        self.base_step_ = 0
        self.folds_ = 0
        self._phi = []
        self._targets = []
        self._weights = []
        self._steps = []
        self.n_updates_ = 0
        self.change_steps_ = []
        self.surprise_ = 0.0
        self.usual_surprise_ = 0.0
        self.changes_detected_ = 0
        self._anchor = np.array([-1, 0, 0])
        self._anchor_tracking = np.zeros(3)

    def _observe(self, phi: np.ndarray, label: float, weight: float) -> None:
        """Keep one observation (features phi (d+1,), label in {0, 1}, weight >= 0) and update
        the posterior online; fold when the window is twice `FOLD` (no `refine` came)."""
        self.n_updates_ += 1
        self._phi.append(phi)
        self._targets.append(label)
        self._weights.append(weight)
        self._steps.append(self.n_updates_)
        self._advance(phi, label, weight)
        if len(self._phi) >= 3 * FOLD:  # no `refine` came for long: fold here
            self._fold_full()
            self._refit(len(self._phi))

    def _advance(self, phi: np.ndarray, label: float, weight: float) -> None:
        """One online Laplace update of the posterior (O(d^2))."""
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
            p = sigmoid(f)
            grad = weight * (label - p) - (f - m) / v
            hess = -weight * p * (1 - p) - 1.0 / v
            step = grad / hess
            f -= step
            if abs(step) < 1e-9:
                break
        p = sigmoid(f)
        c = weight * p * (1 - p)
        self.mean_ += s * ((f - m) / v)
        cov -= np.outer(s, s * (c / (1.0 + c * v)))

    def _track_surprise(self, m: float, v: float, label: float, weight: float) -> None:
        """Averages of (log-loss - expected log-loss) over ~10 and ~50 ratings; a spike of the
        first over the second means a new taste."""
        if self.change_threshold is None:
            return
        p = min(max(sigmoid(moderate(m, v)), 1e-6), 1 - 1e-6)
        loss = -math.log(p if label else 1.0 - p)
        entropy = -(p * math.log(p) + (1 - p) * math.log(1 - p))
        excess = min(weight, 1.0) * (loss - entropy)
        self.surprise_ = 0.9 * self.surprise_ + 0.1 * excess
        # A model that is merely miscalibrated is surprised all the time; a change of taste
        # shows as surprise well above the model's own long-run level.
        self.usual_surprise_ = 0.995 * self.usual_surprise_ + 0.005 * excess
        if self.surprise_ - max(self.usual_surprise_, 0.0) > self.change_threshold:
            self.covariance_ += self._prior_covariance  # reopen: as unsure as the prior again
            self.surprise_ = 0.0
            self.changes_detected_ += 1
            self.change_steps_.append(self.n_updates_)

    def _fold_full(self) -> bool:
        """Fold the oldest observations, `FOLD` at a time, into the base posterior, keeping at
        least `FOLD` recent ones exact.

        The folded likelihood is expanded to second order at the posterior mode of the base and
        the window's first 2 * `FOLD` observations (not at the mode of the folded ones alone,
        which later evidence moves away from): the new base has that mode's curvature and the
        folded terms' gradient there.
        """
        folded = False
        while len(self._phi) >= 2 * FOLD:
            step = self._steps[FOLD - 1]
            last_change = max((c for c in self.change_steps_ if c <= step), default=0)
            later = max(
                (c for c in self.change_steps_ if c <= self._steps[2 * FOLD - 1]), default=0
            )
            mode, _ = self._laplace(2 * FOLD, self._steps[2 * FOLD - 1], later)
            precision, mean = self._base_prior(step, last_change)
            phi, targets, w = self._window(FOLD, step, last_change)
            p = sigmoid(phi @ mode)
            prior_hessian = precision if precision.ndim == 2 else np.diag(precision)
            hess = (phi.T * (w * p * (1 - p))) @ phi + prior_hessian
            offset = mode if mean is None else mode - mean
            pull = prior_hessian @ offset
            gradient = phi.T @ (w * (targets - p)) - pull
            self.base_covariance_ = symmetric(np.linalg.inv(hess))
            self.base_mean_ = mode + self.base_covariance_ @ gradient
            self.base_step_ = step
            self.folds_ += 1
            for window in (self._phi, self._targets, self._weights, self._steps):
                del window[:FOLD]
            folded = True
        return folded

    def _refit(self, size: int) -> None:
        """The exact posterior of the base and the first `size` observations of the window."""
        last_change = self.change_steps_[-1] if self.change_steps_ else 0
        theta, hess = self._laplace(size, self.n_updates_, last_change)
        self.mean_ = theta
        self.covariance_ = symmetric(np.linalg.inv(hess))
        self._anchor = np.array([size, self.n_updates_, len(self.change_steps_)])
        tracking = (self.surprise_, self.usual_surprise_, self.changes_detected_)
        self._anchor_tracking = np.array(tracking, dtype=np.float64)

    def _laplace(self, size: int, now: int, last_change: int) -> tuple[np.ndarray, np.ndarray]:
        """Mode and Hessian of the posterior of the base and the window's first `size`
        observations, aged to observation count `now`."""
        phi, targets, w = self._window(size, now, last_change)
        precision, mean = self._base_prior(now, last_change)
        start = np.zeros(phi.shape[1]) if mean is None else mean
        return newton_map(phi, targets, w, precision, start, mean)

    def _window(
        self, size: int, now: int, last_change: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (size, d+1), targets (size,) and weights (size,) of the window's first
        `size` observations, aged to count `now` and discounted before `last_change`."""
        phi = np.asarray(self._phi[:size]).reshape(size, len(self.base_mean_))
        steps = np.asarray(self._steps[:size])
        w = np.asarray(self._weights[:size]) * 0.5 ** ((now - steps) * self.drift)
        w[steps < last_change] *= self.change_discount
        return phi, np.asarray(self._targets[:size]), w

    def _base_prior(self, now: int, last_change: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Precision and mean (None: zero) of the base posterior aged to count `now`: the prior,
        plus the folded evidence weighted like its observations would be."""
        if self.folds_ == 0:
            return self._prior_precision, self._prior_mean
        p0 = self._prior_precision
        p0 = p0 if p0.ndim == 2 else np.diag(p0)
        m0 = np.zeros(len(p0)) if self._prior_mean is None else self._prior_mean
        kept = 0.5 ** ((now - self.base_step_) * self.drift)
        if last_change > self.base_step_:
            kept *= self.change_discount
        folded = np.linalg.inv(self.base_covariance_)
        precision = symmetric(p0 + kept * (folded - p0))
        shift = p0 @ m0
        mean = np.linalg.solve(precision, shift + kept * (folded @ self.base_mean_ - shift))
        return precision, np.asarray(mean)

    # --------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything learned, as named arrays (no pickle): `set_state` restores it exactly.

        The folded posterior, the window of at most 3 * `FOLD` - 1 recent observations and
        counters: about (d + 1)^2 + 150 (d + 1) numbers, whatever the number of ratings. Keys
        are "<kind>:<attribute>"; constructor parameters are not included.

        >>> model = LinearPreference().start(2)
        >>> model.learn(np.array([1.0, 0.0]), 1)
        >>> twin = LinearPreference().set_state(model.get_state())
        >>> bool(np.array_equal(twin.mean_, model.mean_))
        True
        """
        check_is_fitted(self, "mean_")
        return attributes_state(self, _STATE)

    def set_state(self, state: dict[str, np.ndarray]) -> LinearPreference:
        """Restore what `get_state` returned (this model's parameters are kept).

        The live posterior is rebuilt as it was made: the last refit, then the online updates
        of the observations after it.
        """
        restore_attributes(self, state, _STATE)
        self._set_prior(int(self.n_features_in_))
        k = self.n_features_in_ + 1
        if self.base_covariance_.shape != (k, k) or self._anchor.shape != (3,):
            raise InvalidInputError(f"state does not describe a model over {k - 1} dimensions")
        final = (self.n_updates_, list(self.change_steps_))
        size, self.n_updates_, changes = (int(v) for v in self._anchor)
        self.change_steps_ = final[1][:changes]
        self.surprise_, self.usual_surprise_, detected = (float(v) for v in self._anchor_tracking)
        self.changes_detected_ = int(detected)
        if size < 0:
            self.mean_, self.covariance_ = self.base_mean_.copy(), self.base_covariance_.copy()
        else:
            self._refit(size)
        for phi, label, weight in zip(
            self._phi[max(size, 0) :],
            self._targets[max(size, 0) :],
            self._weights[max(size, 0) :],
            strict=True,
        ):
            self.n_updates_ += 1
            self._advance(phi, label, weight)
        if (self.n_updates_, self.change_steps_) != final:
            raise InvalidInputError(
                "state is inconsistent: its window does not replay to its counts"
            )
        return self


__all__ = ["FOLD", "LinearPreference", "Pairs"]
