"""Pair selection: the information of an answer, the choice of a watchable pair, pair proposals."""

from __future__ import annotations

import math

import numpy as np
import pytest

import plgl
from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.samplers.pairs import answer_bits, beliefs, best_pair, pair_proposals, swipe_bits


def _exact_bits(mean: float, variance: float) -> float:
    """BALD of a logistic answer with log-odds ~ N(mean, variance) by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    p = 1.0 / (1.0 + np.exp(-(mean + math.sqrt(variance) * nodes)))

    def entropy(q: np.ndarray) -> np.ndarray:
        q = np.clip(q, 1e-15, 1 - 1e-15)
        return -(q * np.log2(q) + (1 - q) * np.log2(1 - q))

    return float(entropy(np.array(weights @ p)) - weights @ entropy(p))


@pytest.mark.parametrize(("mean", "variance"), [(0, 1), (0, 10), (2, 5), (1, 30), (3, 3), (-2, 8)])
def test_answer_bits_is_close_to_the_exact_information(mean: float, variance: float) -> None:
    assert float(answer_bits(mean, variance)) == pytest.approx(
        _exact_bits(mean, variance), abs=0.05
    )


def test_answer_bits_grow_with_uncertainty_and_fall_with_a_clear_answer() -> None:
    assert float(answer_bits(0.0, 0.0)) == 0.0
    assert answer_bits(0.0, 1.0) < answer_bits(0.0, 10.0) < answer_bits(0.0, 100.0) <= 1.0
    assert answer_bits(4.0, 10.0) < answer_bits(1.0, 10.0) < answer_bits(0.0, 10.0)
    assert float(answer_bits(2.0, 5.0)) == pytest.approx(float(answer_bits(-2.0, 5.0)))
    # What the taste cannot explain (an unknown threshold) teaches nothing about the taste.
    assert answer_bits(0.0, 10.0, 4.0) < answer_bits(0.0, 10.0)
    assert float(answer_bits(0.0, 10.0, 10.0)) == pytest.approx(0.0, abs=1e-9)


def test_best_pair_picks_equally_liked_items_that_differ_where_the_model_is_unsure() -> None:
    # Items 0-3 are likely liked (log-odds 2); 4 is not. 0 and 1 vary together (a comparison of
    # them teaches little); 2 and 3 vary independently with large variance: that pair teaches.
    mean = np.array([2.0, 2.0, 2.0, 2.5, -3.0])
    cov = np.diag([4.0, 4.0, 9.0, 9.0, 20.0])
    cov[0, 1] = cov[1, 0] = 3.9
    choice = best_pair(mean, cov, min_like=0.6)
    assert {choice.first, choice.second} == {2, 3}
    assert choice.first == 3  # the likelier liked first
    assert choice.bits == pytest.approx(float(answer_bits(-0.5, 18.0)))
    assert choice.swipe_bits == pytest.approx(swipe_bits(mean, cov, np.arange(4)))


def test_best_pair_without_watchable_items_takes_the_two_likeliest() -> None:
    mean = np.array([-3.0, -1.0, -2.0, -4.0])
    choice = best_pair(mean, np.eye(4), min_like=0.9)
    assert {choice.first, choice.second} == {1, 2}


def test_a_comparison_is_worth_it_when_swipes_would_mostly_learn_the_threshold() -> None:
    mean, cov = np.zeros(6), 10.0 * np.eye(6)
    assert best_pair(mean, cov, nuisance=9.0, swipes=1).worth_it
    assert not best_pair(mean, cov, nuisance=0.0, swipes=2).worth_it


def test_swipe_bits_add_less_for_the_same_question_twice() -> None:
    mean, cov = np.zeros(2), np.full((2, 2), 10.0)  # two items that are the same question
    one = swipe_bits(mean, cov, np.arange(2), n=1)
    assert one < swipe_bits(mean, cov, np.arange(2), n=2) < 2 * one


@pytest.mark.parametrize(
    ("mean", "cov", "min_like"),
    [
        (np.zeros(1), np.eye(1), 0.5),
        (np.zeros(3), np.eye(2), 0.5),
        (np.zeros(3), np.eye(3), 1.0),
        (np.zeros(3), np.eye(3), -0.1),
    ],
)
def test_best_pair_rejects_bad_input(mean: np.ndarray, cov: np.ndarray, min_like: float) -> None:
    with pytest.raises(InvalidInputError, match=r"must be|need"):
        best_pair(mean, cov, min_like)
    with pytest.raises(ValueError):
        best_pair(mean, cov, min_like)


def _trained(d: int, n: int) -> LinearPreference:
    rng = np.random.default_rng(1)
    model = LinearPreference().start(d)
    for _ in range(n):
        z = rng.standard_normal(d)
        model.learn(z, float(z[0] > 0.3))
    return model


def test_beliefs_of_a_linear_model_are_its_posterior_over_log_odds() -> None:
    model = _trained(5, 30)
    latents = np.random.default_rng(2).standard_normal((7, 5))
    mean, cov, nuisance = beliefs(model, latents)
    np.testing.assert_allclose(mean, latents @ model.coef_ + model.intercept_)
    np.testing.assert_allclose(cov, model.predictive_covariance(latents))
    # The nuisance is the intercept's variance once the weights are known: 1 / its precision.
    precision = np.linalg.inv(model.covariance_)
    assert nuisance == pytest.approx(1.0 / precision[-1, -1], rel=1e-6)


class _Linear:
    """A linear model known only through coef_, intercept_ and predictive covariances."""

    def __init__(self, inner: LinearPreference) -> None:
        self.coef_, self.intercept_ = inner.coef_, inner.intercept_
        self.predictive_covariance = inner.predictive_covariance


def test_beliefs_read_any_linear_model_through_its_predictive_covariance() -> None:
    model = _trained(5, 30)
    latents = np.random.default_rng(2).standard_normal((7, 5))
    direct, through = beliefs(model, latents), beliefs(_Linear(model), latents)
    for a, b in zip(direct, through, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_pair_proposals_are_equally_liked_twins_on_the_shell() -> None:
    d = 8
    generator = plgl.generators.get("identity", latent_dim=d)
    model = _trained(d, 40)
    latents = pair_proposals(model, generator, 5, np.random.default_rng(0))
    assert latents.shape == (20, d)  # 5 unsure axes and 5 random directions, each a twin
    np.testing.assert_allclose(np.linalg.norm(latents, axis=1), math.sqrt(d))
    proba = model.predict_proba(latents)[:, 1]
    np.testing.assert_allclose(proba[:10], proba[10:], atol=1e-9)
    assert (proba > 0.75).all()
    # A twin differs where the model is least sure: the first, across the learned taste, along
    # the most uncertain axis of the weights.
    coef = model.coef_ / np.linalg.norm(model.coef_)
    across = np.eye(d) - np.outer(coef, coef)
    gap = across @ (latents[0] - latents[10])
    axis = np.linalg.eigh(across @ model.weight_covariance() @ across)[1][:, -1]
    assert abs(gap @ axis) / np.linalg.norm(gap) > 0.999
    again = pair_proposals(model, generator, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(latents, again)


def test_liked_probability_is_the_moderated_probit_of_the_model() -> None:
    from plgl.models.laplace import PROBIT, moderate
    from plgl.samplers.pairs import liked_probability

    mean, variance = np.array([-2.0, 0.0, 1.5]), np.array([0.5, 3.0, 0.0])
    expected = [
        0.5 * (1 + math.erf(math.sqrt(PROBIT) * m / math.sqrt(2))) for m in moderate(mean, variance)
    ]
    np.testing.assert_allclose(liked_probability(mean, variance), expected)
