"""RBF-kernel SVM preference model: a nonlinear taste, from labels and comparisons in one SVM.

A labelled latent x is the SVM sample phi(x); a comparison "a over b" is the sample
phi(a) - phi(b), labelled +1, and again mirrored, phi(b) - phi(a) labelled -1, so that the
intercept (the like threshold) cancels out of comparisons and is learned from labels only. The
SVM then runs on the generalized kernel between such samples. Its decision function is an RBF
expansion over latents, mapped to calibrated log-odds by Platt scaling on the labelled rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.sparse import csr_array
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.models._base import BasePreferenceModel
from plgl.models.laplace import newton_map

_PLATT_PENALTY = 0.1  # L2 on (slope on standardized scores, offset): keeps tiny data sane
_NOVELTY_FLOOR = 0.25  # uncertainty that remains at the training points themselves


class KernelPreference(BasePreferenceModel):
    """RBF-kernel SVM of "liked" that also learns from pairwise comparisons.

    Args:
        C: SVM regularization: larger fits the training data more closely.
        gamma: RBF width, k(x, z) = exp(-gamma |x - z|^2): a positive number, or "scale" for
            1 / (d * variance of the training points), as in sklearn's SVC.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2)); y = (np.linalg.norm(X, axis=1) < 1).astype(int)
    >>> model = KernelPreference(C=10.0).fit(X, y)
    >>> model.predict([[0.0, 0.0], [3.0, 0.0]]).tolist()
    [1, 0]
    """

    def __init__(self, C: float = 1.0, gamma: float | str = "scale") -> None:
        self.C = C
        self.gamma = gamma

    def _fit(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> None:
        require_evidence(type(self).__name__, y01, weights, len(preferred))
        n, m = len(X), len(preferred)
        points = np.vstack([X, preferred, other])
        point_weights = np.concatenate([weights, np.ones(2 * m)])
        self.gamma_ = self._resolve_gamma(points, point_weights)
        self.training_points_ = points[point_weights > 0]

        # Row s of `design` writes SVM sample s as a combination of the points' features. Sample
        # and point indices line up: a label is its own point; comparison j (sample n + j) is
        # point n + j minus point n + m + j, and its mirror (sample n + m + j) the reverse.
        size = n + 2 * m
        rows = np.concatenate([np.arange(size), n + np.arange(2 * m)])
        cols = np.concatenate([np.arange(size), n + np.roll(np.arange(2 * m), m)])
        signs = np.concatenate([np.ones(size), -np.ones(2 * m)])
        design = csr_array((signs, (rows, cols)), shape=(size, size))
        gram = design @ (design @ _rbf(points, points, self.gamma_)).T
        targets = np.concatenate([2.0 * y01 - 1.0, np.ones(m), -np.ones(m)])
        # Each mirrored copy carries half a comparison's weight: one comparison counts as one.
        sample_weight = np.concatenate([weights, np.full(2 * m, 0.5)])
        # sklearn's SVC drops zero-weight samples but then indexes support_ as if it had not
        # (scikit-learn issue #25380), so they are dropped here. The tight tolerance, cheap at
        # these sizes, makes a weight of k fit the same model as k repeats of a sample.
        kept = np.flatnonzero(sample_weight > 0)
        svm = SVC(C=self.C, kernel="precomputed", tol=1e-8).fit(
            gram[np.ix_(kept, kept)], targets[kept], sample_weight=sample_weight[kept]
        )

        coef = design[kept[svm.support_]].T @ svm.dual_coef_[0]
        used = coef != 0.0
        # A latent both rated and compared (or compared often) is one term of the expansion.
        self.support_points_, inverse = np.unique(points[used], axis=0, return_inverse=True)
        self.support_coef_ = np.bincount(inverse.reshape(-1), weights=coef[used])
        self.raw_intercept_ = float(svm.intercept_[0])
        self.calibration_slope_, self.calibration_intercept_ = platt_scaling(
            self._raw(X), y01, weights
        )

    def decision_function(self, X: Any) -> np.ndarray:
        X = self._check_x(X)
        return np.asarray(self.calibration_slope_ * self._raw(X) + self.calibration_intercept_)

    def predictive_covariance(self, X: Any) -> np.ndarray:
        """GP-style proxy: RBF correlation scaled by how far each row is from the training data.

        The scale of row i is (1 - max_j k(x_i, t_j) + 0.25) * slope^2 over training points t_j:
        it grows with novelty and keeps a floor where the model was trained.
        """
        X = self._check_x(X)
        nearest = _rbf(X, self.training_points_, self.gamma_).max(axis=1, initial=0.0)
        scale = np.sqrt((1.0 - nearest + _NOVELTY_FLOOR) * self.calibration_slope_**2)
        return np.asarray(np.outer(scale, scale) * _rbf(X, X, self.gamma_))

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        check_is_fitted(self)
        points = torch.as_tensor(self.support_points_, dtype=z.dtype)
        coef = torch.as_tensor(self.support_coef_, dtype=z.dtype)
        squared = (
            (z * z).sum(dim=1, keepdim=True) - 2.0 * (z @ points.T) + (points * points).sum(dim=1)
        ).clamp(min=0.0)
        raw = torch.exp(-self.gamma_ * squared) @ coef + self.raw_intercept_
        return self.calibration_slope_ * raw + self.calibration_intercept_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _raw(self, X: np.ndarray) -> np.ndarray:
        """(n,) the SVM's decision function before calibration."""
        kernel = _rbf(X, self.support_points_, self.gamma_)
        return np.asarray(kernel @ self.support_coef_ + self.raw_intercept_)

    def _resolve_gamma(self, points: np.ndarray, weights: np.ndarray) -> float:
        if isinstance(self.gamma, str):
            if self.gamma != "scale":
                raise InvalidInputError(
                    f"gamma must be 'scale' or a positive number; got {self.gamma!r}"
                )
            # Weighted like the fit itself, so a weight of 2 means the same as a repeated row.
            share = weights[:, None] / (weights.sum() * points.shape[1])
            mean = float(np.sum(share * points))
            variance = float(np.sum(share * (points - mean) ** 2))
            return 1.0 / (points.shape[1] * variance) if variance > 0 else 1.0
        gamma = float(self.gamma)
        if not gamma > 0:
            raise InvalidInputError(
                f"gamma must be 'scale' or a positive number; got {self.gamma!r}"
            )
        return gamma


def require_evidence(name: str, y01: np.ndarray, weights: np.ndarray, n_pairs: int) -> None:
    """Raise unless there is a comparison or a weighted row of each class to learn from."""
    if n_pairs == 0 and not (np.any(weights[y01 == 1] > 0) and np.any(weights[y01 == 0] > 0)):
        raise InvalidInputError(
            f"{name} needs comparisons, or rows of both classes with non-zero sample weight"
        )


def platt_scaling(raw: np.ndarray, y01: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Platt's calibration: (a >= 0, c) such that a * raw + c is the log-odds of a like.

    Fitted on labelled rows, raw (n,) scores, y01 (n,) in {0, 1}, with Platt's smoothed targets
    and a mild L2 penalty. Without rows of both classes there is nothing to fit: (1, 0).
    """
    positive, negative = float(weights @ y01), float(weights @ (1.0 - y01))
    if positive <= 0 or negative <= 0:
        return 1.0, 0.0
    targets = np.where(y01 == 1, (positive + 1.0) / (positive + 2.0), 1.0 / (negative + 2.0))
    # Standardizing the scores makes the penalty indifferent to their scale.
    rms = float(np.sqrt(weights @ raw**2 / weights.sum()))
    unit = rms if rms > 0 else 1.0
    phi = np.column_stack([raw / unit, np.ones(len(raw))])
    theta, _ = newton_map(phi, targets, weights, np.full(2, _PLATT_PENALTY), np.zeros(2))
    if theta[0] >= 0:
        return float(theta[0]) / unit, float(theta[1])
    # Scores that rank likes lower are no evidence: the constrained optimum is flat (a = 0).
    theta, _ = newton_map(phi[:, 1:], targets, weights, np.full(1, _PLATT_PENALTY), np.zeros(1))
    return 0.0, float(theta[0])


def _rbf(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    """(n, p) RBF kernel exp(-gamma |a_i - b_j|^2) between rows of A (n, d) and B (p, d)."""
    squared = (A * A).sum(axis=1)[:, None] - 2.0 * (A @ B.T) + (B * B).sum(axis=1)
    return np.asarray(np.exp(-gamma * np.maximum(squared, 0.0)))


__all__ = ["KernelPreference"]
