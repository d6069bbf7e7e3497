"""Which rated item is the user's favourite: a judge of the content, beside the latent model.

Likes and dislikes say little about which of thirty liked items is the best; a linear model over
latents judges them by one global direction, which a nonlinear generator bends. A logistic
regression on the items' perceptual maps (`Generator.perceptual`: a face's thumbnail, a melody's
soft piano roll) judges them by what they look or sound like. On simulated face swipers it
found a far better favourite among the liked items than the latent model did (see the
`swipers` benchmark suite); `grounded_best(..., scores=content_scores(...))` uses it to choose
the anchors of grounded recommendations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from plgl.errors import InvalidInputError

STRENGTH = 0.1
"""Inverse L2 penalty of the logistic regression (scikit-learn's C): strong shrinkage, since
a perceptual map has hundreds of dimensions and a user has rated tens of items."""
_CHUNK = 256  # latents per perceptual pass


def content_scores(
    generator: Any, rated: np.ndarray, labels: np.ndarray, strength: float = STRENGTH
) -> np.ndarray:
    """(n,) log-odds of a like for each rated latent (n, d) by an L2 logistic regression of the
    labels (n,) (1 like, 0 dislike) on the items' perceptual maps; zeros (no opinion) until the
    user has both liked and disliked something.

    Raises InvalidInputError when the generator has no perceptual map.
    """
    from plgl.generators._base import has_perceptual

    if not has_perceptual(generator):
        raise InvalidInputError(f"{generator.name} has no perceptual map to judge content by")
    rated = np.asarray(rated, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64).reshape(-1)
    if rated.ndim != 2 or len(rated) != len(labels) or rated.shape[1] != generator.latent_dim:
        raise InvalidInputError(
            f"rated must be (n, {generator.latent_dim}) with (n,) labels, got {rated.shape} "
            f"and {labels.shape}"
        )
    liked = labels > 0.5
    if liked.all() or not liked.any():
        return np.zeros(len(rated))
    with torch.no_grad():
        parts = [
            generator.perceptual(torch.as_tensor(rated[i : i + _CHUNK], dtype=torch.float32))
            for i in range(0, len(rated), _CHUNK)
        ]
    features = torch.cat(parts).double().numpy()
    features -= features.mean(axis=0)
    judge = LogisticRegression(C=strength, max_iter=1000).fit(features, liked.astype(int))
    return np.asarray(judge.decision_function(features), dtype=np.float64)
