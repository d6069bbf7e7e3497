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

Why: on faces started from a population's prior (`plgl bench --suite population-faces`), the
favourite among some thirty chosen faces, none compared with another, is the weak link: the
posterior and the content judge picked faces near the median of them (README, "Many users").
References: docs/references.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from plgl.errors import InvalidInputError
from plgl.samplers.pairs import answered_covariance, beliefs

_ROOT_2PI = float(np.sqrt(2.0 * np.pi))


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


__all__ = ["challengers", "expected_improvement"]
