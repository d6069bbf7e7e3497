"""The posterior machinery of the default model: online Laplace updates, exact refits, and
folding old observations into the posterior so that the state stays bounded.

Observations are kept in a window; the oldest `FOLD` of them, at fixed observation counts (so a
replay and a resumed model hold the same folded posterior), are folded into a Gaussian that
becomes the prior of later observations: their log-likelihood is expanded to second order at the
posterior mode of the base and the window's first 2 * `FOLD` observations. `refine` folds while
the window holds 2 * `FOLD` or more (the last `FOLD` or more stay exact); `learn` folds itself at
3 * `FOLD`, when no `refine` came. A folded posterior ages like the observations it holds: at a
refit its evidence (its precision beyond the prior's) is weighted by 0.5^(age * drift), times
`change_discount` when a change of taste was detected after it, the Gaussian form of the weights
each of its observations would get.

What the answers' surprise drives (a learned lapse rate, detected changes of taste) depends on
the posterior each answer met, so a `refine` between answers can shift it: a live model that
refines agrees exactly with a replay of its answers where those agree (always without change
detection and with a fixed lapse). A resume from `get_state` always equals the replay.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Self

import numpy as np
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.models.laplace import (
    lapse_log_likelihood,
    lapse_terms,
    moderate,
    newton_map,
    sigmoid,
    symmetric,
)
from plgl.models.monitor import AnswerMonitor
from plgl.models.online import (
    REFINE_BUDGET,
    OnlinePreferenceModel,
    attributes_state,
    restore_attributes,
)

FOLD = 50  # observations folded into the posterior at a time

# What `get_state` saves: the folded posterior, the recent window, counters, and where the last
# refit stood (so that `set_state` rebuilds the live posterior exactly by replaying from there).
_STATE = [
    "n_features_in_",
    "classes_",
    "base_mean_",
    "base_precision_",
    "base_step_",
    "folds_",
    "_phi",
    "_targets",
    "_weights",
    "_steps",
    "change_steps_",
    "n_updates_",
    "changes_detected_",
    "_anchor",
    "_anchor_tracking",
]


class FoldedLaplace(OnlinePreferenceModel):
    """Bayesian logistic regression over features phi (d + 1,) learned online, with a bounded
    state. Subclasses set the prior (`_set_prior`) and map their inputs to features."""

    drift: float  # evidence halves every 1 / drift observations
    change_threshold: float | None
    change_discount: float
    lapse: float | None
    mean_: np.ndarray  # (d + 1,) posterior mean of (weights, intercept)
    covariance_: np.ndarray  # (d + 1, d + 1) posterior covariance
    n_updates_: int  # observations so far
    changes_detected_: int
    base_mean_: np.ndarray  # (d + 1,) the folded posterior: mean ...
    base_precision_: np.ndarray  # (d + 1, d + 1) ... and precision
    base_step_: int  # the observation count the folded posterior covers
    folds_: int  # folds so far (0: the folded posterior is the prior)
    change_steps_: list[int]  # observation counts at which changes of taste were detected
    _phi: list[np.ndarray]  # the window's observations: features (d + 1,) ...
    _targets: list[float]  # ... labels ...
    _weights: list[float]  # ... weights ...
    _steps: list[int]  # ... and observation counts
    _anchor: np.ndarray  # (3,) window size at the last refit (-1: none), n_updates_, changes
    _anchor_tracking: np.ndarray  # changes_detected_ and the monitor's state there
    monitor_: AnswerMonitor  # the lapse rate and change-of-taste detector
    _prior_mean: np.ndarray | None  # (d + 1,) or None for zero
    _prior_precision: np.ndarray  # (d + 1,) diagonal, or (d + 1, d + 1)
    _prior_covariance: np.ndarray  # (d + 1, d + 1)

    @abstractmethod
    def _set_prior(self, d: int) -> None:
        """Set `_prior_mean`, `_prior_precision` and `_prior_covariance` for d weights."""

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

    def learn(self, latent: np.ndarray, label: float, weight: float = 1.0) -> None:
        """Online update with one labelled latent (d,): the per-rating fast path (no checks)."""
        self._observe(np.append(latent, 1.0), label, weight)

    def learn_pair(self, preferred: np.ndarray, other: np.ndarray, weight: float = 1.0) -> None:
        """Online update with one comparison of two latents (d,): `preferred` won (no checks)."""
        self._observe(np.append(preferred - other, 0.0), 1.0, weight)

    @property
    def lapse_(self) -> float:
        """The lapse rate in use (fixed, or learned from this user's answers)."""
        check_is_fitted(self, "mean_")
        return self.monitor_.lapse

    @property
    def change_step_(self) -> int:
        """The observation count at which the last change of taste was detected (0: none)."""
        check_is_fitted(self, "mean_")
        return self.change_steps_[-1] if self.change_steps_ else 0

    def weight_covariance(self) -> np.ndarray:
        """(d, d) posterior covariance of the weights (a copy)."""
        check_is_fitted(self, "mean_")
        return np.array(self.covariance_[:-1, :-1])

    def _reset(self, d: int) -> None:
        self._set_prior(d)
        self.mean_ = np.zeros(d + 1) if self._prior_mean is None else self._prior_mean.copy()
        self.covariance_ = self._prior_covariance.copy()
        self.base_mean_ = self.mean_.copy()
        precision = self._prior_precision
        self.base_precision_ = precision if precision.ndim == 2 else np.diag(precision)
        self.base_step_ = 0
        self.folds_ = 0
        self._phi = []
        self._targets = []
        self._weights = []
        self._steps = []
        self.n_updates_ = 0
        self.change_steps_ = []
        self.changes_detected_ = 0
        self.monitor_ = AnswerMonitor(self.change_threshold, self.lapse)
        self._anchor = np.array([-1, 0, 0])
        self._anchor_tracking = self._tracking()

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
        lapse = self.monitor_.lapse  # as before this answer
        if self.monitor_.observe(float(sigmoid(moderate(m, v))), label, weight):
            self.covariance_ += self._prior_covariance  # reopen: as unsure as the prior again
            self.changes_detected_ += 1
            self.change_steps_.append(self.n_updates_)
        f = m  # posterior mode of the log-odds f ~ N(m, v) x likelihood^weight
        for _ in range(20):
            if lapse == 0.0:
                p = sigmoid(f)
                score, information = label - p, p * (1 - p)
            else:  # Fisher scoring: the lapse likelihood is not log-concave
                score, information = lapse_terms(f, label, lapse)
            grad = weight * score - (f - m) / v
            hess = -weight * information - 1.0 / v
            step = grad / hess
            f -= step
            if abs(step) < 1e-9:
                break
        if lapse == 0.0:
            p = sigmoid(f)
            c = weight * p * (1 - p)
        else:
            c = weight * lapse_terms(f, label, lapse)[1]
        self.mean_ += s * ((f - m) / v)
        cov -= np.outer(s, s * (c / (1.0 + c * v)))

    def _tracking(self) -> np.ndarray:
        """What the online updates carry besides the posterior: detected changes, monitor."""
        return np.concatenate([[float(self.changes_detected_)], self.monitor_.to_array()])

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
            score, information = lapse_terms(phi @ mode, targets, self.monitor_.lapse)
            prior_hessian = precision if precision.ndim == 2 else np.diag(precision)
            hess = (phi.T * (w * information)) @ phi + prior_hessian
            offset = mode if mean is None else mode - mean
            pull = prior_hessian @ offset
            gradient = phi.T @ (w * score) - pull
            self.base_precision_ = symmetric(hess)
            self.base_mean_ = mode + np.linalg.solve(self.base_precision_, gradient)
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
        self._anchor_tracking = self._tracking()

    def _laplace(
        self, size: int, now: int, last_change: int, lapse: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mode and Hessian of the posterior of the base and the window's first `size`
        observations, aged to observation count `now` (lapse None: the monitor's)."""
        phi, targets, w = self._window(size, now, last_change)
        precision, mean = self._base_prior(now, last_change)
        start = np.zeros(phi.shape[1]) if mean is None else mean
        lapse = self.monitor_.lapse if lapse is None else lapse
        return newton_map(phi, targets, w, precision, start, mean, lapse)

    def _log_evidence(self, lapse: float) -> float:
        """Laplace approximation of log p(window | lapse), up to a constant of the lapse."""
        n = len(self._phi)
        theta, hess = self._laplace(n, self.n_updates_, 0, lapse)
        phi, targets, w = self._window(n, self.n_updates_, 0)
        precision, mean = self._base_prior(self.n_updates_, 0)
        offset = theta if mean is None else theta - mean
        pull = precision @ offset if precision.ndim == 2 else precision * offset
        fit = float(w @ lapse_log_likelihood(phi @ theta, targets, lapse))
        return fit - 0.5 * float(offset @ pull) - 0.5 * float(np.linalg.slogdet(hess)[1])

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
        folded = self.base_precision_
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

        >>> from plgl.models import LinearPreference
        >>> model = LinearPreference().start(2)
        >>> model.learn(np.array([1.0, 0.0]), 1)
        >>> twin = LinearPreference().set_state(model.get_state())
        >>> bool(np.array_equal(twin.mean_, model.mean_))
        True
        """
        check_is_fitted(self, "mean_")
        return {**attributes_state(self, _STATE), "array:monitor": self.monitor_.to_array()}

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Restore what `get_state` returned (this model's parameters are kept).

        The live posterior is rebuilt as it was made: the last refit, then the online updates
        of the observations after it.
        """
        state = dict(state)
        if "array:monitor" not in state:
            raise InvalidInputError("state lacks the learned attributes ['monitor']")
        monitor = AnswerMonitor(self.change_threshold, self.lapse)
        monitor.load_array(state.pop("array:monitor"))
        restore_attributes(self, state, _STATE)
        self._set_prior(int(self.n_features_in_))
        k = self.n_features_in_ + 1
        if self.base_precision_.shape != (k, k) or self._anchor.shape != (3,):
            raise InvalidInputError(f"state does not describe a model over {k - 1} dimensions")
        final = (self.n_updates_, list(self.change_steps_))
        final_monitor = monitor.to_array()
        size, self.n_updates_, changes = (int(v) for v in self._anchor)
        self.change_steps_ = final[1][:changes]
        self.changes_detected_ = int(self._anchor_tracking[0])
        self.monitor_ = monitor
        monitor.load_array(self._anchor_tracking[1:])
        if size < 0:
            # No refit yet, so no fold either: the base is the prior.
            self.mean_, self.covariance_ = self.base_mean_.copy(), self._prior_covariance.copy()
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
        if (self.n_updates_, self.change_steps_) != final or not np.array_equal(
            self.monitor_.to_array(), final_monitor
        ):
            raise InvalidInputError(
                "state is inconsistent: its window does not replay to its counts"
            )
        return self


__all__ = ["FOLD", "FoldedLaplace"]
