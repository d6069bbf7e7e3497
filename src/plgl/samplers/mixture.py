"""The default sampler: mostly items the user will probably like, the rest where a rating
teaches the model most.

Candidates come from reverse classification (so they lie on the prior's shell): an exploit share
aimed at predicted like-probabilities between `exploit_min_proba` and `exploit_max_proba` (likely
likes that still teach: a rating the model is sure of teaches nothing), and an explore share
aimed at the decision boundary (p = 0.5). Their orthogonal components follow the posterior
covariance, so candidates point where the model is least sure. Selection is greedy in expected
information (the log-det gain of a logistic rating), updating the predictive covariance after each
pick as if the rating had been seen, so a batch never asks the same question twice.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.models import OnlinePreferenceModel
from plgl.navigation import is_linear, logit, reverse_gradient, reverse_linear, top_of_shell
from plgl.samplers._base import BaseSampler


class MixtureSampler(BaseSampler):
    """Exploit/explore mixture.

    Args:
        explore: share of each batch spent exploring (the "adventurousness" knob), in [0, 1].
        n_candidates: latents proposed per generator call.
        exploit_min_proba: exploit items are predicted liked at least this often.
        exploit_max_proba: exploit candidates are aimed at most this high (0.8 learned faster
            than 0.95 at d = 64 with the same like-rate; `benchmarks/learning_curve.py`).
        reuse: candidates are reused for later asks until more than `reuse` x all ratings so far
            came in since they were made (early on every ask is fresh; later, fewer renders).
    """

    def __init__(
        self,
        explore: float = 0.3,
        n_candidates: int = 100,
        exploit_min_proba: float = 0.7,
        exploit_max_proba: float = 0.8,
        reuse: float = 0.2,
    ) -> None:
        if not 0.0 <= explore <= 1.0:
            raise InvalidInputError(f"explore must be in [0, 1], got {explore}")
        if n_candidates < 1:
            raise InvalidInputError(f"n_candidates must be >= 1, got {n_candidates}")
        if not 0.5 <= exploit_min_proba < exploit_max_proba < 1.0:
            raise InvalidInputError(
                "need 0.5 <= exploit_min_proba < exploit_max_proba < 1, got "
                f"{exploit_min_proba} and {exploit_max_proba}"
            )
        self.explore = explore
        self.n_candidates = n_candidates
        self.exploit_min_proba = exploit_min_proba
        self.exploit_max_proba = exploit_max_proba
        self.reuse = reuse

    def is_stale(self, ratings_since: int, ratings_total: int) -> bool:
        return ratings_since > self.reuse * ratings_total

    def propose(self, model: Any, generator: Generator, rng: np.random.Generator) -> np.ndarray:
        n_explore = round(self.explore * self.n_candidates)
        n_exploit = self.n_candidates - n_explore
        low, high = logit(self.exploit_min_proba), logit(self.exploit_max_proba)
        targets = np.concatenate(
            [rng.uniform(low, high, n_exploit), rng.uniform(-0.5, 0.5, n_explore)]
        )
        radius = math.sqrt(generator.latent_dim)
        if is_linear(model):
            # Targets out of reach would all land on the one top point: aim below the top instead.
            _, top = top_of_shell(model, generator, rng)
            below_top = top - rng.uniform(0.2, 1.5, len(targets))
            targets = np.where(targets > top, below_top, targets)
            directions = _uncertain_directions(model, len(targets), rng)
            return reverse_linear(
                model, targets, len(targets), radius, rng, directions, generator.reach
            )
        starts = generator.project(generator.sample(len(targets), rng))
        return reverse_gradient(model, targets, starts, radius)

    def select(
        self, model: Any, latents: np.ndarray, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[str]]:
        n = min(n, len(latents))
        proba = model.predict_proba(latents)[:, 1]
        cov = model.predictive_covariance(latents)
        n_explore = min(n, round(self.explore * n))
        likely = proba >= self.exploit_min_proba
        if likely.sum() < n - n_explore:  # not enough likely items yet: take the likeliest
            likely = proba >= np.sort(proba)[::-1][n - n_explore - 1]
        picks: list[int] = []
        sources: list[str] = []
        for count, allowed, source in (
            (n - n_explore, likely, "exploit"),
            (n_explore, np.ones(len(latents), dtype=bool), "explore"),
        ):
            chosen = _greedy_information(cov, proba, count, allowed & ~_mask(picks, len(latents)))
            for index in chosen:
                cov = _condition(cov, proba, index)
            picks += chosen
            sources += [source] * len(chosen)
        order = rng.permutation(len(picks))
        return np.array(picks)[order], [sources[i] for i in order]


def _mask(indices: list[int], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[indices] = True
    return mask


def _greedy_information(
    cov: np.ndarray, proba: np.ndarray, count: int, allowed: np.ndarray
) -> list[int]:
    """Pick `count` allowed candidates one by one, each with the largest information gain."""
    cov = cov.copy()
    chosen: list[int] = []
    fisher = proba * (1 - proba)
    for _ in range(min(count, int(allowed.sum()))):
        gain = np.where(allowed, np.log1p(fisher * np.clip(np.diag(cov), 0, None)), -np.inf)
        pick = int(np.argmax(gain))
        chosen.append(pick)
        allowed = allowed.copy()
        allowed[pick] = False
        cov = _condition(cov, proba, pick)
    return chosen


def _condition(cov: np.ndarray, proba: np.ndarray, index: int) -> np.ndarray:
    """Predictive covariance (m, m) after a rating of candidate `index` (rank-one update)."""
    c = proba[index] * (1 - proba[index])
    column = cov[:, index]
    return np.asarray(cov - np.outer(column, column) * (c / (1.0 + c * cov[index, index])))


def _uncertain_directions(model: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, d) random directions weighted by the posterior covariance of the weights."""
    d = len(model.coef_)
    cov = model.weight_covariance() if isinstance(model, OnlinePreferenceModel) else None
    noise = rng.standard_normal((n, d))
    return noise if cov is None else np.asarray(noise @ cov)
