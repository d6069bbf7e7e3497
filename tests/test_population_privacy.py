"""Differential privacy checked, not assumed: one user moves every released statistic by at most
the sensitivity the noise is calibrated to, and the accountant's totals are those of the docs."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from plgl.population import Population, UserTaste
from plgl.population.clusters import dp_kmeans, initial_centers
from plgl.population.privacy import Accountant, epsilon_of, gaussian_release, rho_for
from plgl.population.stats import Sums, stack

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")

DOCS = Path(__file__).parents[1] / "docs" / "privacy.md"
D = 6


def users(n: int, seed: int) -> list[UserTaste]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a = rng.standard_normal((D, D))
        out.append(UserTaste(f"u{i}", 4 * rng.standard_normal(D), a @ a.T / D))
    return out


EXTREMES = [
    UserTaste("huge", np.full(D, 1e6), 1e9 * np.eye(D)),  # far past every clipping bound
    UserTaste("tiny", np.full(D, 1e-9), np.eye(D)),  # relative variance explodes: clipped
    UserTaste("axis", np.eye(D)[0] * 3, np.zeros(D)),
    UserTaste("diagonal", -np.ones(D), np.full(D, 50.0)),
]


def sums_of(tastes: list[UserTaste], basis: np.ndarray) -> Sums:
    sums = Sums(D, 8.0, basis)
    means, covs = stack(tastes)
    sums.add(means, covs)
    return sums


@pytest.mark.parametrize("extra", EXTREMES, ids=lambda t: t.user_id)
@pytest.mark.parametrize("rotated", [False, True])
def test_adding_one_user_moves_each_release_by_at_most_one(extra: UserTaste, rotated: bool) -> None:
    basis = np.linalg.qr(np.random.default_rng(1).standard_normal((D, D)))[0] if rotated else None
    basis = np.eye(D) if basis is None else basis
    base = users(40, 0)
    without, with_ = sums_of(base, basis), sums_of([*base, extra], basis)
    assert np.linalg.norm(with_.stage1() - without.stage1()) <= 1.0 + 1e-9
    for diagonal in (False, True):
        gap = np.linalg.norm(with_.stage2(diagonal) - without.stage2(diagonal))
        assert gap <= 1.0 + 1e-9


@pytest.mark.parametrize("index", range(4))
def test_one_lloyd_step_moves_by_at_most_one(index: int) -> None:
    rng = np.random.default_rng(index)
    y = rng.standard_normal((200, 3))
    y /= np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1.0)  # projections: |y| <= 1
    extra = np.eye(3)[index % 3] * (1.0 if index < 3 else -1.0)
    centers = initial_centers(np.zeros(3), np.array([0.5, 0.4, 0.3]))  # axes and diagonals
    released: dict[str, list[np.ndarray]] = {"without": [], "with": []}

    for key, data in (("without", y), ("with", np.vstack([y, extra]))):

        def record(exact: np.ndarray, step: int, key: str = key) -> np.ndarray:
            released[key].append(exact)
            return exact

        dp_kmeans(data, centers, record, noise=[0.0, 0.0], variance=0.5, least=1.0)
    # The first step starts from the same (public) centroids: one user, one block, norm <= 1.
    assert np.linalg.norm(released["with"][0] - released["without"][0]) <= 1.0 + 1e-9


def test_the_gaussian_mechanism_is_opendps_and_charges_its_map() -> None:
    noisy, scale, charged = gaussian_release(np.zeros(1000), rho=0.02, sensitivity=2.0)
    assert charged == pytest.approx(2.0**2 / (2 * scale**2)) and charged <= 0.02 * (1 + 1e-9)
    assert np.std(noisy) == pytest.approx(scale, rel=0.15)


def test_a_refresh_charges_the_sum_of_its_releases() -> None:
    pop = Population(epsilon=1.0)
    summary = pop.refresh(users(300, 2))
    assert summary.rho == pytest.approx(sum(rho for *_, rho in summary.releases))
    assert summary.rho <= rho_for(1.0, 1e-6) * (1 + 1e-9)
    assert pop.accountant.total_rho == pytest.approx(summary.rho)


def test_the_accountant_matches_the_documented_totals() -> None:
    text = DOCS.read_text()
    per_refresh = rho_for(1.0, 1e-6)
    stated = re.search(r"rho = ([0-9.]+) per refresh", text)
    assert stated is not None and float(stated.group(1)) == pytest.approx(per_refresh, rel=1e-3)
    accountant = Accountant(delta=1e-6)
    for refreshes in (1, 3, 10, 100):
        while len(accountant.refreshes) < refreshes:
            accountant.charge([])
            accountant.refreshes[-1] = per_refresh
        row = re.search(rf"\| {refreshes} \| ([0-9.]+) \| ([0-9.]+) \|", text)
        assert row is not None, f"docs/privacy.md has no row for {refreshes} refreshes"
        assert float(row.group(1)) == pytest.approx(accountant.total_rho, rel=1e-3)
        assert float(row.group(2)) == pytest.approx(accountant.total_epsilon, abs=0.01)
        assert accountant.total_epsilon == pytest.approx(epsilon_of(refreshes * per_refresh, 1e-6))
    assert math.isclose(epsilon_of(per_refresh, 1e-6), 1.0, abs_tol=1e-3)
