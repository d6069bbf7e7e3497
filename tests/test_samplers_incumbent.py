"""Challengers for the incumbent: expected improvement over the user's favourite."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.models.mixture import MixturePreference, MixturePrior
from plgl.models.priors import GaussianPrior
from plgl.samplers.incumbent import challengers, expected_improvement, neighbours
from plgl.samplers.pairs import answered_covariance, beliefs


def _learned(d: int = 6, n: int = 40, seed: int = 0) -> LinearPreference:
    """A model that learned a taste along the first axis from n swipes."""
    rng = np.random.default_rng(seed)
    model = LinearPreference().start(d)
    for _ in range(n):
        z = rng.standard_normal(d)
        model.learn(z, float(z[0] > 0.0))
    return model


def test_expected_improvement_matches_a_monte_carlo_estimate() -> None:
    rng = np.random.default_rng(1)
    for mean, sd in ((0.3, 1.2), (-1.0, 0.5), (2.0, 0.1)):
        draws = rng.normal(mean, sd, 400_000)
        got = float(expected_improvement(np.array(mean), np.array(sd)))
        assert got == pytest.approx(np.maximum(draws, 0.0).mean(), abs=4e-3)
        z = mean / sd
        assert got == pytest.approx(mean * norm.cdf(z) + sd * norm.pdf(z))


def test_expected_improvement_without_uncertainty_is_the_predicted_gain() -> None:
    got = expected_improvement(np.array([1.5, -0.5, 0.0]), np.zeros(3))
    assert got.tolist() == [1.5, 0.0, 0.0]


def test_the_first_challenger_is_the_largest_expected_improvement() -> None:
    model = _learned()
    rng = np.random.default_rng(2)
    latents = rng.standard_normal((40, 6))
    incumbent = np.array([1.0, 0, 0, 0, 0, 0])
    mean, cov, _ = beliefs(model, np.vstack([incumbent, latents]))
    gap_sd = np.sqrt(np.diag(cov)[1:] + cov[0, 0] - 2.0 * cov[0, 1:])
    gains = expected_improvement(mean[1:] - mean[0], gap_sd)
    rows = challengers(model, incumbent, latents, 5)
    assert rows[0] == int(np.argmax(gains))
    assert len(set(rows.tolist())) == 5


def test_a_batch_of_challengers_follows_the_conditioned_belief() -> None:
    """After each pick the covariance is conditioned on its comparison, so the second pick is
    the best expected improvement under that belief, not the second best of the first."""
    model = _learned()
    rng = np.random.default_rng(3)
    latents = rng.standard_normal((30, 6))
    incumbent = rng.standard_normal(6)
    rows = challengers(model, incumbent, latents, 2)
    mean, cov, _ = beliefs(model, np.vstack([incumbent, latents]))
    cov = answered_covariance(mean, cov, 0, int(rows[0]) + 1)
    gap_sd = np.sqrt(np.clip(np.diag(cov)[1:] + cov[0, 0] - 2.0 * cov[0, 1:], 0.0, None))
    gains = expected_improvement(mean[1:] - mean[0], gap_sd)
    gains[rows[0]] = -np.inf
    assert rows[1] == int(np.argmax(gains))


def test_a_candidate_predicted_better_beats_one_predicted_worse() -> None:
    model = _learned(n=80)
    incumbent = np.array([0.5, 0, 0, 0, 0, 0])
    latents = np.array([[-1.0, 0, 0, 0, 0, 0], [1.5, 0, 0, 0, 0, 0]])
    assert challengers(model, incumbent, latents, 1).tolist() == [1]


def test_challengers_work_with_a_mixture_posterior_and_cap_at_the_candidates() -> None:
    d = 4
    near = GaussianPrior(np.array([2.0, 0, 0, 0]), 0.2 * np.eye(d))
    far = GaussianPrior(np.array([-2.0, 0, 0, 0]), 0.2 * np.eye(d))
    model = MixturePreference(mixture=MixturePrior((near, far), np.ones(2))).start(d)
    latents = np.random.default_rng(4).standard_normal((3, d))
    rows = challengers(model, np.zeros(d), latents, 10)
    assert sorted(rows.tolist()) == [0, 1, 2]


@pytest.mark.parametrize(
    ("incumbent", "latents", "n"),
    [
        (np.zeros(3), np.zeros((5, 4)), 2),  # dimensions disagree
        (np.zeros(4), np.zeros(4), 2),  # latents not (m, d)
        (np.zeros(4), np.zeros((5, 4)), 0),  # n < 1
        (np.zeros(4), np.zeros((5, 4)), True),  # n not an integer
        (np.full(4, np.nan), np.zeros((5, 4)), 1),  # not finite
    ],
)
def test_bad_input_is_a_clear_error(incumbent: np.ndarray, latents: np.ndarray, n: int) -> None:
    model = LinearPreference().start(4)
    with pytest.raises(InvalidInputError):
        challengers(model, incumbent, latents, n)


def test_neighbours_lie_on_the_shell_at_the_asked_distances() -> None:
    model = _learned(d=8)
    incumbent = np.zeros(8)
    incumbent[0] = np.sqrt(8.0)
    near = neighbours(model, incumbent, 200, (1.0, 2.0), np.sqrt(8.0), np.random.default_rng(5))
    assert near.shape == (200, 8)
    np.testing.assert_allclose(np.linalg.norm(near, axis=1), np.sqrt(8.0))
    distance = np.linalg.norm(near - incumbent, axis=1)
    assert distance.min() >= 1.0 - 1e-9
    assert distance.max() <= 2.0 + 1e-9
    assert distance.std() > 0.2  # a spread of distances, not one radius


def test_neighbours_follow_the_posterior_spread() -> None:
    """Steps are long along what the model is least sure of: a prior sure of the first axis
    moves the incumbent along the others more than along it."""
    spread = np.diag([0.01, 1.0, 1.0, 1.0, 1.0, 1.0])
    model = LinearPreference(prior=GaussianPrior(np.zeros(6), spread)).start(6)
    incumbent = np.zeros(6)
    incumbent[1] = np.sqrt(6.0)
    near = neighbours(model, incumbent, 500, (0.2, 0.4), np.sqrt(6.0), np.random.default_rng(6))
    steps = np.abs(near - incumbent)
    assert steps[:, 0].mean() < 0.5 * steps[:, 2:].mean()


def test_neighbours_are_reproducible_and_differ_by_stream() -> None:
    model = _learned(d=5)
    incumbent = np.full(5, 1.0)

    def draw(seed: int) -> np.ndarray:
        return neighbours(
            model, incumbent, 4, (0.5, 1.0), np.sqrt(5.0), np.random.default_rng(seed)
        )

    np.testing.assert_array_equal(draw(7), draw(7))
    assert not np.allclose(draw(7), draw(8))


@pytest.mark.parametrize(
    ("incumbent", "n", "distances", "shell"),
    [
        (np.ones((2, 4)), 3, (0.5, 1.0), 2.0),  # incumbent not (d,)
        (np.zeros(4), 3, (0.5, 1.0), 2.0),  # incumbent at the origin: no direction
        (np.full(4, np.inf), 3, (0.5, 1.0), 2.0),  # not finite
        (np.ones(4), 0, (0.5, 1.0), 2.0),  # n < 1
        (np.ones(4), 3, (1.0, 0.5), 2.0),  # low > high
        (np.ones(4), 3, (-1.0, 0.5), 2.0),  # negative distance
        (np.ones(4), 3, (0.5, 5.0), 2.0),  # farther than the shell's diameter
        (np.ones(4), 3, (0.5, 1.0), 0.0),  # no shell
    ],
)
def test_neighbours_bad_input_is_a_clear_error(
    incumbent: np.ndarray, n: int, distances: tuple[float, float], shell: float
) -> None:
    with pytest.raises(InvalidInputError):
        neighbours(
            LinearPreference().start(4), incumbent, n, distances, shell, np.random.default_rng(0)
        )


def test_neighbours_accept_a_covariance_rounding_left_indefinite() -> None:
    class Rounded(LinearPreference):
        def weight_covariance(self) -> np.ndarray:
            return np.diag([1.0, 1.0, -1e-6])  # a tiny negative eigenvalue, as rounding leaves

    model = Rounded().start(3)
    near = neighbours(model, np.array([2.0, 0, 0]), 50, (0.5, 1.0), 2.0, np.random.default_rng(9))
    assert np.all(np.isfinite(near))
    np.testing.assert_allclose(near[:, 2], 0.0, atol=1e-9)  # no step where there is no spread
