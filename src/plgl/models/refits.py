"""Exact posteriors of the default model: the folded posterior aged to a given observation count
(`AgedBase`), and the Laplace posterior of that base and the window of recent observations.

A method group of `plgl.models.folding.FoldedLaplace` (which inherits it): `refine` refits with
it, folding expands at its mode, and `fit` takes its evidence to learn a lapse rate.

A refit solves for the mode over the window's log-odds when the window is smaller than the
weights (Newton on n numbers, the covariance by Woodbury from the aged base's), over the weights
otherwise; it costs about window * (d + 1)^2, plus (d + 1)^3 to factorise the aged base once
something is folded, and `refine` skips refits dearer than its budget (at d = 512 a folded model
keeps its online posterior, as the default budget always did there).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, lapack

from plgl.models.laplace import (
    lapse_log_likelihood,
    newton_map,
    symmetric,
    window_covariance,
    window_mode,
)
from plgl.models.monitor import AnswerMonitor


class ExactRefits:
    """The exact (Laplace) posterior of the aged base and the window's first observations."""

    drift: float  # evidence halves every 1 / drift observations
    change_discount: float
    mean_: np.ndarray  # (d + 1,) posterior mean of (weights, intercept)
    covariance_: np.ndarray  # (d + 1, d + 1) posterior covariance
    n_updates_: int  # observations so far
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
        base = AgedBase(self, now, last_change)
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
        base = AgedBase(self, now, last_change)
        lapse = self.monitor_.lapse
        if size < phi.shape[1]:
            return window_mode(phi, targets, w, base.mean, base.cross(phi), lapse)[0]
        return newton_map(phi, targets, w, base.precision, base.mean, base.mean, lapse)[0]

    def _log_evidence(self, lapse: float) -> float:
        """Laplace approximation of log p(window | lapse), up to a constant of the lapse."""
        n = len(self._phi)
        phi, targets, w = self._window(n, self.n_updates_, 0)
        base = AgedBase(self, self.n_updates_, 0)
        theta, hess = newton_map(phi, targets, w, base.precision, base.mean, base.mean, lapse)
        offset = theta - base.mean
        fit = float(w @ lapse_log_likelihood(phi @ theta, targets, lapse))
        penalty = 0.5 * float(offset @ full_precision(base.precision) @ offset)
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


class AgedBase:
    """The base posterior aged to observation count `now`: the prior, plus the folded evidence
    weighted like its observations would be (0.5^(age * drift), times `change_discount` when a
    change of taste came after it)."""

    def __init__(self, model: ExactRefits, now: int, last_change: int) -> None:
        self.model = model
        self.lower: np.ndarray | None = None  # Cholesky factor of the precision, once folded
        p0 = model._prior_precision
        m0 = np.zeros(len(p0)) if model._prior_mean is None else model._prior_mean
        if model.folds_ == 0:
            self.precision = p0  # (k,) diagonal or (k, k)
            self.shift = p0 * m0 if p0.ndim == 1 else p0 @ m0  # (k,) precision @ mean
            self._mean: np.ndarray | None = m0
            return
        p0 = full_precision(p0)
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


def full_precision(precision: np.ndarray) -> np.ndarray:
    """(k, k) a precision given as its diagonal (k,) or in full."""
    return precision if precision.ndim == 2 else np.diag(precision)


def _inverse(lower: np.ndarray) -> np.ndarray:
    """(k, k) the (exactly symmetric) inverse of L L^T from its lower Cholesky factor L."""
    inverse, info = lapack.dpotri(lower, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"dpotri failed with info {info}")
    return np.asarray(np.tril(inverse) + np.tril(inverse, -1).T)


__all__ = ["AgedBase", "ExactRefits", "full_precision"]
