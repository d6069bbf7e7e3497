"""The posterior machinery of the default model: online Laplace updates, and folding old
observations into the posterior so that the state stays bounded; exact refits are inherited
(`plgl.models.refits`).

Observations are kept in a window; the oldest `FOLD` of them, at fixed observation counts (so a
replay and a resumed model hold the same folded posterior), are folded into a Gaussian that
becomes the prior of later observations: their log-likelihood is expanded to second order at the
posterior mode of the base and the window's first 2 * `FOLD` observations. `refine` folds while
the window holds 2 * `FOLD` or more (the last `FOLD` or more stay exact); `learn` folds itself at
3 * `FOLD`, when no `refine` came. A folded posterior ages like the observations it holds: at a
refit its evidence (its precision beyond the prior's) is weighted by 0.5^(age * drift), times
`change_discount` when a change of taste was detected after it, the Gaussian form of the weights
each of its observations would get.

`refine` skips refits dearer than its budget (`plgl.models.refits`). `get_state` stores the live
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
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.models.laplace import lapse_terms, moderate, sigmoid, symmetric
from plgl.models.monitor import AnswerMonitor
from plgl.models.online import (
    REFINE_BUDGET,
    OnlinePreferenceModel,
    attributes_state,
    restore_attributes,
)
from plgl.models.refits import AgedBase, ExactRefits, full_precision

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


class FoldedLaplace(ExactRefits, OnlinePreferenceModel):
    """Bayesian logistic regression over features phi (d + 1,) learned online, with a bounded
    state. Subclasses set the prior (`_set_prior`) and map their inputs to features; what it
    learns (the posterior, the folded base, the window) is declared by `ExactRefits`."""

    change_threshold: float | None
    lapse: float | None
    changes_detected_: int

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
        self.base_precision_ = full_precision(self._prior_precision)
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
            base = AgedBase(self, step, last_change)
            phi, targets, w = self._window(FOLD, step, last_change)
            score, information = lapse_terms(phi @ mode, targets, self.monitor_.lapse)
            precision = full_precision(base.precision)
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
