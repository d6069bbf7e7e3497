"""Preferential Bayesian optimisation as in the qEUBO paper (Astudillo et al., AISTATS 2023).

Protocol (re-implemented from the paper's description and settings): a hidden utility on the unit
box (Ackley-6 on [-2, 2]^6, Hartmann-6, Alpine1 on [-10, 10]^7, see `plgl.bench.functions`);
every query shows two points; the simulated person answers with the larger of the two utilities
after adding Gumbel(0, s) noise to each (a logistic choice model; s is the paper's middle noise
level per problem); 4 * d random queries first (the same for every method of a trial), then
adaptive ones (150 in the paper). After each query the metric is the log10 regret of the
maximiser of the model's posterior mean: log10(max u - u(argmax mean)). Seconds per iteration
are the time to update the model and choose the next query.

How plgl plays it: plgl's `LinearPreference` (Bayesian logistic = Bradley-Terry, Laplace
posterior) on `KernelFeatures` (a bowl plus RBF kernel features anchored at the latest 200
compared points and 100 fixed uniform points: a preference GP in the span of its data, with
uncertainty left where there is none), updated online with `learn_pair` and made exact with
`refine` after every answer; every 10 queries the anchors are renewed and the RBF lengthscale
and the prior scale are chosen by the Laplace evidence. Queries maximise EUBO, E[max(f(a),
f(b))] (closed form for a Gaussian posterior), over all pairs of about 220 candidates: the
posterior-mean maximiser, points around it, maximisers of 10 posterior samples (Thompson) and
uniform points. The posterior mean is maximised by 2,000 uniform points and the four best
compared points, then L-BFGS-B from the best four. Baselines: "random queries" (uniform pairs,
the same plgl model and recommendation; the paper's "random") and "botorch qEUBO" (BoTorch's
PairwiseGP with its Laplace marginal likelihood fitted every iteration,
qExpectedUtilityOfBestOption optimised by `optimize_acqf`, posterior mean maximised likewise;
needs the optional `bench` extra).

>>> curve = run_qeubo("plgl", "hartmann6", seed=0, n_queries=2, n_initial=4)
>>> [point["step"] for point in curve]
[0, 1, 2]
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from plgl.bench.functions import TestFunction, ackley, alpine1, hartmann6
from plgl.bench.protocols._features import KernelFeatures
from plgl.bench.protocols._utility import PairwiseUtility, fit_by_evidence, maximize
from plgl.errors import InvalidInputError

PROBLEMS: dict[str, tuple[Callable[[], TestFunction], float]] = {
    "ackley6": (lambda: ackley(6), 0.1416),
    "hartmann6": (hartmann6, 0.1619),
    "alpine1_7": (lambda: alpine1(7), 0.5726),
}
"""Problem -> (test function, Gumbel noise scale s: the qEUBO paper's middle level)."""

METHODS = ("plgl", "random queries", "botorch qEUBO")
N_QUERIES = 150
_MAX_ANCHORS = 200
_FILL_ANCHORS = 100
_LENGTHSCALES = (0.1, 0.2, 0.4)
_PRIOR_SCALES = (1.0, 3.0, 10.0, 30.0)
_SELECT_EVERY = 10


def log_regret(function: TestFunction, x: np.ndarray) -> float:
    """log10 of the regret of one point x (dim,); -inf at the optimum itself.

    >>> log_regret(hartmann6(), np.full(6, 0.5)) > -1
    True
    """
    regret = max(float(function.regret(x[None, :])[0]), 0.0)
    return float(np.log10(regret)) if regret > 0 else float("-inf")


def answers(
    function: TestFunction,
    first: np.ndarray,
    second: np.ndarray,
    scale: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(m,) bool: whether first[i] beats second[i] (both (m, dim)) after Gumbel(0, scale) noise."""
    noisy_first = function.utility(first) + rng.gumbel(0.0, scale, len(first))
    noisy_second = function.utility(second) + rng.gumbel(0.0, scale, len(second))
    return np.asarray(noisy_first > noisy_second)


class _PlglLearner:
    """plgl's model with evidence-chosen hyperparameters, EUBO queries and the recommendation."""

    def __init__(self, dim: int, seed: int) -> None:
        self.dim = dim
        self.winners: list[np.ndarray] = []
        self.losers: list[np.ndarray] = []
        self.model: PairwiseUtility | None = None
        self.features: KernelFeatures | None = None
        self.fill = np.random.default_rng(30_000 + seed).random((_FILL_ANCHORS, dim))

    def learn(self, winners: np.ndarray, losers: np.ndarray) -> None:
        self.winners.extend(winners)
        self.losers.extend(losers)
        if self.model is None or len(self.winners) % _SELECT_EVERY < len(winners):
            # The compared points (the latest _MAX_ANCHORS) and fixed space-filling points anchor
            # the kernel: without the latter, uncertainty would vanish away from the data and
            # the queries would stop exploring.
            shown = np.stack([self.winners, self.losers], axis=1).reshape(-1, self.dim)[::-1]
            _, first = np.unique(shown, axis=0, return_index=True)  # newest first
            anchors = np.vstack([shown[np.sort(first)][:_MAX_ANCHORS], self.fill])
            candidates = []
            for lengthscale in _LENGTHSCALES:
                features = KernelFeatures(anchors, lengthscale)
                candidates += [(features, features.n_features, s) for s in _PRIOR_SCALES]
            self.model = fit_by_evidence(candidates, np.array(self.winners), np.array(self.losers))
            features_used = self.model.features
            assert isinstance(features_used, KernelFeatures)
            self.features = features_used
        else:
            self.model.learn(winners, losers)
            self.model.refine()

    def recommend(self, rng: np.random.Generator) -> np.ndarray:
        assert self.model is not None and self.features is not None
        features, weights = self.features, self.model.weights
        compared = np.vstack([self.winners[-50:], self.losers[-50:]])
        top = compared[np.argsort(self.model.mean(compared))[-4:]]
        return maximize(
            lambda x: features.value_and_gradient(weights, x), self.dim, rng, starts=top
        )

    def query(self, best: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        assert self.model is not None and self.features is not None
        pool = rng.random((1000, self.dim))
        thompson = self.features(pool) @ self.model.sample_weights(10, rng).T  # (1000, 10)
        local = [best + rng.normal(0.0, s, (25, self.dim)) for s in (0.02, 0.05, 0.1, 0.2)]
        candidates = np.clip(
            np.vstack([best[None, :], pool[np.argmax(thompson, axis=0)], *local, pool[:100]]),
            0.0,
            1.0,
        )
        mean, cov = self.model.mean_and_covariance(candidates)
        i, j = np.triu_indices(len(candidates), k=1)
        gap = mean[i] - mean[j]
        spread = np.sqrt(np.maximum(cov[i, i] + cov[j, j] - 2.0 * cov[i, j], 1e-12))
        eubo = mean[j] + gap * norm.cdf(gap / spread) + spread * norm.pdf(gap / spread)
        pick = int(np.argmax(eubo))
        return candidates[i[pick]], candidates[j[pick]]


def run_qeubo(
    method: str,
    problem: str,
    seed: int,
    n_queries: int = N_QUERIES,
    n_initial: int | None = None,
) -> list[dict[str, float]]:
    """One trial: log10 regret of the posterior-mean maximiser after the initial queries (step 0)
    and after each adaptive query, with the seconds each iteration took.

    Returns dicts with step, log_regret and (for steps >= 1) seconds.
    """
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}; got {method!r}")
    if problem not in PROBLEMS:
        raise InvalidInputError(f"problem must be one of {tuple(PROBLEMS)}; got {problem!r}")
    make, scale = PROBLEMS[problem]
    function = make()
    d = function.dim
    n_initial = 4 * d if n_initial is None else n_initial
    world = np.random.default_rng(seed)  # initial queries: shared by every method of a trial
    first, second = world.random((n_initial, d)), world.random((n_initial, d))
    noise = np.random.default_rng(10_000 + seed)
    rng = np.random.default_rng(20_000 + seed)
    won = answers(function, first, second, scale, noise)
    if method == "botorch qEUBO":
        from plgl.bench.protocols._botorch import BotorchQEUBO

        learner: _PlglLearner | BotorchQEUBO = BotorchQEUBO(d, seed)
    else:
        learner = _PlglLearner(d, seed)
    learner.learn(np.where(won[:, None], first, second), np.where(won[:, None], second, first))
    best = learner.recommend(rng)
    curve: list[dict[str, float]] = [{"step": 0, "log_regret": log_regret(function, best)}]
    for step in range(1, n_queries + 1):
        started = time.perf_counter()
        if method == "random queries":
            a, b = rng.random(d), rng.random(d)
        else:
            a, b = learner.query(best, rng)
        seconds = time.perf_counter() - started
        a_wins = bool(answers(function, a[None, :], b[None, :], scale, noise)[0])
        started = time.perf_counter()
        learner.learn(
            (a if a_wins else b)[None, :],
            (b if a_wins else a)[None, :],
        )
        seconds += time.perf_counter() - started
        best = learner.recommend(rng)
        curve.append({"step": step, "log_regret": log_regret(function, best), "seconds": seconds})
    return curve
