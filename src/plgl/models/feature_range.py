"""The range of content a generator makes, measured on its named features: what keeps a search
over content features from leaving the content the generator renders well."""

from __future__ import annotations

import numpy as np
import torch


class FeatureRange:
    """The range of content a generator makes, measured on its features.

    Features are standardized over a prior sample (n, k); the Mahalanobis distance of a
    standardized row under the sample's correlation says how unusual the content is, and
    `excess` is how far beyond the sample's 95th percentile of that distance it lies (0 inside).
    Pushing a score past that range gives content the generator does not make well (for the
    face DCGAN: washed-out yellow ghosts instead of faces).

    >>> rng = np.random.default_rng(0)
    >>> bounds = FeatureRange(rng.standard_normal((500, 3)))
    >>> float(bounds.excess(bounds.standardize(np.zeros((1, 3))))[0])
    0.0
    >>> bool(bounds.excess(np.full((1, 3), 10.0))[0] > 10)
    True
    """

    def __init__(self, sample: np.ndarray, quantile: float = 0.95) -> None:
        self.mean = sample.mean(axis=0)
        self.scale = np.maximum(sample.std(axis=0), 1e-12)
        scaled = (sample - self.mean) / self.scale
        k = scaled.shape[1]
        self.precision = np.linalg.inv(np.cov(scaled.T).reshape(k, k) + 1e-6 * np.eye(k))
        self.limit = float(np.quantile(self._distance(scaled), quantile))

    def standardize(self, features: np.ndarray) -> np.ndarray:
        """(n, k) features in standard deviations of the sample."""
        return np.asarray((features - self.mean) / self.scale)

    def excess(self, scaled: np.ndarray) -> np.ndarray:
        """(n,) Mahalanobis distance of standardized rows beyond the limit (0 inside)."""
        return np.asarray(np.maximum(self._distance(scaled) - self.limit, 0.0))

    def torch_excess(self, scaled: torch.Tensor) -> torch.Tensor:
        """(n,) `excess`, differentiable."""
        precision = torch.as_tensor(self.precision, dtype=scaled.dtype)
        distance = torch.sqrt(((scaled @ precision) * scaled).sum(dim=1) + 1e-12)
        return torch.relu(distance - self.limit)

    def _distance(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(np.sqrt(np.maximum(((scaled @ self.precision) * scaled).sum(axis=1), 0)))


__all__ = ["FeatureRange"]
