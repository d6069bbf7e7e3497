"""Feature maps that make plgl's linear preference model nonlinear in the inputs.

`FourierFeatures` is an approximate Gaussian process: a smooth bowl (x and x^2 per input) plus
random Fourier features of an RBF kernel (Rahimi & Recht, 2007). A linear model on these features
with a Gaussian prior on its weights is a GP with kernel
quad_scale^2 (x.x' + x^2.x'^2) + k_rbf(x, x'), so plgl's Bayesian logistic model on them is a
preferential GP whose every update costs O(k^2), k = 2 * dim + n_fourier.
"""

from __future__ import annotations

import numpy as np


class FourierFeatures:
    """phi(x) = (quad_scale * x, quad_scale * x^2, sqrt(2 / D) cos(x @ omega / lengthscale + b)).

    Args:
        dim: input dimension.
        n_fourier: number D of random Fourier features.
        lengthscale: RBF lengthscale in input units.
        quad_scale: prior weight of the bowl part relative to the RBF part.
        seed: draws omega (dim, D) ~ N(0, 1) and b (D,) ~ U[0, 2 pi).

    >>> phi = FourierFeatures(3, 16, 0.3, seed=0)
    >>> phi(np.zeros((2, 3))).shape
    (2, 22)
    """

    def __init__(
        self, dim: int, n_fourier: int, lengthscale: float, quad_scale: float = 0.5, seed: int = 0
    ) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.lengthscale = lengthscale
        self.quad_scale = quad_scale
        self.omega = rng.standard_normal((dim, n_fourier))
        self.offset = rng.uniform(0.0, 2.0 * np.pi, n_fourier)
        self.n_features = 2 * dim + n_fourier

    def with_lengthscale(self, lengthscale: float) -> FourierFeatures:
        """The same random draws at another lengthscale (so model selection compares like with
        like)."""
        other = FourierFeatures.__new__(FourierFeatures)
        other.__dict__.update(self.__dict__)
        other.lengthscale = lengthscale
        return other

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(n, k) features of x (n, dim)."""
        angle = x @ self.omega / self.lengthscale + self.offset
        scale = np.sqrt(2.0 / self.omega.shape[1])
        return np.hstack([self.quad_scale * x, self.quad_scale * x**2, scale * np.cos(angle)])

    def value_and_gradient(
        self, weights: np.ndarray, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """f(x) = phi(x) @ weights (n,) and its gradient in x (n, dim), for x (n, dim)."""
        d = self.dim
        angle = x @ self.omega / self.lengthscale + self.offset
        scale = np.sqrt(2.0 / self.omega.shape[1])
        linear, square, fourier = weights[:d], weights[d : 2 * d], weights[2 * d :]
        value = self.quad_scale * (x @ linear + x**2 @ square) + scale * np.cos(angle) @ fourier
        gradient = (
            self.quad_scale * (linear + 2.0 * x * square)
            - scale * (np.sin(angle) * fourier) @ self.omega.T / self.lengthscale
        )
        return np.asarray(value), np.asarray(gradient)


class KernelFeatures:
    """phi(x) = (quad_scale * x, quad_scale * x^2, k(x, anchors) @ L^-T), K(anchors) = L L^T.

    A linear model on these features with weights ~ N(0, s^2 I) is a GP with an RBF kernel in
    the span of the anchors (Nystrom / subset of regressors). With the compared points as the
    anchors its posterior mean is that of the full GP: a preference GP's mode lies in the span of
    the kernel at the data (representer theorem).

    Args:
        anchors: (m, dim) points, e.g. every point compared so far.
        lengthscale: RBF lengthscale in input units.
        quad_scale: prior weight of the bowl part relative to the RBF part.

    >>> phi = KernelFeatures(np.random.default_rng(0).random((5, 3)), 0.3)
    >>> phi(np.zeros((2, 3))).shape
    (2, 11)
    """

    def __init__(self, anchors: np.ndarray, lengthscale: float, quad_scale: float = 0.5) -> None:
        self.anchors = anchors
        self.dim = anchors.shape[1]
        self.lengthscale = lengthscale
        self.quad_scale = quad_scale
        gram = self._kernel(anchors) + 1e-6 * np.eye(len(anchors))
        self.inverse_root = np.linalg.inv(np.linalg.cholesky(gram)).T  # (m, m): K^-1 = R R^T
        self.n_features = 2 * self.dim + len(anchors)

    def _kernel(self, x: np.ndarray) -> np.ndarray:
        a = self.anchors
        squared = (x * x).sum(1)[:, None] - 2.0 * x @ a.T + (a * a).sum(1)[None, :]
        return np.asarray(np.exp(-0.5 * np.maximum(squared, 0.0) / self.lengthscale**2))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(n, k) features of x (n, dim)."""
        q = self.quad_scale
        return np.hstack([q * x, q * x**2, self._kernel(x) @ self.inverse_root])

    def value_and_gradient(
        self, weights: np.ndarray, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """f(x) = phi(x) @ weights (n,) and its gradient in x (n, dim), for x (n, dim)."""
        d, q = self.dim, self.quad_scale
        linear, square = weights[:d], weights[d : 2 * d]
        coef = self.inverse_root @ weights[2 * d :]  # (m,): f_kernel(x) = k(x, anchors) @ coef
        weighted = self._kernel(x) * coef  # (n, m)
        value = q * (x @ linear + x**2 @ square) + weighted.sum(1)
        kernel_gradient = -(weighted.sum(1)[:, None] * x - weighted @ self.anchors)
        gradient = q * (linear + 2.0 * x * square) + kernel_gradient / self.lengthscale**2
        return np.asarray(value), np.asarray(gradient)
