"""User-level differential privacy through OpenDP: the Gaussian mechanism and its accountant.

Every statistic the population releases is a sum over users of a contribution whose L2 norm is at
most 1 (each user's contribution is clipped before it is summed), so adding or removing one user
moves the sum by at most 1 in L2: the Gaussian mechanism with noise scale sigma then satisfies
rho-zero-concentrated DP with rho = 1 / (2 sigma^2) (Dwork & Roth 2014, section 3.5; Bun & Steinke
2016). zCDP composes by adding rho, so the accountant stores rho per release, per refresh and in
total, and converts to (epsilon, delta) with OpenDP's own map (`make_zCDP_to_approxDP`). The noise
comes from OpenDP's sampler (a cryptographic source, deliberately not seedable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError


def require_opendp() -> Any:
    """Import `opendp.prelude` with the "contrib" features the Gaussian mechanism needs."""
    try:
        import opendp.prelude as dp
    except ImportError as error:  # pragma: no cover - the extra is installed in development
        raise ImportError(
            "differentially private population statistics need OpenDP: "
            "pip install 'plgl[population]'"
        ) from error
    dp.enable_features("contrib")
    return dp


def _vector_gaussian(scale: float) -> Any:
    dp = require_opendp()
    space = (dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float))
    return space >> dp.m.then_gaussian(scale=scale)


@cache
def epsilon_of(rho: float, delta: float) -> float:
    """The epsilon at `delta` of a rho-zCDP mechanism, by OpenDP's conversion map.

    The conversion depends on rho only, so it is read from a Gaussian mechanism whose map is rho.

    >>> round(epsilon_of(0.125, 1e-6), 3)
    2.419
    """
    if rho <= 0:
        return 0.0
    dp = require_opendp()
    measurement = _vector_gaussian(1.0 / math.sqrt(2.0 * rho))
    return float(dp.c.make_zCDP_to_approxDP(measurement).map(1.0).epsilon(delta))


@cache
def rho_for(epsilon: float, delta: float) -> float:
    """The largest rho whose (epsilon, delta) conversion stays within `epsilon`.

    >>> epsilon_of(rho_for(1.0, 1e-6), 1e-6) <= 1.0
    True
    """
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise InvalidInputError(f"epsilon must be a finite number > 0, got {epsilon!r}")
    if not 0 < delta < 1:
        raise InvalidInputError(f"delta must be in (0, 1), got {delta!r}")
    dp = require_opendp()
    rho = float(dp.binary_search(lambda r: epsilon_of(r, delta) <= epsilon, bounds=(1e-9, epsilon)))
    return rho


def gaussian_release(
    values: np.ndarray, rho: float, sensitivity: float = 1.0
) -> tuple[np.ndarray, float, float]:
    """Release `values` with rho-zCDP, given that one user moves them by <= `sensitivity` in L2.

    Args:
        values: (m,) float, e.g. a sum of per-user contributions of L2 norm <= 1.
        rho: the zCDP budget of this release (> 0).
        sensitivity: the L2 bound on one user's effect (1 for a sum of clipped contributions).

    Returns:
        (noisy values (m,), the noise scale, the rho OpenDP's privacy map charges).
    """
    if not rho > 0:
        raise InvalidInputError(f"rho must be > 0, got {rho!r}")
    scale = sensitivity / math.sqrt(2.0 * rho)
    measurement = _vector_gaussian(scale)
    charged = float(measurement.map(sensitivity))
    noisy = np.asarray(measurement(np.asarray(values, dtype=float).tolist()), dtype=float)
    return noisy, scale, charged


@dataclass(frozen=True)
class Release:
    """One released statistic: what, its noise scale and the zCDP rho charged (0: no noise)."""

    name: str
    size: int
    scale: float
    rho: float


@dataclass
class Accountant:
    """Rho spent per refresh and in total (zCDP composes additively); epsilon at `delta`.

    >>> a = Accountant(delta=1e-6)
    >>> a.charge([Release("sums", 3, 2.0, 0.125)])
    >>> a.total_rho, round(a.total_epsilon, 3)
    (0.125, 2.419)
    """

    delta: float
    refreshes: list[float] = field(default_factory=list)
    matching: list[tuple[float, float]] = field(default_factory=list)
    """(epsilon, delta) of each refresh's match reports: each concerns one opted-in user only."""

    def charge(self, releases: list[Release]) -> None:
        """Record one refresh made of `releases`."""
        self.refreshes.append(sum(release.rho for release in releases))

    def charge_matching(self, epsilon: float, delta: float) -> None:
        """Record one refresh's match reports, (epsilon, delta)-DP for each opted-in user."""
        self.matching.append((epsilon, delta))

    @property
    def opted_in(self) -> tuple[float, float]:
        """(epsilon, delta) of everything released so far about a user opted in to matching at
        every refresh: the aggregates' total plus each match report (basic composition).

        >>> a = Accountant(delta=1e-6, refreshes=[0.125])
        >>> a.charge_matching(1.0, 0.0)
        >>> round(a.opted_in[0], 3), a.opted_in[1]
        (3.419, 1e-06)
        """
        epsilon, delta = self.total_epsilon, self.delta
        return epsilon + sum(e for e, _ in self.matching), delta + sum(d for _, d in self.matching)

    @property
    def total_rho(self) -> float:
        return float(sum(self.refreshes))

    @property
    def total_epsilon(self) -> float:
        """Epsilon of everything released so far, at `delta`."""
        return epsilon_of(self.total_rho, self.delta)


__all__ = [
    "Accountant",
    "Release",
    "epsilon_of",
    "gaussian_release",
    "require_opendp",
    "rho_for",
]
