"""The population prior's fit: what the DP noise does to the released covariance is undone, and a
private prior still concentrates where the population's tastes are."""

import numpy as np
import pytest
from test_population import clustered

from plgl.population import Population
from plgl.population.fit import _spikes

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")


@pytest.mark.parametrize("spike", [1.5, 3.0])
def test_a_spike_seen_through_symmetric_noise_is_deflated_and_its_direction_discounted(
    spike: float,
) -> None:
    rng = np.random.default_rng(0)
    d, sigma = 1000, 0.03
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    g = rng.normal(0.0, sigma, (d, d))
    values, vectors = np.linalg.eigh(spike * np.outer(u, u) + (g + g.T) / np.sqrt(2.0))
    edge = 2.0 * sigma * np.sqrt(d)  # the noise's spectral norm
    signal, overlap = _spikes(values[-1:], edge)
    assert values[-1] > spike * 1.05  # the noise (spectral norm 1.9) inflates the spike ...
    assert signal[0] == pytest.approx(spike, rel=0.05)  # ... and the fit removes it
    assert overlap[0] == pytest.approx(float(vectors[:, -1] @ u) ** 2, abs=0.05)


def test_a_private_prior_concentrates_in_the_tastes_subspace_and_keeps_the_guard() -> None:
    tastes, _, basis = clustered(2000, seed=1)
    pop = Population(epsilon=1.0, secret=b"k")
    assert pop.refresh(tastes).kind == "low-rank"
    prior = pop.prior()
    assert prior is not None
    values, vectors = np.linalg.eigh(prior.covariance)
    assert np.linalg.svd(vectors[:, -3:].T @ basis)[1].min() > 0.9
    # Every direction keeps at least the guard's share of the from-scratch variance (4 / sqrt d)^2.
    assert values[0] >= pop.guard * (4.0 / np.sqrt(16)) ** 2 * (1 - 1e-9)
