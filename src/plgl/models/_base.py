"""The preference-model plug point: a scikit-learn binary classifier of "liked" that also learns
from pairwise comparisons, gives calibrated probabilities, and says how uncertain it is.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from plgl.errors import InvalidInputError
from plgl.models.search import gradient_search

Pairs = tuple[np.ndarray, np.ndarray]


class BasePreferenceModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A binary "like" classifier over latents (or content features).

    `fit(X, y, sample_weight=None, pairs=None)` learns from labelled rows of X (n, d) and from
    comparisons `pairs = (preferred, other)`, two (m, d) arrays, in one model. The positive class
    is `classes_[1]` ("liked").

    Subclasses implement `_fit(X, y01, weights, preferred, other)`, `decision_function` (the
    calibrated log-odds of a like) and `predictive_covariance` (how uncertain that log-odds is,
    jointly across points: what query selection needs).
    """

    classes_: np.ndarray  # the two labels; classes_[1] means "liked"

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        pairs: Pairs | None = None,
    ) -> BasePreferenceModel:
        """Learn from labelled latents X (n, d), y (n,) and optional comparisons."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        y01 = self._encode_labels(y, keep_classes=False)
        weights = self._check_weights(sample_weight, len(y01))
        preferred, other = self._check_pairs(pairs, X.shape[1])
        if not weights.any() and not len(preferred):
            raise InvalidInputError("Sample weights must contain at least one non-zero number.")
        self._fit(X, y01, weights, preferred, other)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, 2) calibrated probabilities of [not liked, liked]."""
        p = expit(self.decision_function(X))
        return np.asarray(np.column_stack([1.0 - p, p]))

    def predict(self, X: Any) -> np.ndarray:
        """(n,) predicted class labels."""
        liked = self.decision_function(X) > 0
        return np.asarray(np.asarray(self.classes_)[liked.astype(int)])

    def uncertainty(self, X: Any) -> np.ndarray:
        """(n,) predictive variance of the log-odds: large where a rating would teach most."""
        return np.asarray(np.diag(self.predictive_covariance(X)).copy())

    def reverse_search(
        self, target_logit: float | np.ndarray | None, starts: np.ndarray, radius: float
    ) -> np.ndarray:
        """(n, d) shell latents |z| = radius whose log-odds meet `target_logit` (a number, (n,)
        targets, or None: the highest), searched from `starts` (n, d).

        By default a gradient search on `torch_decision`; a model whose log-odds are costly to
        differentiate (one that decodes content) overrides it with its own way.
        """
        return gradient_search(self, target_logit, starts, radius)

    def _check_x(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(X)

    @abstractmethod
    def decision_function(self, X: Any) -> np.ndarray:
        """(n,) calibrated log-odds that each row is liked."""

    @abstractmethod
    def predictive_covariance(self, X: Any) -> np.ndarray:
        """(n, n) covariance of the log-odds between rows of X (diagonal: `uncertainty`)."""

    @abstractmethod
    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        """Differentiable `decision_function` for gradient navigation: (n, d) -> (n,)."""

    @abstractmethod
    def _fit(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> None: ...

    def _encode_labels(self, y: np.ndarray, keep_classes: bool = True) -> np.ndarray:
        """(n,) 1.0 where y is the positive class. `fit` starts afresh; online updates keep the
        classes already seen, so a batch of likes alone is valid."""
        kind = type_of_target(y)
        classes = np.unique(y)
        if kind not in ("binary", "unknown") or len(classes) > 2:
            raise InvalidInputError(
                f"Only binary classification is supported. The type of the target is {kind}."
            )
        if not keep_classes and hasattr(self, "classes_"):
            del self.classes_
        if len(classes) < 2 and not hasattr(self, "classes_"):
            raise InvalidInputError(
                f"{type(self).__name__} needs both classes (liked and not liked) in y; "
                f"got only one class: {classes.tolist()}"
            )
        if len(classes) == 2:
            self.classes_ = classes
        return np.asarray(y == self.classes_[1], dtype=np.float64)

    @staticmethod
    def _check_weights(sample_weight: Any, n: int) -> np.ndarray:
        if sample_weight is None:
            return np.ones(n)
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise InvalidInputError(f"sample_weight must be {n} finite non-negative numbers")
        return weights

    @staticmethod
    def _check_pairs(pairs: Pairs | None, d: int) -> tuple[np.ndarray, np.ndarray]:
        if pairs is None:
            return np.empty((0, d)), np.empty((0, d))
        preferred, other = (np.asarray(p, dtype=np.float64) for p in pairs)
        if preferred.ndim != 2 or preferred.shape != other.shape or preferred.shape[1] != d:
            raise InvalidInputError(f"pairs must be two (m, {d}) arrays (preferred, other)")
        if not (np.all(np.isfinite(preferred)) and np.all(np.isfinite(other))):
            raise InvalidInputError("pairs must be finite")
        return preferred, other
