"""Pairwise questions: which two items to compare, and whether a comparison beats two swipes.

A swipe on item z is a logistic observation of its log-odds f(z); a comparison "a or b?" is one
of f(a) - f(b) (the model's Bradley-Terry likelihood, with the same weights). Under the model's
Gaussian belief about the log-odds of the candidates, mean mu (m,) and covariance C (m, m), the
log-odds of a comparison of i and j is Gaussian with mean mu_i - mu_j and variance
C_ii + C_jj - 2 C_ij. What an answer teaches is the mutual information between the answer and
the taste (BALD, Houlsby, Huszar, Ghahramani & Lengyel 2011): the entropy of the predicted answer
minus the entropy expected if the taste were known, in closed form for the probit-approximated
logistic (sigmoid(f) ~ Phi(sqrt(pi/8) f)).

A pair is only asked among watchable items (both predicted liked at least `min_like` often), so
a pair card is two good items, not a test: an answer carries most when the two are about equally
liked (mean gap near 0) yet differ where the model is least sure (large variance of the gap).
Like EUBO (Lin, Astudillo, Frazier & Bakshy 2022) a pair card offers two good options; unlike
EUBO it is scored by information, with "both good" as a constraint.

>>> rng = np.random.default_rng(0)
>>> latents = rng.standard_normal((20, 4))
>>> mean, cov = latents @ np.array([1.0, 0, 0, 0]), latents @ latents.T
>>> choice = best_pair(mean, cov, min_like=0.0)
>>> choice.first != choice.second and choice.bits > 0.5
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.special import ndtr

from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.models import OnlinePreferenceModel, is_linear
from plgl.models.folding import FoldedLaplace
from plgl.models.laplace import PROBIT as _PROBIT  # sigmoid(f) ~ Phi(sqrt(PROBIT) f)
from plgl.models.laplace import moderate
from plgl.navigation import logit, reverse_linear, top_of_shell

_HOULSBY = math.pi * math.log(2.0) / 2.0  # h(Phi(x)) ~ exp(-x^2 / (pi ln 2)), in bits


WATCHABLE = 0.8
"""The least predicted like-probability of an item of a pair card. Higher than the swipe feed's
exploit level (0.7): a pair spreads its items along what the model is unsure of, and at 0.7 a
user whose taste is one ideal point (d = 16) liked only 48% of them while learning (71% at 0.8,
which costs linear users about 15% more answers to 0.9; `plgl bench --suite pairs`)."""


@dataclass(frozen=True)
class PairChoice:
    """The most informative watchable pair among candidates, and what two swipes would teach.

    Attributes:
        first: candidate row of one item of the pair (the likelier liked of the two).
        second: candidate row of the other item.
        bits: expected information of the comparison about the taste (bits).
        swipe_bits: expected information of as many swipes as the pair is weighed against on
            the most informative watchable candidates, each chosen after the previous answer.
        watchable: whether both items are predicted liked at least `min_like` often (else they
            are the two likeliest allowed candidates).
    """

    first: int
    second: int
    bits: float
    swipe_bits: float
    watchable: bool = True

    @property
    def worth_it(self) -> bool:
        """Whether the comparison teaches more than the swipes it is weighed against."""
        return self.bits > self.swipe_bits


def answer_bits(mean: Any, variance: Any, nuisance: Any = 0.0) -> np.ndarray:
    """Expected information (bits) about the taste of a logistic answer whose log-odds
    f ~ N(mean, variance), of which `nuisance` stays unknown even given the taste.

    BALD for the probit approximation: h(Phi(m / sqrt(1 + s))) - C / sqrt(s - n + C^2) *
    exp(-m^2 / (2 (s - n + C^2))) with m, s, n the mean, variance and nuisance in probit units
    and C^2 = (1 + n) pi ln 2 / 2 (Houlsby et al. 2011, eq. 3, with the nuisance integrated into
    the likelihood). A swipe's nuisance is what is unknown about the like threshold (the
    intercept) once the weights are known; a comparison has none.

    Args:
        mean: (...) mean log-odds of the answer.
        variance: (...) their variance (>= 0).
        nuisance: (...) the part of the variance that the taste does not explain.

    Returns:
        (...) bits in [0, 1].

    >>> float(answer_bits(0.0, 0.0))
    0.0
    >>> round(float(answer_bits(0.0, 1e6)), 2)
    1.0
    """
    m = np.sqrt(_PROBIT) * np.asarray(mean, dtype=float)
    s = _PROBIT * np.clip(np.asarray(variance, dtype=float), 0.0, None)
    n = np.minimum(_PROBIT * np.clip(np.asarray(nuisance, dtype=float), 0.0, None), s)
    p = liked_probability(mean, variance)
    entropy = _binary_entropy(p)
    c2 = (1.0 + n) * _HOULSBY
    known = np.sqrt(c2 / (s - n + c2)) * np.exp(-(m**2) / (2.0 * (s - n + c2)))
    return np.asarray(np.clip(entropy - known, 0.0, 1.0))


def liked_probability(mean: Any, variance: Any) -> np.ndarray:
    """(...) predicted like-probability of answers whose log-odds f ~ N(mean, variance): the
    probit form of E[sigmoid(f)], Phi(sqrt(PROBIT) * `moderate(mean, variance)`).

    >>> float(liked_probability(0.0, 4.0))
    0.5
    """
    moderated = moderate(np.asarray(mean, dtype=float), np.clip(variance, 0.0, None))
    return np.asarray(ndtr(math.sqrt(_PROBIT) * moderated))


def beliefs(model: Any, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The model's Gaussian belief about the log-odds of latents (m, d): mean (m,), covariance
    (m, m), and the nuisance: the variance of a swipe's log-odds left once the weights are known
    (what is unknown about the like threshold).

    A linear model's mean is the unmoderated log-odds (its `decision_function` is moderated by
    the variance) and its nuisance the intercept's variance given the weights; other models'
    `decision_function` is taken as the mean, with no nuisance.
    """
    cov = np.asarray(model.predictive_covariance(latents), dtype=float)
    if not is_linear(model):
        return np.asarray(model.decision_function(latents), dtype=float), cov, 0.0
    mean = latents @ np.asarray(model.coef_) + float(model.intercept_)
    if isinstance(model, FoldedLaplace):  # its posterior over (weights, intercept) directly
        joint = np.asarray(model.covariance_)
    else:  # read through predictive covariances: at 0 the intercept, at e_i weight i + intercept
        d = latents.shape[1]
        through = np.asarray(model.predictive_covariance(np.vstack([np.zeros(d), np.eye(d)])))
        cross = through[0, 1:] - through[0, 0]
        joint = np.block(
            [
                [through[1:, 1:] - through[0, 1:][None, :] - cross[:, None], cross[:, None]],
                [cross[None, :], through[:1, :1]],
            ]
        )
    # The intercept's variance once the weights are known (a Schur complement).
    weights, cross = joint[:-1, :-1], joint[:-1, -1]
    factor = cho_factor(weights + 1e-12 * np.trace(weights) * np.eye(len(cross)))
    nuisance = joint[-1, -1] - cross @ cho_solve(factor, cross)
    return np.asarray(mean, dtype=float), cov, max(float(nuisance), 0.0)


def best_pair(
    mean: np.ndarray,
    cov: np.ndarray,
    min_like: float = 0.6,
    *,
    nuisance: float = 0.0,
    swipes: int = 2,
    allowed: np.ndarray | None = None,
) -> PairChoice:
    """The watchable pair whose comparison teaches most, and the bits of two swipes instead.

    Watchable: allowed and predicted liked (probit-moderated) at least `min_like` often; when
    fewer than two candidates are, the two likeliest allowed ones are taken, so there is always
    a pair.

    Args:
        mean: (m,) mean log-odds of the candidates, m >= 2.
        cov: (m, m) their covariance.
        min_like: the least predicted like-probability of an item in a pair, in [0, 1).
        nuisance: variance of a swipe's log-odds that the taste does not explain (`beliefs`).
        swipes: how many swipes the pair is weighed against (`PairChoice.swipe_bits`).
        allowed: (m,) bool, the candidates that may be shown; None allows all (>= 2 needed).

    Returns:
        The chosen pair (rows into the candidates) and the information of it and of two swipes.
    """
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    m = len(mean)
    if m < 2 or cov.shape != (m, m):
        raise InvalidInputError(
            f"need mean (m,) with m >= 2 and cov (m, m); got {mean.shape} and {cov.shape}"
        )
    if not 0.0 <= min_like < 1.0:
        raise InvalidInputError(f"min_like must be in [0, 1), got {min_like!r}")
    allowed = np.ones(m, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    if allowed.shape != (m,) or allowed.sum() < 2:
        raise InvalidInputError(f"allowed must be (m,) = ({m},) bool with >= 2 True")
    variance = np.clip(np.diag(cov), 0.0, None)
    proba = liked_probability(mean, variance)
    watchable = allowed & (proba >= min_like)
    enough = bool(watchable.sum() >= 2)
    if not enough:
        watchable = allowed & (proba >= np.sort(proba[allowed])[::-1][1])
    rows = np.flatnonzero(watchable)
    gap_mean = mean[rows, None] - mean[None, rows]
    gap_var = variance[rows, None] + variance[None, rows] - 2.0 * cov[np.ix_(rows, rows)]
    bits = answer_bits(gap_mean, gap_var)
    bits[np.tril_indices(len(rows))] = -1.0  # each pair once, never an item with itself
    i, j = np.unravel_index(int(np.argmax(bits)), bits.shape)
    first, second = int(rows[i]), int(rows[j])
    if proba[second] > proba[first]:
        first, second = second, first
    swiped = swipe_bits(mean, cov, rows, swipes, nuisance)
    return PairChoice(first, second, float(bits[i, j]), swiped, enough)


def answered_covariance(mean: np.ndarray, cov: np.ndarray, first: int, second: int) -> np.ndarray:
    """(m, m) covariance of the candidates' log-odds (mean (m,), cov (m, m)) after the
    comparison of candidates `first` and `second`: a rank-one Laplace update with the
    curvature at the predicted answer."""
    u = np.zeros(len(mean))
    u[first], u[second] = 1.0, -1.0
    column = cov @ u
    variance = float(u @ column)
    p = float(liked_probability(float(mean[first] - mean[second]), variance))
    c = p * (1.0 - p)
    return np.asarray(cov - np.outer(column, column) * (c / (1.0 + c * variance)))


def swipe_bits(
    mean: np.ndarray, cov: np.ndarray, rows: np.ndarray, n: int = 2, nuisance: float = 0.0
) -> float:
    """Expected bits of `n` swipes on the most informative of `rows`, chosen one after another,
    each after the previous answer (a rank-one Laplace update of the covariance).

    Args:
        mean: (m,) mean log-odds.
        cov: (m, m) their covariance.
        rows: (k,) the candidates that may be swiped.
        n: how many swipes.
        nuisance: variance of a swipe's log-odds that the taste does not explain.
    """
    mean, cov = mean[rows], cov[np.ix_(rows, rows)].copy()
    total = 0.0
    for _ in range(min(n, len(rows))):
        gains = answer_bits(mean, np.diag(cov), nuisance)
        pick = int(np.argmax(gains))
        total += float(gains[pick])
        p = float(liked_probability(mean[pick], cov[pick, pick]))
        c = p * (1.0 - p)  # the curvature of the logistic likelihood at the predicted answer
        column = cov[:, pick].copy()
        cov -= np.outer(column, column) * (c / (1.0 + c * cov[pick, pick]))
        mean = mean.copy()
        mean[pick] = -np.inf  # answered: not asked again (its bits are 0 at an infinite mean)
    return total


def pair_proposals(
    model: Any,
    generator: Generator,
    n_pairs: int,
    rng: np.random.Generator,
    like: tuple[float, float] = (WATCHABLE, 0.9),
) -> np.ndarray:
    """(2 m, d) latents made to be compared: rows i and m + i share a predicted like-probability
    drawn from `like` and differ only along a direction the model is unsure of (opposite sides
    of it), so the comparison's mean gap is 0 and its variance large.

    The directions: the `n_pairs` axes of the weights' posterior covariance (across the taste
    learned so far) along which the model is least sure, and `n_pairs` random directions drawn
    from that covariance (m = 2 n_pairs); random directions alone when the model has no
    covariance. The axes cut the answers to 0.9 by about 10% (`plgl bench --suite pairs`).
    Linear models only (reverse classification on the prior's shell); (0, d) for others.
    """
    d = generator.latent_dim
    if not is_linear(model) or n_pairs < 1:
        return np.zeros((0, d))
    directions = rng.standard_normal((n_pairs, d))
    weights = model.weight_covariance() if isinstance(model, OnlinePreferenceModel) else None
    if weights is not None:  # lean towards what the model is least sure of
        directions = np.vstack(
            [_unsure_axes(weights, np.asarray(model.coef_), n_pairs), directions @ weights]
        )
    m = len(directions)
    targets = rng.uniform(logit(like[0]), logit(like[1]), m)
    best, top = top_of_shell(model, generator, rng)
    if best is not None:  # targets above the reachable top would all land on it
        targets = np.where(targets > top, top - rng.uniform(0.2, 1.5, m), targets)
    both = np.concatenate([targets, targets])
    return reverse_linear(
        model, both, 2 * m, math.sqrt(d), rng, np.vstack([directions, -directions]), generator.reach
    )


def _unsure_axes(weights: np.ndarray, coef: np.ndarray, n: int) -> np.ndarray:
    """(min(n, d), d) the top eigenvectors of the weights' covariance (d, d) across `coef`
    (the component along the learned taste is what the like level of a twin pins down)."""
    norm = float(np.linalg.norm(coef))
    if norm > 1e-12:
        across = np.eye(len(coef)) - np.outer(coef, coef) / norm**2
        weights = across @ weights @ across
    _, vectors = np.linalg.eigh(weights)
    return np.asarray(vectors[:, ::-1][:, :n].T)


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1.0 - 1e-12)
    return np.asarray(-(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p)))
