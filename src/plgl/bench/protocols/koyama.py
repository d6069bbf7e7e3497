"""Koyama et al.'s sequential-gallery setting (sequential line search, SIGGRAPH 2017, and
sequential plane search / Sequential Gallery, SIGGRAPH 2020), with plgl as the learner.

Protocol (re-implemented from the papers' description; their code is not used): a hidden
utility on [0, 1]^d, d in {5, 10, 15, 20}: Rosenbrock of 4x (optimum x* = 1/4 * 1) or the
isotropic Gaussian exp(-|x - 0.3 * 1|^2) (optimum x* = 0.3 * 1). Each trial starts from one
uniform point (the same for every method of a trial); each of 25 iterations shows a gallery
through the current best point and a noise-free oracle picks the best point of it, which becomes
the current best. Metrics after each iteration (iteration 0 = the start): the distance
|x_best - x*| and the function value (Rosenbrock: its cost, 0 at the optimum, lower is better;
Gaussian: its value, 1 at the optimum). 50 trials x 25 iterations in the papers.

Galleries: a line (1-D slider, as in sequential line search) or a plane (2-D gallery, as in
sequential plane search), both through the current best and clipped to the box; the oracle's
pick on it is found by a grid search refined three times (about 1e-4 of the box in the end).

How plgl plays it: every pick is read as comparisons, the picked point over nine points spread
over the gallery and over the previous best; plgl's `LinearPreference` on `FourierFeatures` (an
approximate GP; lengthscale and prior scale by the Laplace evidence every 5 iterations) learns
from them. The next gallery goes through the current best; its directions are chosen among 64
random ones and the directions towards the maximisers of the posterior mean and of one posterior
sample (Thompson), all made orthogonal to the last gallery (the oracle's pick left the gradient
orthogonal to it), by the largest expected improvement over the current best at 32 points of the
gallery. Baselines: the same galleries along uniformly random directions ("random line", "random
plane") and random search (the oracle picks the best of the current best and 25 uniform points).

>>> curve = run_koyama("random line", "gaussian", 5, seed=0, n_iterations=2)
>>> [p["step"] for p in curve], curve[-1]["value"] >= curve[0]["value"]
([0, 1, 2], True)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from plgl.bench.functions import TestFunction, gaussian, rosenbrock, rosenbrock_cost
from plgl.bench.protocols._features import FourierFeatures
from plgl.bench.protocols._utility import PairwiseUtility, fit_by_evidence, maximize
from plgl.errors import InvalidInputError

FUNCTIONS = {"rosenbrock": rosenbrock, "gaussian": gaussian}
DIMENSIONS = (5, 10, 15, 20)
METHODS = ("plgl plane", "plgl line", "random plane", "random line", "random search")
N_ITERATIONS = 25
N_TRIALS = 50
RANDOM_SEARCH_GALLERY = 25
_N_FOURIER = 200
_LENGTHSCALES = (0.25, 0.5, 1.0)
_PRIOR_SCALES = (3.0, 10.0, 30.0, 100.0)
_SELECT_EVERY = 5
_GRID = {1: 201, 2: 41}  # grid points per axis for a line and a plane
_ZOOMS = 3


def value(name: str, x: np.ndarray) -> float:
    """The reported function value of one point x (d,): Rosenbrock's cost or the Gaussian."""
    if name == "rosenbrock":
        return float(rosenbrock_cost(x[None, :])[0])
    return float(np.exp(-((x - 0.3) ** 2).sum()))


def best_on_gallery(
    function: TestFunction, origin: np.ndarray, directions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The oracle: the best point of {origin + c @ directions} inside [0, 1]^d.

    Args:
        origin: (d,) a point inside the box (the current best).
        directions: (k, d) orthonormal spanning directions, k = 1 (line) or 2 (plane).

    Returns:
        the best point (d,) and an (m, d) spread of points shown on the gallery (a 3 x 3 grid
        of the plane, or 9 points of the line, inside the box).
    """
    k, d = directions.shape
    half = np.sqrt(d)
    centre = np.zeros(k)
    best, best_value = origin, float(function.utility(origin[None, :])[0])
    shown = np.empty((0, d))
    for zoom in range(_ZOOMS + 1):
        axis = np.linspace(-half, half, _GRID[k])
        coords = centre + np.stack(np.meshgrid(*([axis] * k), indexing="ij"), -1).reshape(-1, k)
        points = origin + coords @ directions
        inside = np.all((points >= 0.0) & (points <= 1.0), axis=1)
        points, coords = points[inside], coords[inside]
        if zoom == 0:
            step = max(1, len(points) // 9)
            shown = points[::step][:9]
        if not len(points):
            break
        values = function.utility(points)
        top = int(np.argmax(values))
        if values[top] > best_value:
            best, best_value, centre = points[top], float(values[top]), coords[top]
        half = 2.0 * half / (_GRID[k] - 1) * 2.0
    return np.asarray(best), shown


class _PlglGuide:
    """plgl's model of the oracle's picks, and the directions of the next gallery."""

    def __init__(self, dim: int, seed: int) -> None:
        self.dim = dim
        self.base = FourierFeatures(dim, _N_FOURIER, _LENGTHSCALES[1], seed=seed)
        self.winners: list[np.ndarray] = []
        self.losers: list[np.ndarray] = []
        self.model: PairwiseUtility | None = None
        self.iterations = 0
        self.previous = np.empty((0, dim))  # the last gallery's directions

    def learn(self, picked: np.ndarray, others: np.ndarray) -> None:
        keep = np.linalg.norm(others - picked, axis=1) > 1e-9
        winners, losers = np.repeat(picked[None, :], int(keep.sum()), 0), others[keep]
        self.winners.extend(winners)
        self.losers.extend(losers)
        self.iterations += 1
        if self.model is None or self.iterations % _SELECT_EVERY == 0:
            candidates = []
            for lengthscale in _LENGTHSCALES:
                features = self.base.with_lengthscale(lengthscale * np.sqrt(self.dim / 5))
                candidates += [(features, features.n_features, s) for s in _PRIOR_SCALES]
            self.model = fit_by_evidence(candidates, np.array(self.winners), np.array(self.losers))
        elif len(winners):
            self.model.learn(winners, losers)
            self.model.refine()

    def directions(self, best: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        """(k, d) orthonormal directions through `best`: the gallery, among 64 random ones and
        those towards the maximisers of the posterior mean and of a posterior sample, with the
        largest expected improvement over `best` at any of 32 of its points."""
        assert self.model is not None
        features = self.model.features
        assert isinstance(features, FourierFeatures)
        targets = [
            _maximizer(features, weights, best, rng)
            for weights in (self.model.weights, self.model.sample_weights(1, rng)[0])
        ]
        towards = np.array(targets) - best
        raw = [rng.standard_normal((k, self.dim)) for _ in range(64)] + [towards[[1, 0]][:k]]
        # The oracle left the gradient orthogonal to the last gallery: look elsewhere.
        options = [_orthonormal(v - (v @ self.previous.T) @ self.previous, rng) for v in raw]
        radii = np.array([0.05, 0.15, 0.3, 0.6]) * np.sqrt(self.dim)
        angles = np.linspace(0.0, 2.0 * np.pi, 8, endpoint=False)
        offsets = np.array([[np.cos(a), np.sin(a)] for a in angles])[:, :k]  # (8, k)
        steps = (radii[:, None, None] * offsets[None, :, :]).reshape(-1, k)  # (32, k)
        points = np.clip(
            np.concatenate([best + steps @ basis for basis in options]), 0.0, 1.0
        )  # (options * 32, d)
        # Expected improvement of f(point) - f(best): both on one posterior, so correlated.
        difference = self.model.features(points) - self.model.features(best[None, :])
        gap = difference @ self.model.weights
        variance = ((difference @ self.model.weight_covariance) * difference).sum(axis=1)
        spread = np.sqrt(np.maximum(variance, 1e-12))
        improvement = gap * norm.cdf(gap / spread) + spread * norm.pdf(gap / spread)
        score = improvement.reshape(len(options), -1).max(axis=1)
        self.previous = options[int(np.argmax(score))]
        return self.previous


def _maximizer(
    features: FourierFeatures, weights: np.ndarray, best: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(d,) maximiser on the box of phi(x) @ weights, searched from 1,000 points and `best`."""

    def value_and_gradient(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return features.value_and_gradient(weights, x)

    return maximize(value_and_gradient, len(best), rng, 1000, 2, best[None, :])


def _orthonormal(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(k, d) orthonormal rows spanning `vectors` (k, d); degenerate ones replaced at random."""
    basis: list[np.ndarray] = []
    for v in vectors:
        for attempt in range(10):
            u = v if attempt == 0 else rng.standard_normal(len(v))
            for b in basis:
                u = u - (u @ b) * b
            if np.linalg.norm(u) > 1e-8:
                basis.append(u / np.linalg.norm(u))
                break
    return np.array(basis)


def run_koyama(
    method: str, name: str, dim: int, seed: int, n_iterations: int = N_ITERATIONS
) -> list[dict[str, float]]:
    """One trial: distance to the optimum and function value of the current best, per iteration.

    Returns dicts with step (0 = the start), distance and value.
    """
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}; got {method!r}")
    if name not in FUNCTIONS:
        raise InvalidInputError(f"function must be one of {tuple(FUNCTIONS)}; got {name!r}")
    function = FUNCTIONS[name](dim)
    best = np.random.default_rng(seed).random(dim)
    rng = np.random.default_rng(20_000 + seed)
    guide = _PlglGuide(dim, seed) if method.startswith("plgl") else None
    curve = [
        {
            "step": 0,
            "distance": float(function.distance(best[None, :])[0]),
            "value": value(name, best),
        }
    ]
    for step in range(1, n_iterations + 1):
        previous = best
        if method == "random search":
            shown = rng.random((RANDOM_SEARCH_GALLERY, dim))
            candidates = np.vstack([best[None, :], shown])
            best = candidates[int(np.argmax(function.utility(candidates)))]
        else:
            k = 2 if method.endswith("plane") else 1
            if guide is None or guide.model is None:
                directions = _orthonormal(rng.standard_normal((k, dim)), rng)
            else:
                directions = guide.directions(best, k, rng)
            best, shown = best_on_gallery(function, best, directions)
        if guide is not None:
            guide.learn(best, np.vstack([shown, previous[None, :]]))
        curve.append(
            {
                "step": step,
                "distance": float(function.distance(best[None, :])[0]),
                "value": value(name, best),
            }
        )
    return curve
