"""What a preference model says about itself: whether it is linear in latents (so navigation can
work in closed form), and how sure it is of a taste (the learning indicator of the feed)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from plgl.models.online import OnlinePreferenceModel


def is_linear(model: Any) -> bool:
    """Whether closed-form navigation applies: the model's log-odds are linear in latents,
    `coef_` (d,) . z + `intercept_` (before any moderation by uncertainty)."""
    try:
        return np.ndim(model.coef_) == 1 and np.isfinite(float(model.intercept_))
    except (AttributeError, ValueError, TypeError, NotFittedError):
        return False


def confidence(model: Any, n_ratings: int) -> float:
    """How sure a model is of the direction of a taste, in [0, 1].

    For a Bayesian linear model (posterior mean m and covariance S of the weights) it is
    |m|^2 / (|m|^2 + trace S): the share of the posterior's expected |w|^2 that its mean
    explains, about the expected squared cosine between the mean and the true weights (0 for
    the prior, near 1 once the direction is pinned down). For other models: n / (n + 5 d).

    >>> from plgl.models import LinearPreference
    >>> confidence(LinearPreference().start(4), 0)
    0.0
    """
    if isinstance(model, OnlinePreferenceModel) and is_linear(model):
        cov = model.weight_covariance()
        mean = np.asarray(model.coef_)
        if cov is not None and cov.shape == (len(mean), len(mean)):
            energy = float(mean @ mean)
            return energy / (energy + float(np.trace(cov)))
    try:
        check_is_fitted(model)
        d = int(model.n_features_in_)
    except (NotFittedError, AttributeError):
        d = 1  # not fitted yet: nothing is known either way
    return n_ratings / (n_ratings + 5 * d)


__all__ = ["confidence", "is_linear"]
