"""plgl.population: the prior, clusters and matching behave as documented; bad input is refused."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import plgl
from plgl.errors import InvalidInputError
from plgl.population import Population, UserTaste
from plgl.population.matching import handle
from plgl.population.privacy import epsilon_of
from plgl.population.report import write_report

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")


def clustered(
    n: int, d: int = 16, k: int = 3, clusters: int = 3, seed: int = 0
) -> tuple[list[UserTaste], np.ndarray, np.ndarray]:
    """Users whose tastes lie near `clusters` directions of a k-dimensional subspace."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, k)))
    centres = rng.standard_normal((clusters, k))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.arange(n) % clusters
    inside = centres[labels] + 0.3 * rng.standard_normal((n, k)) / np.sqrt(k)
    means = 3.0 * (inside @ basis.T + 0.05 * rng.standard_normal((n, d)) / np.sqrt(d))
    tastes = [
        UserTaste(f"user-{i}", m, np.full(d, 0.01), matching=i % 2 == 0)
        for i, m in enumerate(means)
    ]
    return tastes, labels, basis


def test_no_noise_prior_finds_the_subspace_and_clusters() -> None:
    tastes, labels, basis = clustered(600, seed=1)  # seed 0 has two centres close together
    pop = Population(epsilon=None, secret=b"k")
    summary = pop.refresh(tastes)
    assert (summary.users, summary.kind, summary.rank) == (600, "low-rank", 3)
    assert summary.epsilon is None and summary.rho == 0.0
    prior = pop.prior()
    assert prior is not None
    cov = prior.covariance
    top = np.linalg.eigh(cov)[1][:, -3:]
    assert np.linalg.svd(top.T @ basis)[1].min() > 0.95  # the top directions span the subspace
    # Off the subspace the prior keeps the guard rail's share of the from-scratch variance.
    assert np.linalg.eigvalsh(cov)[0] == pytest.approx(pop.guard * 16 / 16, rel=0.05)
    # k is chosen by the data; the merge rule errs towards splitting a cluster over merging two.
    assert summary.clusters in (3, 4)
    ari = adjusted_rand_score(labels, pop.assign(np.array([t.mean for t in tastes])))
    assert ari > 0.85


def test_dp_refresh_spends_exactly_its_budget_and_the_accountant_adds_up() -> None:
    tastes, _, _ = clustered(400)
    pop = Population(epsilon=1.0, delta=1e-6, min_users=50)
    first = pop.refresh(tastes)
    assert first.epsilon == pytest.approx(1.0, abs=1e-3) and first.epsilon <= 1.0 + 1e-9
    pop.refresh(tastes)
    third = pop.refresh(tastes)
    assert third.total_rho == pytest.approx(3 * first.rho)
    # zCDP composes by adding rho: three refreshes at epsilon 1 cost less than epsilon 3.
    assert third.total_epsilon == pytest.approx(epsilon_of(3 * first.rho, 1e-6))
    assert 1.0 < third.total_epsilon < 3.0
    assert all(rho > 0 for _, _, _, rho in third.releases)


def test_few_users_fall_back_to_the_diagonal_prior_and_too_few_to_none() -> None:
    # At epsilon 1 the noisy count has a standard deviation of about 28 users, and the full
    # covariance needs about 210 users at d = 16 (tolerance 0.15); with 300 users and a tolerance
    # that needs about 630, both decisions are many standard deviations from their thresholds.
    tastes, _, _ = clustered(300)
    diagonal = Population(epsilon=1.0, min_users=50, noise_tolerance=0.05).refresh(tastes)
    assert diagonal.kind == "diagonal"
    none = Population(epsilon=1.0, min_users=1000)
    assert none.refresh(tastes).kind == "none"
    assert none.prior() is None and none.clusters() == []


def test_a_public_basis_is_used_for_the_diagonal_prior() -> None:
    tastes, _, _ = clustered(300)
    basis, _ = np.linalg.qr(np.random.default_rng(3).standard_normal((16, 16)))
    pop = Population(epsilon=1.0, basis=basis, noise_tolerance=0.05)  # as in the test above
    assert pop.refresh(tastes).kind == "diagonal"
    prior = pop.prior()
    assert prior is not None
    # Diagonal in the basis, but for the rank-one term of the mean moved into the covariance.
    share = pop.mean_share
    along = basis.T @ prior.mean / share
    rotated = basis.T @ prior.covariance @ basis - (1 - share**2) * np.outer(along, along)
    assert np.allclose(rotated, np.diag(np.diagonal(rotated)), atol=1e-9)


def test_deleted_users_leave_no_trace_after_the_next_refresh() -> None:
    tastes, _, _ = clustered(300)
    kept = [t for t in tastes if t.user_id != "user-0"]
    pop = Population(epsilon=None, secret=b"k")
    pop.refresh(tastes)
    pop.refresh(kept)
    fresh = Population(epsilon=None, secret=b"k")
    fresh.refresh(kept)
    before, after = pop.prior(), fresh.prior()
    assert before is not None and after is not None
    assert np.array_equal(before.mean, after.mean)
    assert np.array_equal(before.covariance, after.covariance)
    for a, b in zip(pop.clusters(), fresh.clusters(), strict=True):
        assert a.size == b.size and np.array_equal(a.direction, b.direction)
    assert not pop.is_matchable("user-0")


def test_matches_are_pseudonymous_from_the_own_cluster_and_opt_out_is_immediate() -> None:
    tastes, labels, _ = clustered(300)
    pop = Population(epsilon=None, secret=b"k")
    assert pop.refresh(tastes).matching_users == 150  # only the opted-in half
    label_of = {handle(b"k", t.user_id): labels[i] for i, t in enumerate(tastes)}
    asker = tastes[0]
    found = pop.matches(asker.user_id, asker.mean, 5)
    assert len(found) == 5
    assert handle(b"k", asker.user_id) not in {m.handle for m in found}
    assert all(label_of[m.handle] == labels[0] for m in found)
    assert all(m.similarity in ("very similar", "similar") for m in found)
    assert "user-" not in repr(found)
    gone = next(t.user_id for t in tastes if handle(b"k", t.user_id) == found[0].handle)
    pop.exclude(gone)
    assert found[0].handle not in {m.handle for m in pop.matches(asker.user_id, asker.mean, 5)}


def test_a_stream_function_is_read_twice_in_bounded_chunks() -> None:
    tastes, _, _ = clustered(300)
    calls = []

    def stream() -> object:
        calls.append(1)
        return iter(tastes)

    summary = Population(epsilon=None).refresh(stream)  # type: ignore[arg-type]
    assert summary.users == 300 and len(calls) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"match_epsilon": -1.0}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"delta": 1.5}, "delta"),
        ({"min_users": 0}, "min_users"),
        ({"guard": 2.0}, "guard"),
        ({"norm_bound": -1.0}, "norm_bound"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Population(**kwargs)  # type: ignore[arg-type]


def test_bad_tastes_are_refused_and_change_nothing() -> None:
    tastes, _, _ = clustered(100)
    pop = Population(epsilon=None)
    before = pop.refresh(tastes)
    bad_inputs = [
        [*tastes, UserTaste("x", np.ones(5), np.ones(5))],
        [*tastes, UserTaste("x", np.full(16, np.nan), np.ones(16))],
        [*tastes, UserTaste("x", np.ones(16), np.ones((16, 3)))],
        [UserTaste("x", np.zeros(16), np.ones(16))],
        iter(tastes),
    ]
    for bad in bad_inputs:
        with pytest.raises(InvalidInputError):
            pop.refresh(bad)  # type: ignore[arg-type]
        assert pop.summary_ == before and pop.accountant.refreshes == [0.0]
    with pytest.raises(InvalidInputError, match="shape"):
        pop.matches("user-0", np.ones(3))
    with pytest.raises(InvalidInputError, match="k must"):
        pop.matches("user-0", np.ones(16), 0)


def test_the_report_lists_the_summary_and_renders_each_clusters_exemplars(tmp_path: Path) -> None:
    tastes, _, _ = clustered(300, seed=1)
    pop = Population(epsilon=None)
    with pytest.raises(InvalidInputError, match="refresh"):
        write_report(pop, tmp_path)
    pop.refresh(tastes)
    generator = plgl.generators.get("identity", latent_dim=16)
    path = write_report(pop, tmp_path, generator, exemplars=2, speedup={"scratch": 50.0})
    text = path.read_text()
    assert (
        f"| low-rank | 3 | {len(pop.clusters())} | 150 | none (no noise) |" in text
        and "| scratch | 50 |" in text
    )
    assert len(list((tmp_path / "clusters").iterdir())) == len(pop.clusters()) * 2


def test_the_fitted_state_round_trips_through_json() -> None:
    tastes, _, _ = clustered(300, seed=1)
    pop = Population(epsilon=1.0, secret=b"k")
    pop.refresh(tastes)
    text = json.dumps(pop.get_state())
    twin = Population(epsilon=1.0, secret=b"k").set_state(json.loads(text))
    assert twin.summary_ == pop.summary_ and twin.accountant.total_rho == pop.accountant.total_rho
    before, after = pop.prior(), twin.prior()
    assert before is not None and after is not None
    assert np.array_equal(before.covariance, after.covariance)
    asker = tastes[0]
    assert twin.matches(asker.user_id, asker.mean) == pop.matches(asker.user_id, asker.mean)
    assert [c.size for c in twin.clusters()] == [c.size for c in pop.clusters()]
    with pytest.raises(InvalidInputError, match="state"):
        Population().set_state({"version": 1, "fitted": {"mean": 3}})
