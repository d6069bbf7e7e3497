"""plgl's preference model on a feature map, learning from comparisons: the protocols' learner.

`PairwiseUtility` wraps `plgl.models.LinearPreference` (Bayesian logistic, Laplace posterior,
O(k^2) online `learn_pair` updates, exact `refine`). A comparison "a over b" is the logistic
observation phi(a) - phi(b), so the model's posterior mean phi(x) @ w is a utility in log-odds
units (Bradley-Terry). Hyperparameters (feature lengthscale, prior scale) are chosen by the
Laplace approximation of the evidence, as a GP would choose them by its marginal likelihood.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from plgl.models import LinearPreference

FeatureMap = Callable[[np.ndarray], np.ndarray]
"""(n, dim) inputs -> (n, k) features."""


class PairwiseUtility:
    """A utility over inputs learned from comparisons with plgl's `LinearPreference`.

    Args:
        features: the feature map, (n, dim) -> (n, k).
        n_features: k.
        prior_scale: prior standard deviation of each weight (the utility's scale in log-odds).

    >>> model = PairwiseUtility(lambda x: x, 2, prior_scale=3.0)
    >>> model.learn(np.array([[1.0, 0.0]] * 5), np.array([[0.0, 0.0]] * 5))
    >>> bool(model.mean(np.array([[1.0, 0.0]]))[0] > 0)
    True
    """

    def __init__(self, features: FeatureMap, n_features: int, prior_scale: float) -> None:
        self.features = features
        self.prior_scale = prior_scale
        self.model = LinearPreference(
            prior_scale=prior_scale, intercept_scale=1.0, drift=0.0, change_threshold=None
        ).start(n_features)
        self._differences: list[np.ndarray] = []

    def learn(
        self, winners: np.ndarray, losers: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Online updates: row i of winners (m, dim) was preferred over row i of losers, with
        weight weights[i] (default 1; `log_evidence` assumes unit weights)."""
        won, lost = self.features(winners), self.features(losers)
        weights = np.ones(len(won)) if weights is None else weights
        for a, b, weight in zip(won, lost, weights, strict=True):
            self.model.learn_pair(a, b, float(weight))
        self._differences.extend(won - lost)

    def refine(self) -> None:
        """Exact Laplace posterior (Newton) from every comparison so far."""
        self.model.refine(budget=None)

    @property
    def weights(self) -> np.ndarray:
        """(k,) posterior mean of the weights."""
        return np.asarray(self.model.coef_)

    @property
    def weight_covariance(self) -> np.ndarray:
        """(k, k) posterior covariance of the weights."""
        return np.asarray(self.model.covariance_[:-1, :-1])

    def mean(self, x: np.ndarray) -> np.ndarray:
        """(n,) posterior mean utility of x (n, dim), in log-odds units."""
        return np.asarray(self.features(x) @ self.weights)

    def mean_and_covariance(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n,) mean and (n, n) covariance of the utility at x (n, dim)."""
        phi = self.features(x)
        return np.asarray(phi @ self.weights), np.asarray(phi @ self.weight_covariance @ phi.T)

    def sample_weights(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, k) weight vectors drawn from the Laplace posterior."""
        cov = self.weight_covariance
        jitter = 1e-10 * float(np.trace(cov)) / len(cov)
        root = np.linalg.cholesky(cov + jitter * np.eye(len(cov)))
        return np.asarray(self.weights + rng.standard_normal((n, len(cov))) @ root.T)

    def log_evidence(self) -> float:
        """Laplace approximation of log p(comparisons | features, prior_scale)."""
        w = self.weights
        k = len(w)
        margins = np.asarray(self._differences) @ w if self._differences else np.zeros(0)
        log_likelihood = -float(np.logaddexp(0.0, -margins).sum())
        variance = self.prior_scale**2
        _, log_det = np.linalg.slogdet(self.weight_covariance)
        penalty = 0.5 * float(w @ w) / variance
        return float(log_likelihood - penalty + 0.5 * (log_det - k * np.log(variance)))


def fit_by_evidence(
    candidates: Sequence[tuple[FeatureMap, int, float]],
    winners: np.ndarray,
    losers: np.ndarray,
) -> PairwiseUtility:
    """The `PairwiseUtility` (features, n_features, prior_scale) with the largest evidence on
    the comparisons winners[i] over losers[i] (both (m, dim))."""
    best: PairwiseUtility | None = None
    best_evidence = -np.inf
    for features, n_features, prior_scale in candidates:
        model = PairwiseUtility(features, n_features, prior_scale)
        model.learn(winners, losers)
        model.refine()
        evidence = model.log_evidence()
        if best is None or evidence > best_evidence:
            best, best_evidence = model, evidence
    if best is None:
        raise ValueError("fit_by_evidence needs at least one candidate")
    return best


def maximize(
    value_and_gradient: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    dim: int,
    rng: np.random.Generator,
    n_random: int = 2000,
    n_starts: int = 4,
    starts: np.ndarray | None = None,
) -> np.ndarray:
    """(dim,) approximate maximizer on [0, 1]^dim of a smooth function given as
    x (n, dim) -> (values (n,), gradients (n, dim)): the best of `n_random` uniform points and
    `starts`, then L-BFGS-B from the `n_starts` best of them."""
    pool = rng.random((n_random, dim))
    if starts is not None and len(starts):
        pool = np.vstack([pool, np.clip(starts, 0.0, 1.0)])
    values, _ = value_and_gradient(pool)
    best_x, best_value = pool[int(np.argmax(values))], float(np.max(values))

    def negative(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = value_and_gradient(x[None, :])
        return -float(value[0]), -gradient[0]

    for start in pool[np.argsort(values)[::-1][:n_starts]]:
        result = minimize(negative, start, jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * dim)
        if -float(result.fun) > best_value:
            best_x, best_value = np.clip(result.x, 0.0, 1.0), -float(result.fun)
    return np.asarray(best_x)
