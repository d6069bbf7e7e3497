"""Empirical Bayes: a prior over taste weights from the released sums (post-processing only).

The released sums give the mean taste direction, the second moment of the directions and the
users' mean posterior variance. The covariance of the directions is split into a low-rank part
(the eigen-directions standing out of the noise: the Marchenko-Pastur edge of the sampling noise
plus the spectral norm of the DP noise, so k is chosen by the data) and a diagonal; the users' own
posterior variance (shrunk towards its average by the share of its spread the DP noise explains,
James & Stein 1961) is subtracted from the diagonal (it is estimation noise, not spread of
tastes). A spike seen above the DP noise is inflated by it and its direction is only partly right
(the spiked Wigner model, Benaych-Georges & Nadakuditi 2011): the inflation is removed and only
the share of the spike its noisy direction holds stays on that direction. Every part is widened
by the estimate's own error (Bastani, Simchi-Levi & Zhu 2022), where the guard's share of the
from-scratch variance does not already cover it. This is the hierarchical Gaussian prior of
Birlutiu, Groot & Heskes (2013) and the meta-learned priors of Kveton et al. (2021, Meta-TS),
Basu et al. (2021, AdaTS) and Hong et al. (2022, hierTS); a prior concentrated on a shared
subspace lets a new user cost about k dimensions instead of d (Yang et al. 2021, Hu et al. 2021).
Too few users for the noise of a full covariance: a diagonal in a fixed public basis, whose error
is about sqrt(d) smaller. References: docs/references.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plgl.population.records import PriorKind
from plgl.population.stats import COUNT_WEIGHTS, SHAPE_WEIGHTS, unvech


@dataclass(frozen=True)
class Fitted:
    """A fitted prior over the taste weights and the subspace its tastes live in.

    Attributes:
        mean: (d,) prior mean of the weights.
        direction: (d,) mean of the unit taste directions (norm <= 1).
        covariance: (d, d) prior covariance of the weights.
        kind: "low-rank" or "diagonal".
        rank: directions standing out of the noise.
        users: the (noisy) number of users.
        subspace: (d, r) orthonormal columns: the mean direction and the top directions.
        spread: (r,) standard deviation of the directions along each subspace column.
        variance: total variance of the directions within the subspace (released, not widened).
        norm: the users' mean taste norm (released).
    """

    mean: np.ndarray
    direction: np.ndarray
    covariance: np.ndarray
    kind: PriorKind
    rank: int
    users: float
    subspace: np.ndarray
    spread: np.ndarray
    variance: float
    norm: float


def users_and_norm(stage1: np.ndarray, norm_bound: float) -> tuple[float, float]:
    """(number of users >= 1, mean taste norm in (0, norm_bound]) from the released stage 1."""
    n = max(float(stage1[0]) / COUNT_WEIGHTS[0], 1.0)
    share = float(stage1[1]) / COUNT_WEIGHTS[1] / n
    return n, float(np.clip(share, 0.05, 1.0)) * norm_bound


def spectral_noise(scale: float, n: float, d: int) -> float:
    """Spectral norm of the DP noise on the covariance of the directions: a Wigner matrix whose
    off-diagonal entries have standard deviation s = scale / (sqrt(2) weight n) (`vech` scales
    them by sqrt(2)) has norm about 2 sqrt(d) s."""
    return math.sqrt(2.0 * d) * scale / (SHAPE_WEIGHTS[1] * n)


def fit_prior(
    stage2: np.ndarray,
    scale: float,
    n: float,
    norm: float,
    d: int,
    basis: np.ndarray | None,
    max_rank: int,
    isotropic_variance: float,
    guard: float,
    mean_share: float,
) -> Fitted:
    """The prior from the released stage-2 sums.

    Args:
        stage2: released (direction, moment, variance) weighted sums (see `stats.Sums.stage2`).
        scale: the noise scale of the release (0 without noise).
        n: number of users; norm: their mean taste norm.
        d: dimension; basis: (d, d) public basis of the diagonal kind, None for low-rank.
        max_rank: most directions kept in the low-rank part.
        isotropic_variance: the from-scratch prior variance of each weight (the guard rail's).
        guard: share of the from-scratch variance added to every direction, so that a user
            unlike anyone still learns about as fast as from scratch.
        mean_share: share of the population mean kept as the prior mean; the rest moves into
            the covariance (the second moment is kept), so a user unlike the mean is not pulled
            towards it.
    """
    a, b, c = SHAPE_WEIGHTS
    size = d * (d + 1) // 2 if basis is None else d
    xbar = stage2[:d] / a / n
    xbar = xbar / max(1.0, float(np.linalg.norm(xbar)))
    moment = stage2[d : d + size] / b / n
    posterior = _shrunk(stage2[d + size :] / c / n, scale / (c * n))
    entry = scale / (b * n)  # standard deviation of the DP noise on each moment entry
    floor = guard * isotropic_variance / norm**2  # the guard's variance, in direction units
    if basis is None:
        kind: PriorKind = "low-rank"
        cov = unvech(moment, d) - np.outer(xbar, xbar)
        values, vectors = np.linalg.eigh(cov)
        values, vectors = values[::-1], vectors[:, ::-1]
        bulk = max(float(np.median(values)), 0.0)
        noise = spectral_noise(scale, n, d)
        edge = bulk * (1.0 + np.sqrt(d / n)) ** 2 + noise
        rank = min(int(np.sum(values > edge)), max_rank)
        top, v = values[:rank], vectors[:, :rank]
        signal, overlap = _spikes(top - bulk, noise)
        # A sample eigenvalue's standard error is about lambda sqrt(2 / n): widen by it. Only
        # the part of a spike its noisy direction holds stays on that direction.
        low = signal * overlap + top * np.sqrt(2.0 / n)
        residual = np.diagonal(cov) - (v**2) @ top
        # The DP noise along one fixed direction has standard deviation ~entry; the guard's
        # variance already covers that much error, so widen only by what it does not cover.
        diag = np.maximum(residual - posterior, 0.0) + max(entry - floor, 0.0)
        cov_x = (v * low) @ v.T + np.diag(diag)
        directions, spread = v, np.sqrt(np.maximum(top, 0.0))
        raw = cov
    else:
        kind = "diagonal"
        along = basis.T @ xbar
        variance = moment - along**2 - posterior
        order = np.argsort(variance)[::-1]
        rank = min(int(np.sum(variance > 3.0 * entry + np.median(variance))), max_rank)
        widened = np.maximum(variance, 0.0) + 2.0 * entry
        cov_x = (basis * widened) @ basis.T
        raw = (basis * np.maximum(variance, 0.0)) @ basis.T
        directions = basis[:, order[:rank]]
        spread = np.sqrt(np.maximum(variance[order[:rank]], 0.0))
    mean = norm * xbar
    covariance = (
        norm**2 * cov_x
        + (1.0 - mean_share**2) * np.outer(mean, mean)
        + guard * isotropic_variance * np.eye(d)
    )
    subspace, spread = _with_mean(xbar, directions, spread)
    return Fitted(
        mean=mean_share * mean,
        direction=xbar,
        covariance=0.5 * (covariance + covariance.T),
        kind=kind,
        rank=rank,
        users=n,
        subspace=subspace,
        spread=spread,
        variance=max(float(np.trace(subspace.T @ raw @ subspace)), 0.0),
        norm=norm,
    )


def _shrunk(noisy: np.ndarray, noise: float) -> np.ndarray:
    """Per-coordinate values (d,) released with Gaussian noise of standard deviation `noise`,
    shrunk towards their average by the share of their spread the noise explains (James-Stein),
    and clipped at 0 (they are variances).

    >>> _shrunk(np.array([1.0, 3.0]), 0.0).tolist(), _shrunk(np.array([1.0, 3.0]), 2.0).tolist()
    ([1.0, 3.0], [2.0, 2.0])
    """
    center = float(np.mean(noisy))
    spread = float(np.mean((noisy - center) ** 2))
    keep = max(0.0, 1.0 - noise**2 / spread) if spread > 0 else 0.0
    return np.maximum(center + keep * (noisy - center), 0.0)


def _spikes(observed: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(variance, squared cosine with its true direction) of each spike seen at `observed` (k,)
    eigenvalues over symmetric noise of spectral norm `noise`: a spike lambda is seen at
    lambda + noise^2 / (4 lambda) with squared cosine 1 - noise^2 / (4 lambda^2) (the spiked
    Wigner model; Benaych-Georges & Nadakuditi 2011), inverted here.

    >>> [x.round(3).tolist() for x in _spikes(np.array([0.5, 0.04]), 0.4)]
    [[0.4, 0.02], [0.75, 0.0]]
    """
    seen = np.maximum(observed, 0.0)
    signal = 0.5 * (seen + np.sqrt(np.maximum(seen**2 - noise**2, 0.0)))
    overlap = 1.0 - noise**2 / np.maximum(4.0 * signal**2, 1e-300)
    return signal, np.clip(overlap, 0.0, 1.0)


def _with_mean(
    xbar: np.ndarray, directions: np.ndarray, spread: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal columns spanning the mean direction and `directions` (d, k), with the spread
    of each column (the mean's column first, with spread 0 when it adds a dimension)."""
    size = float(np.linalg.norm(xbar))
    if size < 1e-9:
        return directions, spread
    unit = xbar / size
    rest = directions - np.outer(unit, unit @ directions)
    keep = np.linalg.norm(rest, axis=0) > 1e-6
    q, _ = np.linalg.qr(np.column_stack([unit, rest[:, keep]]))
    return q, np.concatenate([[0.0], spread[keep]])
