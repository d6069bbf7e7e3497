"""Standings of the items a user chose: a Bradley-Terry fit of every comparison, with the
posterior's belief as its prior, and the rematches it asks for."""

import numpy as np
import pytest
from scipy.stats import norm

from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.samplers.incumbent import rematches, standings
from plgl.samplers.pairs import beliefs


def _items() -> tuple[LinearPreference, np.ndarray]:
    """An untrained model (equal beliefs about orthogonal items of equal length)."""
    return LinearPreference().start(3), np.eye(3)


def test_without_comparisons_the_standings_are_the_prior() -> None:
    model, latents = _items()
    offset = np.array([0.5, -1.0, 2.0])
    mean, cov = standings(model, latents, np.zeros((0, 2), dtype=int), offset, residual=0.5)
    prior_mean, prior_cov, _ = beliefs(model, latents)
    np.testing.assert_allclose(mean, prior_mean + offset)
    np.testing.assert_allclose(cov, prior_cov + 0.25 * np.eye(3))


def test_many_wins_outweigh_one_noisy_loss() -> None:
    """A noisy user chose item 0 over item 1 three times and item 1 over item 0 once (the
    latest answer): item 0 stays ahead, which the latest winner alone would not say."""
    model, latents = _items()
    mean, _ = standings(model, latents, np.array([[0, 1], [0, 1], [0, 1], [1, 0]]))
    assert mean[0] > mean[1]


def test_every_answer_narrows_the_belief_about_the_gap() -> None:
    model, latents = _items()
    once_mean, once = standings(model, latents, np.array([[0, 1]]))
    thrice_mean, thrice = standings(model, latents, np.array([[0, 1]] * 3))
    gap = np.array([1.0, -1.0, 0.0])
    assert gap @ thrice @ gap < gap @ once @ gap
    assert gap @ thrice_mean > gap @ once_mean > 0.0
    assert np.all(np.linalg.eigvalsh(thrice) > 0.0)  # a covariance


def test_a_confident_prior_outweighs_a_single_contrary_answer() -> None:
    model, latents = _items()
    wins = np.array([[1, 0]])  # item 1 beat item 0 once
    mean, _ = standings(model, latents, wins, np.array([6.0, 0.0, 0.0]), residual=0.3)
    assert mean[0] > mean[1]
    mean, _ = standings(model, latents, wins, np.array([0.2, 0.0, 0.0]), residual=0.3)
    assert mean[1] > mean[0]


@pytest.mark.parametrize(
    ("latents", "wins", "residual", "match"),
    [
        (np.eye(3), np.array([[0, 3]]), 1.0, "wins"),
        (np.eye(3), np.array([[0.0, 1.0]]), 1.0, "wins"),
        (np.eye(3), np.array([0, 1]), 1.0, "wins"),
        (np.eye(3), np.array([[0, 1]]), 0.0, "residual"),
        (np.full((2, 3), np.nan), np.array([[0, 1]]), 1.0, "latents"),
        (np.zeros((0, 3)), np.zeros((0, 2), dtype=int), 1.0, "latents"),
    ],
)
def test_bad_input_is_refused(
    latents: np.ndarray, wins: np.ndarray, residual: float, match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        standings(LinearPreference().start(3), latents, wins, residual=residual)


def test_rematches_are_the_likeliest_to_be_better_first_and_never_the_best() -> None:
    mean = np.array([2.0, 1.5, -1.0, 1.9])
    cov = np.diag([1.0, 1.0, 1.0, 0.01])
    rows = rematches(mean, cov, best=0, n=3, least=0.05)
    chance = norm.cdf((mean - 2.0) / np.sqrt(np.diag(cov) + 1.0))
    assert rows.tolist() == [3, 1]  # item 2's chance is below 0.05
    assert chance[3] > chance[1] > 0.05 > chance[2]
    assert rematches(mean, cov, best=0, n=1, least=0.05).tolist() == [3]
    assert rematches(mean, cov, best=0, n=3, least=0.6).tolist() == []


@pytest.mark.parametrize(
    ("mean", "cov", "best", "n", "least", "match"),
    [
        (np.zeros(3), np.eye(2), 0, 1, 0.1, "cov"),
        (np.array([0.0, np.nan]), np.eye(2), 0, 1, 0.1, "finite"),
        (np.zeros(2), np.eye(2), 2, 1, 0.1, "best"),
        (np.zeros(2), np.eye(2), 0, 0, 0.1, "n must"),
        (np.zeros(2), np.eye(2), 0, 1, 1.5, "least"),
    ],
)
def test_bad_rematch_input_is_refused(
    mean: np.ndarray, cov: np.ndarray, best: int, n: int, least: float, match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        rematches(mean, cov, best, n, least)
