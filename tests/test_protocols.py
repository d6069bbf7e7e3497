"""The peers' protocols: test functions, metric definitions, oracles and end-to-end runs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from plgl.bench.functions import (
    HARTMANN6_MIN,
    TestFunction,
    ackley,
    alpine1,
    gaussian,
    hartmann6,
    rosenbrock,
    rosenbrock_cost,
)
from plgl.bench.protocols import koyama, prefgen, qeubo
from plgl.errors import InvalidInputError

ALL_FUNCTIONS = [ackley(6), hartmann6(), alpine1(7), rosenbrock(5), gaussian(10)]


@pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=lambda f: f.name)
def test_known_optimum_is_the_maximum(function: TestFunction) -> None:
    at_optimum = float(function.utility(function.optimizer[None, :])[0])
    assert at_optimum == pytest.approx(function.max_value, abs=1e-4)
    others = np.random.default_rng(0).random((2000, function.dim))
    assert np.all(function.utility(others) <= function.max_value + 1e-9)
    assert np.all(function.regret(others) > 0)
    assert function.distance(function.optimizer[None, :])[0] == 0.0


def test_classic_values() -> None:
    assert pytest.approx(3.32237) == -HARTMANN6_MIN
    # Ackley's classic value at z = (1, ..., 1) (x = 0.75): 20 - 20 e^-0.2 + e - e^1 = 3.6254.
    assert -ackley(6).utility(np.full((1, 6), 0.75))[0] == pytest.approx(3.625384938)
    # Alpine1 at z = 1 (x = 0.55) in 7 dims: 7 |sin 1 + 0.1|.
    assert -alpine1(7).utility(np.full((1, 7), 0.55))[0] == pytest.approx(7 * (math.sin(1) + 0.1))
    # Rosenbrock's classic value at the origin of 4x is d - 1; at x = 1/4 it is 0.
    assert rosenbrock_cost(np.zeros((1, 5)))[0] == pytest.approx(4.0)
    assert gaussian(4).utility(np.full((1, 4), 0.8))[0] == pytest.approx(math.exp(-1.0))


def test_log_regret() -> None:
    assert qeubo.log_regret(ackley(6), np.full(6, 0.5)) < -14  # exp(1) - e: rounding only
    expected = math.log10(7 * (math.sin(1) + 0.1))
    assert qeubo.log_regret(alpine1(7), np.full(7, 0.55)) == pytest.approx(expected)
    h = hartmann6()
    assert qeubo.log_regret(h, h.optimizer) < -4  # the optimiser is known to 5 digits
    assert qeubo.log_regret(h, np.zeros(6)) == pytest.approx(math.log10(3.32237 - 0.0052), 1e-3)


def test_gumbel_answers_follow_utility_when_noise_is_small() -> None:
    f = hartmann6()
    rng = np.random.default_rng(0)
    a, b = rng.random((200, 6)), rng.random((200, 6))
    won = qeubo.answers(f, a, b, 1e-6, rng)
    np.testing.assert_array_equal(won, f.utility(a) > f.utility(b))
    noisy = qeubo.answers(f, a, b, 10.0, rng)  # utilities differ by < 4: nearly coin flips
    assert 0.3 < noisy.mean() < 0.7


def test_percentile_rank_on_hand_made_samples() -> None:
    target = np.array([0.0, 0.0])
    samples = np.array([[0.1, 0.0], [0.0, 0.3], [0.5, 0.0], [0.05, 0.0]])
    assert prefgen.percentile_rank(np.array([0.2, 0.0]), target, samples) == 50.0
    assert prefgen.percentile_rank(np.array([0.0, 0.0]), target, samples) == 0.0
    assert prefgen.percentile_rank(np.array([1.0, 1.0]), target, samples) == 100.0


def test_constraints_satisfied_on_hand_made_pairs() -> None:
    preferred = np.array([[0.1, 0.0], [0.9, 0.0], [0.0, 0.2], [0.6, 0.6]])
    other = np.array([[0.5, 0.0], [0.2, 0.0], [0.0, 0.3], [0.7, 0.7]])
    assert prefgen.constraints_satisfied(np.zeros(2), preferred, other) == 0.75
    assert prefgen.squared_error(np.array([0.1, 0.2]), np.array([0.4, 0.6])) == pytest.approx(0.25)


def test_prefgen_oracles() -> None:
    rng = np.random.default_rng(0)
    target, near, far = np.array([0.5, 0.5]), np.array([0.5, 0.6]), np.array([0.9, 0.9])
    assert all(prefgen.answer(near, far, target, "noiseless", rng) for _ in range(50))
    flips = np.mean([not prefgen.answer(near, far, target, "flips", rng) for _ in range(4000)])
    assert flips == pytest.approx(0.2, abs=0.03)
    # sigma 0.2 on a squared distance: a gap of 0.01 is nearly a coin flip, 0.8 almost never wrong
    close = np.mean([prefgen.answer(near, near + 0.05, target, "sigma", rng) for _ in range(2000)])
    assert 0.45 < close < 0.65
    far_away = np.array([1.1, 1.1])
    assert all(prefgen.answer(target, far_away, target, "sigma", rng) for _ in range(50))


def test_ideal_point_is_linear_in_the_features() -> None:
    rng = np.random.default_rng(1)
    a, p, n = rng.random(2), rng.random((100, 2)), rng.random((100, 2))
    w = np.append(2.0 * (a - prefgen.CENTRE), 1.0)
    linear = (prefgen.ideal_point_features(p) - prefgen.ideal_point_features(n)) @ w > 0
    np.testing.assert_array_equal(linear, ((p - a) ** 2).sum(1) < ((n - a) ** 2).sum(1))


def test_prefgen_plgl_beats_random_queries_without_noise() -> None:
    def final_error(method: str, seed: int) -> float:
        return prefgen.run_prefgen(method, "noiseless", seed)[-1]["squared_error"]

    # Medians over three targets: with random queries the same learner is sometimes lucky.
    plgl = np.median([final_error("plgl", seed) for seed in (0, 1, 2)])
    assert plgl < 0.1 * np.median([final_error("random queries", seed) for seed in (0, 1, 2)])


@pytest.mark.parametrize("noise", ["noiseless", "flips", "sigma"])
def test_prefgen_runs_and_is_reproducible(noise: str) -> None:
    curve = prefgen.run_prefgen("random queries", noise, seed=3, n_queries=4)
    assert [p["step"] for p in curve] == [1, 2, 3, 4]
    for point in curve:
        assert 0.0 <= point["percentile"] <= 100.0
        assert 0.0 <= point["constraints"] <= 1.0
        assert 0.0 <= point["squared_error"] <= 2.0
    assert curve == prefgen.run_prefgen("random queries", noise, seed=3, n_queries=4)


@pytest.mark.parametrize("method", ["plgl", "random queries"])
def test_qeubo_runs_end_to_end(method: str) -> None:
    curve = qeubo.run_qeubo(method, "ackley6", seed=0, n_queries=3, n_initial=6)
    assert [p["step"] for p in curve] == [0, 1, 2, 3]
    assert all(np.isfinite(p["log_regret"]) for p in curve)
    assert all(p["seconds"] > 0 for p in curve[1:])


def test_qeubo_botorch_baseline_runs_end_to_end() -> None:
    pytest.importorskip("botorch")
    curve = qeubo.run_qeubo("botorch qEUBO", "hartmann6", seed=0, n_queries=1, n_initial=6)
    assert [p["step"] for p in curve] == [0, 1]
    assert np.isfinite(curve[-1]["log_regret"])


@pytest.mark.parametrize("method", koyama.METHODS)
def test_koyama_runs_and_never_loses_the_best(method: str) -> None:
    curve = koyama.run_koyama(method, "gaussian", 5, seed=0, n_iterations=3)
    values = [p["value"] for p in curve]
    assert [p["step"] for p in curve] == [0, 1, 2, 3]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(values))
    assert values[-1] > values[0]  # the oracle picks the best on each gallery


def test_koyama_oracle_finds_the_best_point_of_a_line() -> None:
    f = gaussian(5)
    origin = np.full(5, 0.8)
    direction = np.full((1, 5), 1.0 / math.sqrt(5))  # the line through 0.3 * 1
    best, shown = koyama.best_on_gallery(f, origin, direction)
    np.testing.assert_allclose(best, f.optimizer, atol=1e-3)
    assert len(shown) == 9 and np.all((shown >= 0) & (shown <= 1))


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="method"):
        prefgen.run_prefgen("mcmv", "noiseless", 0)
    with pytest.raises(InvalidInputError, match="noise"):
        prefgen.run_prefgen("plgl", "loud", 0)
    with pytest.raises(InvalidInputError, match="problem"):
        qeubo.run_qeubo("plgl", "branin", 0)
    with pytest.raises(InvalidInputError, match="function"):
        koyama.run_koyama("plgl line", "sphere", 5, 0)
