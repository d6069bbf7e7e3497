"""PrefGen's localisation protocol (Helbling et al., 2022), with plgl as the learner.

Protocol (as in PrefGen's simulation, re-implemented): a hidden ideal point a* in the normalised
2-D attribute space [0, 1]^2 (PrefGen: yaw and age; here 20 targets drawn uniformly, one per
seed); 1,000 uniform attribute samples are the items that can be shown; each of 30 queries shows
two items p, n and the oracle answers which is closer to a*. Three oracles: noiseless; 20% of
answers flipped; Gaussian noise of standard deviation 0.2 added to one item's squared distance
(PrefGen's `gaussian_noise_oracle`). Metrics after each query, exactly as PrefGen defines them:

* squared error |a_hat - a*|^2;
* percentile rank: the percentage of 5,000 random attribute vectors closer to a* than a_hat is
  (0% = better than every random sample; PrefGen uses attributes of random GAN faces, here
  uniform samples of the same normalised space);
* constraints satisfied: the share of the target's held-out pairs (p, n), p truly closer to a*
  (1,000 uniform pairs, answered without noise), with |a_hat - p| < |a_hat - n|.

How plgl plays it: an ideal-point preference is linear in phi(x) = (x - c, -|x - c|^2), c the
centre of the space, since |p - a|^2 < |n - a|^2 <=> w . (phi(p) - phi(n)) > 0 for
w ~ (2(a - c), 1).
So plgl's `LinearPreference` learns from `learn_pair(phi(p), phi(n))` the model PrefGen's MCMV
assumes, P(p over n) = sigmoid(k (|n - a|^2 - |p - a|^2)): a logistic response with a noise
constant k (PrefGen's Stan model: k = 10 by default, a uniform prior on a in the box, no model of
flipped answers), which is w = k (2 (a - c), 1). Its `GaussianPrior` pins the third weight at k
(standard deviation 1% of k) and gives the first two the spread of a uniform ideal point
(2 k * 0.29). plgl adds what its default model has for mis-swipes, the lapse likelihood
lapse / 2 + (1 - lapse) sigmoid(f) (`LinearPreference(lapse=...)`). Neither learner is told the
oracle's noise: plgl weighs every noise constant in `_NOISE_CONSTANTS` and every lapse rate of
the model's own grid (`plgl.models.monitor.LAPSE_GRID`) by its evidence after every answer. The
posterior (`Posterior`) is `LinearPreference`'s Laplace posterior per (k, lapse), corrected by
importance sampling (PrefGen samples its posterior with NUTS): the weights give the exact
posterior within each model and each model's evidence. The estimate is PrefGen's: the posterior
mean of the ideal point c + w[:2] / (2 w[2]), each sample's clipped to the space. Queries
("plgl") maximise the expected information about w (BALD: H[E p] - E H[p], over 256 posterior
draws) among 2,000 random pairs of items; the baseline "random queries" shows random pairs to
the same learner.

>>> run_prefgen("plgl", "noiseless", seed=0, n_queries=3)[-1]["step"]
3
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from plgl.bench.protocols._utility import PairwiseUtility
from plgl.errors import InvalidInputError
from plgl.models import GaussianPrior, LinearPreference
from plgl.models.laplace import lapse_log_likelihood
from plgl.models.monitor import LAPSE_GRID

Noise = Literal["noiseless", "flips", "sigma"]
NOISE_MODELS: dict[str, tuple[float, float]] = {
    "noiseless": (0.0, 0.0),
    "flips": (0.2, 0.0),
    "sigma": (0.0, 0.2),
}
"""Oracle name -> (chance of a flipped answer, std of the noise on a squared distance)."""

METHODS = ("plgl", "random queries")
N_QUERIES = 30
N_ITEMS = 1_000
N_RANDOM_SAMPLES = 5_000
N_HELD_OUT = 1_000
CENTRE = 0.5
_NOISE_CONSTANTS = (3.0, 10.0, 30.0, 100.0)  # k, weighed by their evidence
_LAPSES = tuple(float(x) for x in LAPSE_GRID)  # lapse rates, weighed by their evidence
_PINNED = 0.01  # standard deviation of the third weight, relative to k
_UNIFORM_SD = 0.29  # standard deviation of a uniform number in [0, 1]
_N_CANDIDATE_PAIRS = 2_000
_N_POSTERIOR_SAMPLES = 256
_N_IMPORTANCE = 512  # importance samples per (noise constant, lapse)
_WIDEN = 2.0  # proposal covariance / Laplace covariance


def squared_error(estimate: np.ndarray, target: np.ndarray) -> float:
    """|estimate - target|^2 for two (2,) points.

    >>> squared_error(np.array([0.1, 0.2]), np.array([0.1, 0.5]))
    0.09
    """
    return round(float(((estimate - target) ** 2).sum()), 15)


def percentile_rank(estimate: np.ndarray, target: np.ndarray, samples: np.ndarray) -> float:
    """Percentage of samples (m, 2) strictly closer to target than the estimate is.

    >>> percentile_rank(np.array([0.5, 0.5]), np.array([0.5, 0.5]), np.random.rand(10, 2))
    0.0
    """
    radius = np.linalg.norm(estimate - target)
    return float(100.0 * np.mean(np.linalg.norm(samples - target, axis=1) < radius))


def constraints_satisfied(estimate: np.ndarray, preferred: np.ndarray, other: np.ndarray) -> float:
    """Share of held-out pairs (preferred[i], other[i]), both (m, 2), that the estimate agrees
    with: |estimate - preferred[i]| < |estimate - other[i]|."""
    closer = np.linalg.norm(preferred - estimate, axis=1) < np.linalg.norm(other - estimate, axis=1)
    return float(np.mean(closer))


def answer(
    first: np.ndarray,
    second: np.ndarray,
    target: np.ndarray,
    noise: str,
    rng: np.random.Generator,
) -> bool:
    """Whether the oracle prefers `first` (2,) over `second` (2,) as closer to `target`."""
    flip, sigma = NOISE_MODELS[noise]
    first_distance = float(((first - target) ** 2).sum()) + (rng.normal(0.0, sigma) if sigma else 0)
    prefers_first = first_distance < float(((second - target) ** 2).sum())
    if flip and rng.random() < flip:
        prefers_first = not prefers_first
    return prefers_first


def ideal_point_features(x: np.ndarray) -> np.ndarray:
    """(n, 3) phi(x) = (x - c, -|x - c|^2) for attribute vectors x (n, 2)."""
    centred = x - CENTRE
    return np.column_stack([centred, -(centred**2).sum(axis=1)])


class IdealPointUtility(PairwiseUtility):
    """`PairwiseUtility` over `ideal_point_features` with MCMV's model: utility
    -k |x - a|^2, so w = k (2 (a - c), 1), under a prior that pins w[2] near k and spreads a
    like a uniform point in the box.

    >>> model = IdealPointUtility(10.0)
    >>> float(model.model.coef_[2])
    10.0
    """

    def __init__(self, noise_constant: float, lapse: float = 0.0) -> None:
        super().__init__(ideal_point_features, 3, prior_scale=noise_constant)
        self.lapse = lapse
        k = noise_constant
        spread = 2.0 * k * _UNIFORM_SD
        self.prior = GaussianPrior(
            np.array([0.0, 0.0, k]), np.diag([spread**2, spread**2, (_PINNED * k) ** 2])
        )
        self.model = LinearPreference(
            intercept_scale=1.0, drift=0.0, change_threshold=None, prior=self.prior, lapse=lapse
        ).start(3)

    def log_evidence(self) -> float:
        """Laplace approximation of log p(comparisons | k, lapse)."""
        w = self.weights
        margins = np.asarray(self._differences) @ w
        fit = float(lapse_log_likelihood(margins, np.ones(len(margins)), self.lapse).sum())
        offset = w - self.prior.mean
        penalty = 0.5 * float(offset @ self.prior.precision() @ offset)
        _, log_det = np.linalg.slogdet(self.weight_covariance)
        _, prior_log_det = np.linalg.slogdet(self.prior.covariance)
        return fit - penalty + 0.5 * float(log_det - prior_log_det)


class Posterior:
    """Weighted samples of (w, lapse): the posterior of the comparisons so far, averaged over
    the noise constants and lapse rates by their evidence.

    Each (k, lapse) gets `IdealPointUtility`'s Laplace posterior; samples drawn from it (its
    covariance widened by `_WIDEN`) are weighted by prior x likelihood / proposal (importance
    sampling), so the weights hold both the exact posterior shape within a model and the
    models' evidence (a uniform prior over them).
    """

    def __init__(self, winners: np.ndarray, losers: np.ndarray, rng: np.random.Generator) -> None:
        differences = ideal_point_features(winners) - ideal_point_features(losers)
        samples, lapses, log_weights = [], [], []
        for k in _NOISE_CONSTANTS:
            for lapse in _LAPSES:
                model = IdealPointUtility(k, lapse)
                model.learn(winners, losers)
                model.refine()
                cov = _WIDEN * model.weight_covariance
                root = np.linalg.cholesky(cov + 1e-12 * np.trace(cov) * np.eye(3))
                z = rng.standard_normal((_N_IMPORTANCE, 3))
                w = model.weights + z @ root.T
                log_proposal = -0.5 * (z * z).sum(axis=1) - np.log(np.diag(root)).sum()
                offset = w - model.prior.mean
                precision = model.prior.precision()
                log_prior = -0.5 * np.einsum("ij,jk,ik->i", offset, precision, offset)
                log_prior -= 0.5 * np.linalg.slogdet(model.prior.covariance)[1]
                margins = differences @ w.T  # (comparisons, samples)
                fit = lapse_log_likelihood(margins, np.ones_like(margins), lapse).sum(axis=0)
                samples.append(w)
                lapses.append(np.full(_N_IMPORTANCE, lapse))
                log_weights.append(log_prior + fit - log_proposal)
        self.samples = np.vstack(samples)  # (m, 3)
        self.lapses = np.concatenate(lapses)  # (m,)
        log_weight = np.concatenate(log_weights)
        weights = np.exp(log_weight - log_weight.max())
        self.weights = weights / weights.sum()  # (m,)

    def estimate(self) -> np.ndarray:
        """(2,) the posterior mean of the ideal point c + w[:2] / (2 w[2]), each sample's
        clipped to [0, 1]^2 (one without a bowl, w[2] <= 0, points to the side its utility
        rises to)."""
        w = self.samples
        bowl = w[:, 2] > 1e-12
        inside = CENTRE + w[:, :2] / (2.0 * np.where(bowl, w[:, 2], 1.0))[:, None]
        points = np.where(bowl[:, None], inside, CENTRE + np.sign(w[:, :2]) * CENTRE)
        return np.asarray(self.weights @ np.clip(points, 0.0, 1.0))

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n posterior samples (n, 3) and their lapse rates (n,), drawn by weight."""
        chosen = rng.choice(len(self.weights), size=n, p=self.weights)
        return self.samples[chosen], self.lapses[chosen]


def _informative_pair(
    posterior: Posterior, items: np.ndarray, rng: np.random.Generator
) -> tuple[int, int]:
    """The candidate pair of items with the largest mutual information between answer and w."""
    first = rng.integers(len(items), size=_N_CANDIDATE_PAIRS)
    second = rng.integers(len(items), size=_N_CANDIDATE_PAIRS)
    keep = first != second
    first, second = first[keep], second[keep]
    difference = ideal_point_features(items[first]) - ideal_point_features(items[second])
    w, lapse = posterior.draw(_N_POSTERIOR_SAMPLES, rng)
    logits = np.clip(difference @ w.T, -30, 30)
    p = 0.5 * lapse + (1.0 - lapse) * 0.5 * (1.0 + np.tanh(0.5 * logits))  # (pairs, samples)
    information = _entropy(p.mean(axis=1)) - _entropy(p).mean(axis=1)
    best = int(np.argmax(information))
    return int(first[best]), int(second[best])


def _entropy(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(-(q * np.log(q) + (1 - q) * np.log(1 - q)))


def run_prefgen(
    method: str, noise: str, seed: int, n_queries: int = N_QUERIES
) -> list[dict[str, float]]:
    """One target (seed) under one oracle: the three metrics after each query.

    Returns one dict per query: step, squared_error, percentile, constraints.
    """
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}; got {method!r}")
    if noise not in NOISE_MODELS:
        raise InvalidInputError(f"noise must be one of {tuple(NOISE_MODELS)}; got {noise!r}")
    world = np.random.default_rng(seed)  # the same target and items for every method
    target = world.random(2)
    items = world.random((N_ITEMS, 2))
    random_samples = world.random((N_RANDOM_SAMPLES, 2))
    held_a, held_b = world.random((N_HELD_OUT, 2)), world.random((N_HELD_OUT, 2))
    a_closer = ((held_a - target) ** 2).sum(1) < ((held_b - target) ** 2).sum(1)
    preferred = np.where(a_closer[:, None], held_a, held_b)
    other = np.where(a_closer[:, None], held_b, held_a)
    oracle_rng = np.random.default_rng(10_000 + seed)
    rng = np.random.default_rng(20_000 + seed)

    winners: list[np.ndarray] = []
    losers: list[np.ndarray] = []
    posterior = Posterior(np.zeros((0, 2)), np.zeros((0, 2)), rng)
    curve: list[dict[str, float]] = []
    for step in range(1, n_queries + 1):
        if method == "plgl":
            i, j = _informative_pair(posterior, items, rng)
        else:
            i, j = (int(k) for k in rng.choice(N_ITEMS, size=2, replace=False))
        first_wins = answer(items[i], items[j], target, noise, oracle_rng)
        winners.append(items[i] if first_wins else items[j])
        losers.append(items[j] if first_wins else items[i])
        posterior = Posterior(np.array(winners), np.array(losers), rng)
        estimate = posterior.estimate()
        curve.append(
            {
                "step": step,
                "squared_error": squared_error(estimate, target),
                "percentile": percentile_rank(estimate, target, random_samples),
                "constraints": constraints_satisfied(estimate, preferred, other),
            }
        )
    return curve
