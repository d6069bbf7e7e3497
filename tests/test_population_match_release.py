"""Match reports: randomized response over the released clusters is calibrated as documented,
reaches the bound no mechanism can beat, and is charged to the accountant."""

import json
import math

import numpy as np
import pytest

from plgl.errors import InvalidInputError
from plgl.population import Population, UserTaste
from plgl.population.match_release import (
    ClusterResponse,
    GaussianVectors,
    own_cluster_bound,
    posterior,
    truthful_probability,
)
from plgl.population.matching import MatchIndex, handle

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")


def population(n: int, clusters: int, seed: int = 0) -> tuple[list[UserTaste], np.ndarray]:
    """Everyone opted in; tastes near `clusters` orthogonal directions of R^16, labels drawn
    independently and uniformly (the bound's setting)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(clusters, size=n)
    means = 3.0 * (np.eye(16)[labels] + 0.1 * rng.standard_normal((n, 16)))
    tastes = [UserTaste(f"u{i}", m, np.full(16, 0.01), matching=True) for i, m in enumerate(means)]
    return tastes, labels


def refreshed(tastes: list[UserTaste], clusters: int, **settings: object) -> Population:
    """A population refreshed from `tastes` whose released clusters are the true ones. The
    clusters are noisy (OpenDP's noise is not seedable; tested in test_population.py): a rare
    refresh that finds others is drawn again, since these tests are about the matching. At
    1,200 users in 4 clusters about 40% of refreshes merge two: twelve draws all missing has a
    chance of about 2e-5."""
    for _ in range(12):
        pop = Population(epsilon=1.0, secret=b"k", **settings)  # type: ignore[arg-type]
        if pop.refresh(tastes).clusters == clusters:
            return pop
    raise AssertionError(f"twelve refreshes in a row found other than {clusters} clusters")


def own_share(pop: Population, tastes: list[UserTaste], labels: np.ndarray, askers: int) -> float:
    truth = {handle(pop.secret, t.user_id): label for t, label in zip(tastes, labels, strict=True)}
    found = [
        [truth[m.handle] == labels[i] for m in pop.matches(t.user_id, t.mean, 5)]
        for i, t in enumerate(tastes[:askers])
    ]
    return float(np.mean(found))


def test_the_truthful_probability_is_e_eps_over_e_eps_plus_k_minus_1() -> None:
    for k, epsilon in ((2, 1.0), (4, 1.0), (4, 3.0), (7, 0.5)):
        prob, (charged, delta) = truthful_probability(k, epsilon)
        expected = math.exp(epsilon) / (math.exp(epsilon) + k - 1)
        assert prob == pytest.approx(expected, rel=1e-6) and prob <= expected + 1e-12
        assert charged <= epsilon and delta == 0.0


def test_reports_tell_the_truth_as_often_as_calibrated() -> None:
    centers = np.eye(3)
    y = np.eye(3)[np.arange(3000) % 3] * 0.9
    vectors, charge = ClusterResponse().release(y, centers, np.full(3, 1000.0), 1.0, 1e-6)
    assert charge is not None and charge[0] <= 1.0 and charge[1] == 0.0
    prob, _ = truthful_probability(3, 1.0)
    # Each released vector is a row of the posterior (one per possible report): the truthful
    # ones are those whose largest weight is on the user's own cluster.
    truthful = np.mean(np.argmax(vectors, axis=1) == np.arange(3000) % 3)
    assert abs(truthful - prob) < 4 * math.sqrt(prob * (1 - prob) / 3000)
    rows = posterior(prob, np.full(3, 1000.0))
    assert {tuple(np.round(v, 9)) for v in vectors} <= {tuple(np.round(r, 9)) for r in rows}


def test_without_noise_or_with_one_cluster_the_report_is_the_cluster() -> None:
    y = np.array([[0.9, 0.1], [0.1, 0.9]])
    exact, charge = ClusterResponse().release(y, np.eye(2), np.ones(2), None, 1e-6)
    assert charge is None and np.array_equal(exact, np.eye(2))
    one, charge = ClusterResponse().release(y, np.ones((1, 2)), np.ones(1), 1.0, 1e-6)
    assert charge is None and np.array_equal(one, np.ones((2, 2)))
    empty, charge = GaussianVectors().release(np.zeros((0, 2)), np.eye(2), np.ones(2), 1.0, 1e-6)
    assert empty.shape == (0, 2) and charge is None


def test_the_posterior_weighs_the_report_by_the_released_sizes() -> None:
    rows = posterior(0.6, np.array([300.0, 100.0]))
    assert np.allclose(rows.sum(axis=1), 1.0)
    # Report 0: P(0 | 0) = 0.6 * 0.75 / (0.6 * 0.75 + 0.4 * 0.25).
    assert rows[0, 0] == pytest.approx(0.45 / 0.55)


def test_the_bound_matches_the_docs_and_grows_with_epsilon() -> None:
    assert own_cluster_bound(1.0, 4) == pytest.approx(math.e / (math.e + 3))
    assert own_cluster_bound(1.0, 2) == pytest.approx(0.731, abs=1e-3)
    assert own_cluster_bound(math.log(27), 4) == pytest.approx(0.9)
    assert own_cluster_bound(math.log(9), 2) == pytest.approx(0.9)
    with_delta = own_cluster_bound(1.0, 4, delta=1e-6, candidates=2000, listed=5)
    assert with_delta - own_cluster_bound(1.0, 4) == pytest.approx(5.25e-5, rel=1e-2)
    assert own_cluster_bound(3.0, 4) > own_cluster_bound(1.0, 4)


def test_cluster_response_reaches_the_bound_and_the_gaussian_stays_below() -> None:
    tastes, labels = population(1200, 4)
    bound = own_cluster_bound(1.0, 4)  # 0.475
    shares = {}
    for name, release in (("clusters", ClusterResponse()), ("gaussian", GaussianVectors())):
        pop = refreshed(tastes, 4, match_epsilon=1.0, match_release=release)
        shares[name] = own_share(pop, tastes, labels, askers=200)
    # 1,000 listed users (correlated through the shared reports): generous margins.
    assert bound - 0.1 < shares["clusters"] < bound + 0.1
    assert shares["gaussian"] < bound + 0.1


def test_at_epsilon_3_most_matches_share_the_cluster() -> None:
    tastes, labels = population(900, 3, seed=1)
    pop = refreshed(tastes, 3, match_epsilon=3.0)
    assert own_share(pop, tastes, labels, askers=100) > own_cluster_bound(3.0, 3) - 0.12  # 0.91


def test_the_accountant_charges_each_refresh_of_match_reports() -> None:
    tastes, _ = population(1200, 3)
    pop = Population(epsilon=1.0, match_epsilon=2.0, secret=b"k")
    # With one cluster found nothing is released, so nothing is charged.
    released = sum(pop.refresh(tastes).clusters > 1 for _ in range(2))
    assert released >= 1
    assert [e for e, _ in pop.accountant.matching] == pytest.approx([2.0] * released)
    epsilon, delta = pop.accountant.opted_in
    assert epsilon == pytest.approx(pop.accountant.total_epsilon + 2.0 * released)
    assert delta == pytest.approx(1e-6)
    twin = Population(epsilon=1.0, secret=b"k").set_state(json.loads(json.dumps(pop.get_state())))
    assert twin.accountant.matching == pop.accountant.matching
    gaussian = Population(epsilon=1.0, secret=b"k", match_release=GaussianVectors())
    gaussian.refresh(tastes)  # (epsilon, delta) whatever the clusters
    assert gaussian.accountant.opted_in[1] == pytest.approx(2e-6)
    with pytest.raises(InvalidInputError, match="MatchRelease"):
        Population(match_release="gaussian")  # type: ignore[arg-type]


def test_equal_scores_are_ordered_per_asker_stable_and_keyed() -> None:
    index = MatchIndex(b"k", np.eye(2))
    ids = [f"u{i}" for i in range(40)]
    index.extend(ids, np.tile([1.0, 0.0], (40, 1)))
    taste = np.array([1.0, 0.0])
    first = [who for who, _ in index.ranked("asker", taste)]
    assert first == [who for who, _ in index.ranked("asker", taste)]  # stable
    assert first != [who for who, _ in index.ranked("another", taste)]  # no one always first
    assert first != ids and sorted(first) == sorted(ids)
    other = MatchIndex(b"other secret", np.eye(2))
    other.extend(ids, np.tile([1.0, 0.0], (40, 1)))
    assert [who for who, _ in other.ranked("asker", taste)] != first  # keyed by the secret
