"""How well a preference model knows a taste: the learning indicator of the feed and the pools."""

from __future__ import annotations

from typing import Any

import numpy as np

from plgl.navigation import is_linear


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
    cov = getattr(model, "covariance_", None)
    if cov is not None and is_linear(model) and np.shape(cov) == (len(model.coef_) + 1,) * 2:
        mean = np.asarray(model.coef_)
        energy = float(mean @ mean)
        return energy / (energy + float(np.trace(cov) - cov[-1, -1]))
    d = int(getattr(model, "n_features_in_", 1))
    return n_ratings / (n_ratings + 5 * d)
