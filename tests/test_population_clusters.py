"""DP k-means of the taste clusters (`plgl.population.clusters`): few noisy Lloyd steps from many
public starts, a merge rule that discounts the DP noise, and the budget it spends."""

import math

import numpy as np
import pytest

from plgl.population import Population, UserTaste
from plgl.population.clusters import STEPS, WEIGHTS, _merge, dp_kmeans, initial_centers
from plgl.population.privacy import rho_for
from plgl.population.refresh import SHARES

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")


def test_starts_lie_one_spread_from_the_mean_on_axes_and_diagonals() -> None:
    mean, spread = np.array([0.6, 0.0, 0.0, 0.0]), np.array([0.0, 0.4, 0.2, 0.1])
    starts = initial_centers(mean, spread)
    # The mean, +- 3 axes, 4 diagonals in each of the 3 planes.
    assert len(starts) == 1 + 2 * 3 + 4 * 3
    np.testing.assert_allclose(starts[0], mean)
    scaled = (starts[1:] - mean)[:, 1:] / spread[1:]
    np.testing.assert_allclose(np.linalg.norm(scaled, axis=1), 1.0)
    assert len({tuple(s) for s in starts.round(9)}) == len(starts)
    # The most spread plane's diagonals come first; `most` and `diagonals` cut the list.
    np.testing.assert_allclose(np.abs(starts[7] - mean), [0.0, 0.4, 0.2, 0.0] / np.sqrt(2))
    assert len(initial_centers(mean, spread, most=5)) == 5
    assert len(initial_centers(mean, spread, diagonals=False)) == 7


def recovered(seed: int, shares: tuple[float, ...], diagonals: bool) -> int:
    """How many of 8 centres (norm 1, in 7 dims, 2,000 points at 0.1 per axis, in their
    principal axes as the released subspace is) have a found centroid within 0.3, with the
    noise of a refresh at epsilon 1 split into Lloyd steps of `shares` (a seeded stand-in for
    OpenDP's noise, at its scale)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, 7))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)  # 0.66 or more apart here
    y = centres[rng.integers(8, size=2000)] + 0.1 * rng.standard_normal((2000, 7))
    values, vectors = np.linalg.eigh(np.cov(y.T))
    y, centres = y @ vectors, centres @ vectors
    rho = rho_for(1.0, 1e-6) * SHARES["clusters"]
    noise = [1.0 / math.sqrt(2.0 * rho * share) for share in shares]

    def release(exact: np.ndarray, step: int) -> np.ndarray:
        return exact + noise[step] * rng.standard_normal(exact.shape)

    start = initial_centers(y.mean(axis=0), np.sqrt(values), diagonals=diagonals)
    found, _ = dp_kmeans(y, start, release, noise, float(values.sum()), least=40.0)
    return int(np.sum(np.linalg.norm(centres[:, None] - found[None], axis=2).min(axis=1) < 0.3))


def test_two_steps_from_many_starts_find_more_clusters_than_six_from_the_axes() -> None:
    """At epsilon 1 six Lloyd steps from the axes' starts (each with a sixth of the budget)
    merge most clusters; two from the diagonals' starts too find most of them (48 centres over
    six draws: 31 against 3 here)."""
    now = sum(recovered(seed, STEPS, diagonals=True) for seed in range(6))
    before = sum(recovered(seed, (1 / 6,) * 6, diagonals=False) for seed in range(6))
    assert now >= 24 and before <= 12


def test_the_merge_discounts_the_noise_on_the_centroids() -> None:
    """Two noisy centroids of one cluster lie further apart than the exact ones: the noise's
    variance is taken off their squared distance before it is compared."""
    centers = np.array([[0.0, 0.0], [0.5, 0.0]])
    sizes, variance = np.array([100.0, 100.0]), 0.12
    kept, _ = _merge(centers, sizes, np.zeros(2), variance, 2.2)
    assert len(kept) == 2
    merged, merged_sizes = _merge(centers, sizes, np.full(2, 0.05), variance, 2.2)
    assert len(merged) == 1 and merged_sizes.tolist() == [200.0]
    np.testing.assert_allclose(merged[0], [0.25, 0.0])


def test_a_refresh_spends_the_clusters_share_in_its_steps() -> None:
    rng = np.random.default_rng(0)
    tastes = [
        UserTaste(f"u{i}", 3.0 * rng.standard_normal(8), np.full(8, 0.01)) for i in range(300)
    ]
    summary = Population(epsilon=1.0).refresh(tastes)
    steps = [(scale, rho) for name, _, scale, rho in summary.releases if name == "cluster step"]
    assert len(steps) == len(STEPS)
    budget = rho_for(1.0, 1e-6) * SHARES["clusters"]
    for (scale, rho), share in zip(steps, STEPS, strict=True):
        assert rho == pytest.approx(budget * share)
        assert scale == pytest.approx(1.0 / math.sqrt(2.0 * budget * share))
    assert WEIGHTS[0] ** 2 + WEIGHTS[1] ** 2 == pytest.approx(1.0)  # one user moves a step by 1
    assert summary.rho <= rho_for(1.0, 1e-6) * (1 + 1e-9)
