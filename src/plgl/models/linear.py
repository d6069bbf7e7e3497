"""Bayesian linear preference model: the default.

A linear classifier of "liked" over latents, like a linear SVM, but with the logistic loss and a
Gaussian posterior over its weights (Laplace approximation). The posterior gives what an SVM does
not: calibrated probabilities that account for what is still unknown, and the uncertainty that
query selection needs. Labels and pairwise comparisons share one weight vector: a like is a
logistic observation of (z, 1), a comparison "a over b" one of (a - b, 0), so the intercept
(the user's like threshold) is learned from labels only.

`learn` is the online update used per rating: a one-dimensional Laplace step along the posterior
covariance, O(d^2) and independent of how many ratings came before. `refine` recomputes the
exact Laplace posterior (Newton) of the recent observations on top of a folded posterior, into
which old observations are folded so that the state stays bounded (`plgl.models.folding`).
Evidence fades (half-life 1 / `drift` ratings), so recent ratings weigh more; when recent
ratings surprise the model far more than it expects (`change_threshold`), it reopens its
uncertainty, discounts what came before, and follows the new taste.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from plgl.errors import InvalidInputError
from plgl.models._base import Pairs
from plgl.models.folding import FoldedLaplace
from plgl.models.laplace import PROBIT, moderate
from plgl.models.monitor import LAPSE_GRID, LAPSE_PRIOR
from plgl.models.priors import GaussianPrior


class LinearPreference(FoldedLaplace):
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
        lapse: the share of answers that are coin tosses (mis-swipes), in [0, 1), or None to
            learn it per user (`plgl.models.monitor`): the likelihood of an answer is
            lapse / 2 + (1 - lapse) sigmoid(f), so a flipped answer moves the taste less.
            Predictions (`decision_function`, `predict_proba`) are of the taste itself. The
            default 0 is the plain logistic likelihood: in our benchmarks a learned lapse
            slowed learning for careful users; on PrefGen's 20% flipped answers lapse rates
            weighed by their evidence (with importance-sampled posteriors) reach MCMV's error
            (`plgl.bench.protocols.prefgen`).
        prior: a full Gaussian prior over the d weights (mean and covariance: a population's
            taste, a generator's geometry); None is isotropic with `prior_scale`. The intercept
            keeps its own prior either way.

    Its state stays bounded: old observations are folded into the posterior
    (`plgl.models.folding`).

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> model = LinearPreference().fit(X, y)
    >>> bool(model.predict_proba([[3.0, 0, 0, 0]])[0, 1] > 0.9)
    True
    """

    def __init__(
        self,
        prior_scale: float | None = None,
        intercept_scale: float = 2.0,
        drift: float = 0.002,
        change_threshold: float | None = 0.25,
        change_discount: float = 0.05,
        prior: GaussianPrior | None = None,
        lapse: float | None = 0.0,
    ) -> None:
        self.prior_scale = prior_scale
        self.intercept_scale = intercept_scale
        self.drift = drift
        self.change_threshold = change_threshold
        self.change_discount = change_discount
        self.prior = prior
        self.lapse = lapse

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
        if self.lapse is None:  # no answers in sequence to read it from: the Laplace evidence
            evidence = [self._log_evidence(lapse) for lapse in LAPSE_GRID]
            self.monitor_.log_weights = np.log(LAPSE_PRIOR) + evidence - np.max(evidence)
        self._refit(len(self._phi))  # exact on the whole batch: no folding

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
        # Shared by every model started from this prior (read-only): at d = 512 each holds
        # 4 MB otherwise.
        mean, cov, precision = self.prior.with_intercept(self.intercept_scale**2)
        self._prior_mean, self._prior_covariance, self._prior_precision = mean, cov, precision


__all__ = ["LinearPreference", "Pairs"]
