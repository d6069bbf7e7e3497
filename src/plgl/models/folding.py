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

A refit solves for the mode over the window's log-odds when the window is smaller than the
weights (Newton on n numbers, the covariance by Woodbury from the aged base's), over the weights
otherwise; it costs about window * (d + 1)^2, plus (d + 1)^3 to factorise the aged base once
something is folded, and `refine` skips refits dearer than its budget (at d = 512 a folded model
keeps its online posterior, as the default budget always did there). `get_state` stores the live
posterior itself, so `set_state` is a copy, never a refit.

What the answers' surprise drives (a learned lapse rate, detected changes of taste) depends on
the posterior each answer met, so a `refine` between answers can shift it: a live model that
refines agrees exactly with a replay of its answers where those agree (always without change
detection and with a fixed lapse). A model restored from `get_state` continues exactly as the
model it was saved from (so a resumed replay equals the full replay).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Self

import numpy as np
from scipy.linalg import cho_solve, lapack
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.models.laplace import (
    lapse_log_likelihood,
    lapse_terms,
    moderate,
    newton_map,
    sigmoid,
    symmetric,
    window_covariance,
    window_mode,
)
from plgl.models.monitor import AnswerMonitor
from plgl.models.online import (
    REFINE_BUDGET,
    OnlinePreferenceModel,
    attributes_state,
    restore_attributes,
)

FOLD = 50  # observations folded into the posterior at a time

# What `get_state` saves besides the two symmetric matrices (`_MATRICES`, packed): the live and
# the folded posterior, the recent window and counters.
_STATE = [
    "n_features_in_",
    "classes_",
    "mean_",
    "base_shift_",
    "base_step_",
    "folds_",
    "_phi",
    "_targets",
    "_weights",
    "_steps",
    "change_steps_",
    "n_updates_",
    "changes_detected_",
]
_MATRICES = ["covariance_", "base_precision_"]


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
    base_shift_: np.ndarray  # (d + 1,) the folded posterior: precision @ mean ...
    base_precision_: np.ndarray  # (d + 1, d + 1) ... and precision
    base_step_: int  # the observation count the folded posterior covers
    folds_: int  # folds so far (0: the folded posterior is the prior)
    change_steps_: list[int]  # observation counts at which changes of taste were detected
    _phi: list[np.ndarray]  # the window's observations: features (d + 1,) ...
    _targets: list[float]  # ... labels ...
    _weights: list[float]  # ... weights ...
    _steps: list[int]  # ... and observation counts
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
        discounted by `change_discount`. The refit is skipped (returns whether it folded) when
        its cost exceeds `budget`: window * (d + 1)^2, plus (d + 1)^3 once something is folded
        (the aged base is factorised), so at d = 512 a folded model keeps its online posterior.
        """
        check_is_fitted(self, "mean_")
        folded = self._fold_full()
        n = len(self._targets)
        if n == 0 and self.folds_ == 0:
            return folded
        if budget is not None and self._refit_cost(n) > budget:
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
        self.base_precision_ = _full(self._prior_precision)
        self.base_shift_ = self.base_precision_ @ self.mean_
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
            if self._refit_cost(len(self._phi)) <= REFINE_BUDGET:
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
        u = s * math.sqrt(c / (1.0 + c * v))
        cov -= np.outer(u, u)  # u_i u_j: exactly symmetric, so `get_state` keeps one triangle

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
            mode = self._mode(2 * FOLD, self._steps[2 * FOLD - 1], later)
            base = _AgedBase(self, step, last_change)
            phi, targets, w = self._window(FOLD, step, last_change)
            score, information = lapse_terms(phi @ mode, targets, self.monitor_.lapse)
            precision = _full(base.precision)
            hess = symmetric((phi.T * (w * information)) @ phi + precision)
            gradient = phi.T @ (w * score) - (precision @ mode - base.shift)
            # The new base is N(mean, hess^-1) with mean = mode + hess^-1 gradient: kept as
            # hess and hess @ mean, which needs no solve.
            self.base_precision_ = hess
            self.base_shift_ = hess @ mode + gradient
            self.base_step_ = step
            self.folds_ += 1
            for window in (self._phi, self._targets, self._weights, self._steps):
                del window[:FOLD]
            folded = True
        return folded

    def _refit_cost(self, size: int) -> int:
        """Multiply-adds of `_refit(size)`, about: the window's features times the covariance,
        and a factorisation of the base once something is folded."""
        k = len(self.mean_)
        return size * k * k + (k**3 if self.folds_ else 0)

    def _refit(self, size: int) -> None:
        """The exact posterior of the base and the first `size` observations of the window:
        Newton over the observations' log-odds and Woodbury when they are fewer than the
        weights, over the weights otherwise."""
        now = self.n_updates_
        last_change = self.change_steps_[-1] if self.change_steps_ else 0
        phi, targets, w = self._window(size, now, last_change)
        base = _AgedBase(self, now, last_change)
        lapse = self.monitor_.lapse
        if size < phi.shape[1]:
            cross = base.cross(phi)
            mode, curvature, lower = window_mode(phi, targets, w, base.mean, cross, lapse)
            self.covariance_ = window_covariance(base.covariance(), cross, curvature, lower)
        else:
            mode, hess = newton_map(phi, targets, w, base.precision, base.mean, base.mean, lapse)
            self.covariance_ = _inverse(np.linalg.cholesky(symmetric(hess)))
        self.mean_ = mode

    def _mode(self, size: int, now: int, last_change: int) -> np.ndarray:
        """(k,) posterior mode of the base and the window's first `size` observations, aged to
        observation count `now` and discounted before `last_change`."""
        phi, targets, w = self._window(size, now, last_change)
        base = _AgedBase(self, now, last_change)
        lapse = self.monitor_.lapse
        if size < phi.shape[1]:
            return window_mode(phi, targets, w, base.mean, base.cross(phi), lapse)[0]
        return newton_map(phi, targets, w, base.precision, base.mean, base.mean, lapse)[0]

    def _log_evidence(self, lapse: float) -> float:
        """Laplace approximation of log p(window | lapse), up to a constant of the lapse."""
        n = len(self._phi)
        phi, targets, w = self._window(n, self.n_updates_, 0)
        base = _AgedBase(self, self.n_updates_, 0)
        theta, hess = newton_map(phi, targets, w, base.precision, base.mean, base.mean, lapse)
        offset = theta - base.mean
        fit = float(w @ lapse_log_likelihood(phi @ theta, targets, lapse))
        penalty = 0.5 * float(offset @ _full(base.precision) @ offset)
        return fit - penalty - 0.5 * float(np.linalg.slogdet(hess)[1])

    def _window(
        self, size: int, now: int, last_change: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features (size, d+1), targets (size,) and weights (size,) of the window's first
        `size` observations, aged to count `now` and discounted before `last_change`."""
        phi = np.asarray(self._phi[:size]).reshape(size, len(self.base_shift_))
        steps = np.asarray(self._steps[:size])
        w = np.asarray(self._weights[:size]) * 0.5 ** ((now - steps) * self.drift)
        w[steps < last_change] *= self.change_discount
        return phi, np.asarray(self._targets[:size]), w

    # --------------------------------------------------------------- snapshots
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything learned, as named arrays (no pickle): `set_state` restores it exactly.

        The live and the folded posterior (their symmetric matrices as upper triangles), the
        window of at most 3 * `FOLD` - 1 recent observations and counters: about
        (d + 1)^2 + 150 (d + 1) numbers, whatever the number of ratings. Keys are
        "<kind>:<attribute>"; constructor parameters are not included.

        >>> from plgl.models import LinearPreference
        >>> model = LinearPreference().start(2)
        >>> model.learn(np.array([1.0, 0.0]), 1)
        >>> twin = LinearPreference().set_state(model.get_state())
        >>> bool(np.array_equal(twin.mean_, model.mean_))
        True
        """
        check_is_fitted(self, "mean_")
        packed = {f"packed:{name}": _pack(vars(self)[name]) for name in _MATRICES}
        return {
            **attributes_state(self, _STATE),
            **packed,
            "array:monitor": self.monitor_.to_array(),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Restore what `get_state` returned (this model's parameters are kept): the stored
        posterior is taken as it is, no refit."""
        state = dict(state)
        extra = ["array:monitor"] + [f"packed:{name}" for name in _MATRICES]
        missing = [key.partition(":")[2] for key in extra if key not in state]
        if missing:
            raise InvalidInputError(f"state lacks the learned attributes {missing}")
        arrays = {key: state.pop(key) for key in extra}
        restore_attributes(self, state, _STATE)
        k = int(self.n_features_in_) + 1
        for name in _MATRICES:
            setattr(self, name, _unpack(arrays[f"packed:{name}"], k, name))
        n = len(self._targets)
        window = (len(self._phi), len(self._weights), len(self._steps))
        if self.mean_.shape != (k,) or self.base_shift_.shape != (k,) or window != (n, n, n):
            raise InvalidInputError(f"state does not describe a model over {k - 1} dimensions")
        if n and np.asarray(self._phi).shape != (n, k):
            raise InvalidInputError(f"state's window does not hold features of {k} numbers")
        self._set_prior(k - 1)
        self.monitor_ = AnswerMonitor(self.change_threshold, self.lapse)
        self.monitor_.load_array(arrays["array:monitor"])
        return self


class _AgedBase:
    """The base posterior aged to observation count `now`: the prior, plus the folded evidence
    weighted like its observations would be (0.5^(age * drift), times `change_discount` when a
    change of taste came after it)."""

    def __init__(self, model: FoldedLaplace, now: int, last_change: int) -> None:
        self.model = model
        self.lower: np.ndarray | None = None  # Cholesky factor of the precision, once folded
        p0 = model._prior_precision
        m0 = np.zeros(len(p0)) if model._prior_mean is None else model._prior_mean
        if model.folds_ == 0:
            self.precision = p0  # (k,) diagonal or (k, k)
            self.shift = p0 * m0 if p0.ndim == 1 else p0 @ m0  # (k,) precision @ mean
            self._mean: np.ndarray | None = m0
            return
        p0 = _full(p0)
        kept = 0.5 ** ((now - model.base_step_) * model.drift)
        if last_change > model.base_step_:
            kept *= model.change_discount
        self.precision = symmetric(p0 + kept * (model.base_precision_ - p0))
        prior_shift = p0 @ m0
        self.shift = prior_shift + kept * (model.base_shift_ - prior_shift)
        self._mean = None

    @property
    def mean(self) -> np.ndarray:
        """(k,) the mean (factorises the precision once folded)."""
        if self._mean is None:
            self._mean = np.asarray(cho_solve((self._lower(), True), self.shift))
        return self._mean

    def _lower(self) -> np.ndarray:
        """(k, k) the lower Cholesky factor of the (folded) precision, computed once."""
        if self.lower is None:
            self.lower = np.linalg.cholesky(self.precision)
        return self.lower

    def cross(self, phi: np.ndarray) -> np.ndarray:
        """(k, n) S phi^T for features phi (n, k), S the covariance."""
        if self.model.folds_:
            return np.asarray(cho_solve((self._lower(), True), phi.T))
        prior = self.model._prior_covariance
        if self.precision.ndim == 1:  # a diagonal prior
            return np.asarray(np.diag(prior)[:, None] * phi.T)
        return np.asarray(prior @ phi.T)

    def covariance(self) -> np.ndarray:
        """(k, k) the covariance."""
        if not self.model.folds_:
            return self.model._prior_covariance
        return _inverse(self._lower())


def _full(precision: np.ndarray) -> np.ndarray:
    """(k, k) a precision given as its diagonal (k,) or in full."""
    return precision if precision.ndim == 2 else np.diag(precision)


def _inverse(lower: np.ndarray) -> np.ndarray:
    """(k, k) the (exactly symmetric) inverse of L L^T from its lower Cholesky factor L."""
    inverse, info = lapack.dpotri(lower, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dpotri failed with info {info}")
    return np.asarray(np.tril(inverse) + np.tril(inverse, -1).T)


def _pack(matrix: np.ndarray) -> np.ndarray:
    """(k (k + 1) / 2,) the upper triangle of a symmetric (k, k) matrix, row by row."""
    return np.asarray(matrix[np.triu_indices(len(matrix))])


def _unpack(packed: np.ndarray, k: int, name: str) -> np.ndarray:
    """(k, k) the symmetric matrix whose upper triangle `_pack` gave."""
    packed = np.asarray(packed, dtype=np.float64)
    if packed.shape != (k * (k + 1) // 2,):
        raise InvalidInputError(f"state {name!r} does not describe a model over {k - 1} dimensions")
    matrix = np.empty((k, k))
    rows, cols = np.triu_indices(k)
    matrix[rows, cols] = packed
    matrix[cols, rows] = packed
    return matrix


__all__ = ["FOLD", "FoldedLaplace"]
