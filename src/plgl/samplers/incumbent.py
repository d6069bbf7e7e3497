"""Challengers for the incumbent: which candidates to pit against the user's current favourite.

A comparison of the favourite (the incumbent) with a candidate c answers "is c better?". Under
the model's Gaussian belief about the log-odds of the candidates and the incumbent (`beliefs`),
the gap g = f(c) - f(incumbent) is Gaussian with mean mu and standard deviation s, and what
showing c can gain is its expected improvement E[max(g, 0)] = mu Phi(mu / s) + s phi(mu / s)
(Jones, Schonlau & Welch 1998): a candidate predicted better, or one the model is unsure of.
Pitting the incumbent against the expected-improvement maximizer is the query of Brochu,
de Freitas & Ghosh (2007) for preference galleries; the winner stays, as in the dueling-bandit
hill climb of Yue & Joachims (2009), but challengers come from the whole candidate set, not
only from near the incumbent. A batch's challengers are chosen one after another, the
covariance conditioned after each as if its comparison had been answered
(`plgl.samplers.pairs.answered_covariance`), so they differ where the model is unsure.

Where the candidates come from matters as much as the choice. A feed's proposals sit on the
prior's shell wherever the model points; on faces, whose navigation moves a face at most the
generator's reach (2.5 latent units) along the taste on a shell of radius 10, they are about
as good as random faces: 2 of some 120 beat a favourite, and the challenger chosen among them
was 0.1 below it (medians per batch). `neighbours` adds latents around the incumbent at a
spread of distances, along directions the posterior is unsure of; with 120 of them 40 of the
240 candidates beat it and the chosen one gained 0.08 (`benchmarks/population_faces_diagnosis.py
--batch 5`). Expected improvement weighs the near and the far, as the local and global
candidates of trust-region Bayesian optimisation (Eriksson et al. 2019).

Which face is the incumbent is the other half. Answers can be noisy, and faces chosen on
different cards were never set against each other: several challengers of one batch may beat
the same favourite, and a long-standing favourite can lose one duel it should have won.
`standings` weighs every comparison the user made (a Bradley-Terry fit whose prior is the
model's belief), and `rematches` names the earlier choices still likely to be better than the
incumbent, to pit against it again.

Why: on faces started from a population's prior (`plgl bench --suite population-faces`), the
favourite among some thirty chosen faces, none compared with another, is the weak link: the
posterior and the content judge picked faces near the median of them (docs/population.md).
References: docs/references.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize
from scipy.special import expit, ndtr

from plgl.errors import InvalidInputError
from plgl.models import OnlinePreferenceModel
from plgl.samplers.pairs import answered_covariance, beliefs

_ROOT_2PI = float(np.sqrt(2.0 * np.pi))
NEIGHBOURS = 120
"""Latents drawn around the incumbent for each batch of challengers (`neighbours`)."""
NEIGHBOUR_STEPS = np.array([0.3, 0.7])
"""Their distance from the incumbent, as fractions of the shell's radius (low, high)."""
RESIDUAL = 1.0
"""Standard deviation (log-odds) of what an item's appeal holds beyond the linear model's
belief about it (`standings`)."""


def expected_improvement(gap_mean: np.ndarray, gap_sd: np.ndarray) -> np.ndarray:
    """(...) E[max(g, 0)] for g ~ N(gap_mean, gap_sd^2) (gap_sd >= 0; 0: max(mean, 0)).

    >>> expected_improvement(np.array([0.0, 1.0, -1.0]), np.array([1.0, 0.0, 0.0])).round(3)
    array([0.399, 1.   , 0.   ])
    """
    mean = np.asarray(gap_mean, dtype=float)
    sd = np.clip(np.asarray(gap_sd, dtype=float), 0.0, None)
    safe = np.where(sd > 0.0, sd, 1.0)
    z = mean / safe
    spread = mean * ndtr(z) + safe * np.exp(-0.5 * z**2) / _ROOT_2PI
    return np.asarray(np.where(sd > 0.0, spread, np.maximum(mean, 0.0)))


def challengers(model: Any, incumbent: np.ndarray, latents: np.ndarray, n: int) -> np.ndarray:
    """Rows of up to `n` distinct candidates to compare with the incumbent, best first: each
    the largest expected improvement over it given the comparisons chosen before it.

    Args:
        model: the user's preference model (a linear model's posterior, or any model with
            `predictive_covariance` and `decision_function`).
        incumbent: (d,) the user's favourite.
        latents: (m, d) candidate latents.
        n: how many challengers, >= 1.

    Returns:
        (min(n, m),) int rows into `latents`.

    >>> from plgl.models import LinearPreference
    >>> model = LinearPreference().start(2)
    >>> for _ in range(5):
    ...     model.learn(np.array([1.0, 0.0]), 1.0); model.learn(np.array([-1.0, 0.0]), 0.0)
    >>> latents = np.array([[-1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    >>> challengers(model, np.array([0.5, 0.0]), latents, 1).tolist()
    [1]
    """
    latents = np.asarray(latents, dtype=float)
    incumbent = np.asarray(incumbent, dtype=float)
    if latents.ndim != 2 or incumbent.shape != (latents.shape[1],):
        raise InvalidInputError(
            f"need latents (m, d) and an incumbent (d,); got {latents.shape} and {incumbent.shape}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be an integer >= 1, got {n!r}")
    if not (np.all(np.isfinite(latents)) and np.all(np.isfinite(incumbent))):
        raise InvalidInputError("latents and the incumbent must be finite")
    mean, cov, _ = beliefs(model, np.vstack([incumbent, latents]))
    allowed = np.ones(len(latents), dtype=bool)
    picks: list[int] = []
    for _ in range(min(n, len(latents))):
        gap_var = np.diag(cov)[1:] + cov[0, 0] - 2.0 * cov[0, 1:]
        gain = expected_improvement(mean[1:] - mean[0], np.sqrt(np.clip(gap_var, 0.0, None)))
        row = int(np.argmax(np.where(allowed, gain, -np.inf)))
        picks.append(row)
        allowed[row] = False
        cov = answered_covariance(mean, cov, 0, row + 1)
    return np.array(picks, dtype=int)


def neighbours(
    model: Any,
    incumbent: np.ndarray,
    n: int,
    distances: tuple[float, float] | np.ndarray,
    shell: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n, d) latents around the incumbent on the shell |z| = `shell`, each at a distance
    (chord, latent units) drawn uniformly from `distances`, in a direction along the shell
    drawn from the posterior covariance of the taste weights (isotropic where the model has
    none): long where the taste is least known, where a comparison can show an improvement the
    model does not foresee.

    Args:
        model: the user's preference model (`weight_covariance()` where it has one).
        incumbent: (d,) the user's favourite, d >= 2 (taken at the shell's radius).
        n: how many, >= 1.
        distances: (low, high), 0 <= low <= high <= 2 x shell.
        shell: the shell's radius, > 0.
        rng: the user's random stream.

    >>> from plgl.models import LinearPreference
    >>> z = neighbours(LinearPreference().start(3), np.array([2.0, 0, 0]), 4, (0.5, 1.0), 2.0,
    ...                np.random.default_rng(0))
    >>> z.shape, bool(np.allclose(np.linalg.norm(z, axis=1), 2.0))
    ((4, 3), True)
    """
    incumbent = np.asarray(incumbent, dtype=float)
    low, high = (float(x) for x in distances)
    norm = float(np.linalg.norm(incumbent)) if incumbent.ndim == 1 else 0.0
    if incumbent.ndim != 1 or len(incumbent) < 2 or not np.isfinite(norm) or norm == 0.0:
        raise InvalidInputError(
            f"the incumbent must be a finite, nonzero (d >= 2,) latent, got {incumbent.shape}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be an integer >= 1, got {n!r}")
    if not 0.0 < shell < np.inf:
        raise InvalidInputError(f"shell must be a radius > 0, got {shell}")
    if not 0.0 <= low <= high <= 2.0 * shell:
        raise InvalidInputError(f"distances must be 0 <= low <= high <= 2 x shell, got {distances}")
    d, unit = len(incumbent), incumbent / norm
    steps = rng.standard_normal((n, d))
    weights = model.weight_covariance() if isinstance(model, OnlinePreferenceModel) else None
    if weights is not None:  # the posterior's spread: long where the taste is least known
        steps = steps @ _root(np.asarray(weights, dtype=float)).T
    steps -= np.outer(steps @ unit, unit)  # along the shell
    steps /= np.maximum(np.linalg.norm(steps, axis=1), 1e-12)[:, None]
    angle = 2.0 * np.arcsin(rng.uniform(low, high, n) / (2.0 * shell))  # chord -> arc
    return np.asarray(shell * (np.cos(angle)[:, None] * unit + np.sin(angle)[:, None] * steps))


def standings(
    model: Any,
    latents: np.ndarray,
    wins: np.ndarray,
    offset: np.ndarray | None = None,
    residual: float = RESIDUAL,
) -> tuple[np.ndarray, np.ndarray]:
    """Each latent's log-odds of appeal given every comparison among them: mean (m,) and
    covariance (m, m) of the Laplace approximation at the maximum a posteriori of a
    Bradley-Terry model (Bradley & Terry 1952), P(a beats b) = sigmoid(u_a - u_b), whose
    prior is the model's Gaussian belief about the latents' log-odds (`beliefs`, its mean
    shifted by `offset`) plus an independent `residual` per item: what the answers say about
    an item itself, beyond what a linear taste can express (the Laplace approximation of Chu
    & Ghahramani 2005, with the posterior as the prior). Answers may be noisy: an item that
    won once against one that won often ranks by the weight of all of them, not the latest.

    Args:
        model: the user's preference model (`plgl.samplers.pairs.beliefs`).
        latents: (m, d) the items, each once.
        wins: (p, 2) int rows into `latents`, (winner, loser) of each comparison.
        offset: (m,) log-odds added to the prior's mean (another expert's), or None.
        residual: the residual's standard deviation, > 0.

    >>> from plgl.models import LinearPreference
    >>> model = LinearPreference().start(2)
    >>> latents = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> u, cov = standings(model, latents, np.array([[0, 2], [0, 2], [2, 1]]))
    >>> int(np.argmax(u)), bool(u[2] > u[1]), cov.shape
    (0, True, (3, 3))
    """
    latents = np.asarray(latents, dtype=float)
    wins = np.asarray(wins)
    m = len(latents)
    if latents.ndim != 2 or not m or not np.all(np.isfinite(latents)):
        raise InvalidInputError(f"latents must be finite (m >= 1, d), got {latents.shape}")
    if wins.size and (
        wins.ndim != 2
        or wins.shape[1] != 2
        or not np.issubdtype(wins.dtype, np.integer)
        or wins.min() < 0
        or wins.max() >= m
    ):
        raise InvalidInputError(f"wins must be (p, 2) int rows into {m} latents, got {wins!r}")
    if not (np.isfinite(residual) and residual > 0):
        raise InvalidInputError(f"residual must be > 0, got {residual!r}")
    mean, cov, _ = beliefs(model, latents)
    if offset is not None:
        mean = mean + np.asarray(offset, dtype=float).reshape(m)
    prior = cov + residual**2 * np.eye(m)
    if not wins.size:
        return np.asarray(mean), prior
    precision = cho_solve(cho_factor(prior), np.eye(m))
    design = np.zeros((len(wins), m))  # row: +1 at the winner, -1 at the loser
    np.add.at(design, (np.arange(len(wins)), wins[:, 0]), 1.0)
    np.add.at(design, (np.arange(len(wins)), wins[:, 1]), -1.0)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        margin, pulled = design @ u, precision @ (u - mean)
        value = 0.5 * (u - mean) @ pulled + float(np.logaddexp(0.0, -margin).sum())
        return value, pulled - design.T @ expit(-margin)

    def hessian(u: np.ndarray) -> np.ndarray:
        p = expit(design @ u)
        return np.asarray(precision + design.T @ (design * (p * (1.0 - p))[:, None]))

    # Convex (a Gaussian prior and log-concave likelihoods): Newton steps converge fast.
    found = minimize(objective, mean, jac=True, hess=hessian, method="trust-exact")
    spread = cho_solve(cho_factor(hessian(found.x)), np.eye(m))
    return np.asarray(found.x), np.asarray(0.5 * (spread + spread.T))


def rematches(mean: np.ndarray, cov: np.ndarray, best: int, n: int, least: float) -> np.ndarray:
    """Rows of up to `n` items to pit against item `best` again, likeliest first: those whose
    probability of being better than it, under the Gaussian belief mean (m,), cov (m, m)
    (`standings`), is at least `least` (the probability of improvement, Kushner 1964).

    >>> rematches(np.array([1.0, 0.8, -3.0]), np.eye(3), 0, 2, 0.05).tolist()
    [1]
    """
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    m = len(mean)
    if (
        mean.ndim != 1
        or cov.shape != (m, m)
        or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov)))
    ):
        raise InvalidInputError(
            f"need a finite mean (m,) and cov (m, m); got {mean.shape}, {cov.shape}"
        )
    if isinstance(best, bool) or not isinstance(best, int) or not 0 <= best < m:
        raise InvalidInputError(f"best must be a row of the {m} items, got {best!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be an integer >= 1, got {n!r}")
    if not 0.0 <= least <= 1.0:
        raise InvalidInputError(f"least must be a probability, got {least!r}")
    gap_var = np.diag(cov) + cov[best, best] - 2.0 * cov[best]
    chance = ndtr((mean - mean[best]) / np.sqrt(np.clip(gap_var, 1e-12, None)))
    chance[best] = 0.0
    order = np.argsort(-chance, kind="stable")[:n]
    return np.asarray(order[chance[order] >= least], dtype=int)


def _root(covariance: np.ndarray) -> np.ndarray:
    """(d, d) L with L L^T = covariance (d, d): its Cholesky factor, or where rounding left it
    not quite positive definite, the symmetric root of its eigenvalues clipped at zero."""
    try:
        return np.asarray(np.linalg.cholesky(covariance + 1e-9 * np.eye(len(covariance))))
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(0.5 * (covariance + covariance.T))
        return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)))


__all__ = ["challengers", "expected_improvement", "neighbours", "rematches", "standings"]
