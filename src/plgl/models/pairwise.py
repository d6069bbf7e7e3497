"""Linear ranking SVM preference model: everything it learns from is a comparison.

A comparison "a over b" is the difference a - b with label +1; labels become comparisons too,
every liked row over every not-liked row (sampled when there are too many). A linear SVM
without intercept on these differences (each also mirrored, b - a with label -1) gives the
preference direction w; Platt scaling on the labelled rows turns w . x into log-odds. The model
is linear, so navigation can use its `coef_` and `intercept_` in closed form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from plgl.models._base import BasePreferenceModel
from plgl.models.kernel import platt_scaling, require_evidence


class PairwiseRankSVM(BasePreferenceModel):
    """Linear ranking SVM of "liked" over latents, from labels and pairwise comparisons.

    Args:
        C: SVM regularization: larger fits the comparisons more closely.
        max_pairs: at most this many (liked, not liked) row pairs are derived from the labels.
        random_state: seed for sampling those pairs and for the SVM solver.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> model = PairwiseRankSVM(random_state=0).fit(X, y)
    >>> bool(model.predict_proba([[3.0, 0, 0, 0]])[0, 1] > 0.9)
    True
    """

    def __init__(
        self, C: float = 1.0, max_pairs: int = 2000, random_state: int | None = None
    ) -> None:
        self.C = C
        self.max_pairs = max_pairs
        self.random_state = random_state

    def _fit(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> None:
        require_evidence(type(self).__name__, y01, weights, len(preferred))
        liked = np.flatnonzero((y01 == 1) & (weights > 0))
        disliked = np.flatnonzero((y01 == 0) & (weights > 0))
        derived = len(liked) * len(disliked)
        if derived > self.max_pairs:
            rng = np.random.default_rng(self.random_state)
            chosen = rng.choice(derived, size=self.max_pairs, replace=False)
        else:
            chosen = np.arange(derived)
        winner, loser = liked[chosen // len(disliked)], disliked[chosen % len(disliked)]
        differences = np.vstack([X[winner] - X[loser], preferred - other])
        pair_weights = np.concatenate([weights[winner] * weights[loser], np.ones(len(preferred))])
        # The mirror gives the SVM a second class; each copy carries half a comparison's weight.
        svm = LinearSVC(C=self.C, fit_intercept=False, random_state=self.random_state).fit(
            np.vstack([differences, -differences]),
            np.concatenate([np.ones(len(differences)), -np.ones(len(differences))]),
            sample_weight=0.5 * np.concatenate([pair_weights, pair_weights]),
        )
        direction = svm.coef_[0]

        slope, self.intercept_ = platt_scaling(X @ direction, y01, weights)
        self.calibration_slope_ = slope
        self.coef_ = slope * direction
        # Navigation moderates log-odds by the weights' covariance; these are calibrated already.
        self.covariance_ = None
        points = np.vstack([X, preferred, other])
        point_weights = np.concatenate([weights, np.ones(2 * len(preferred))])
        self.training_mean_ = point_weights @ points / point_weights.sum()
        self.n_observations_ = float(weights.sum()) + len(preferred)

    def decision_function(self, X: Any) -> np.ndarray:
        X = self._check_x(X)
        return np.asarray(X @ self.coef_ + self.intercept_)

    def predictive_covariance(self, X: Any) -> np.ndarray:
        """Margin proxy: (X - mean)(X - mean)' * slope^2 / (1 + n), shrinking as data grows."""
        centred = self._check_x(X) - self.training_mean_
        scale = self.calibration_slope_**2 / (1.0 + self.n_observations_)
        return np.asarray((centred @ centred.T) * scale)

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        check_is_fitted(self)
        return z @ torch.as_tensor(self.coef_, dtype=z.dtype) + self.intercept_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


__all__ = ["PairwiseRankSVM"]
