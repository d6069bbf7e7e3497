"""How much the population prior speeds up new users, measured on held-back stored users.

Every `stride`-th stored user with events is held back; the population is fitted again (a copy,
with the bound population's settings and noise, never stored) from the others. Each held-back
user's taste (their posterior mean) then answers random latents of the generator (like iff the
taste scores it above zero), and two models learn the answers one by one: one started from that
prior, one from scratch. The report shows the median number of ratings until the learned taste
is within cosine `target` of the user's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.models.priors import GaussianPrior
from plgl.population.records import UserTaste

if TYPE_CHECKING:
    from plgl.engine import Engine


def held_back_speedup(
    engine: Engine,
    held_back: int = 20,
    target: float = 0.9,
    max_ratings: int = 300,
    seed: int = 0,
) -> dict[str, float]:
    """{"population prior": median ratings, "from scratch": median ratings} to reach cosine
    `target` for `held_back` stored users left out of the fit (`max_ratings` when never)."""
    population = engine.population
    if population is None:
        raise InvalidInputError("the engine has no population")
    if not (isinstance(held_back, int) and held_back >= 1):
        raise InvalidInputError(f"held_back must be an integer >= 1, got {held_back!r}")
    stride = max(2, _count_users(engine) // held_back)

    def kept() -> Iterator[UserTaste]:  # streamed (twice), as a refresh reads it
        return (t for i, t in enumerate(population.tastes()) if i % stride)

    left = [t for i, t in enumerate(population.tastes()) if not i % stride][:held_back]
    fitted = copy.deepcopy(population.population)
    fitted.refresh(kept)
    prior = fitted.prior()
    if prior is None:
        raise InvalidInputError(
            f"the users not held back are too few for a prior (min_users {fitted.min_users})"
        )
    rng = np.random.default_rng(seed)
    generator = engine.generator
    counts: dict[str, list[int]] = {"population prior": [], "from scratch": []}
    for taste in left:
        latents = generator.project(generator.sample(max_ratings, rng))
        for name, start in (("population prior", prior), ("from scratch", None)):
            counts[name].append(_ratings_to(taste, start, latents, target))
    return {name: float(np.median(values)) for name, values in counts.items()}


def _count_users(engine: Engine) -> int:
    """Live users in storage (ids only: nothing replayed)."""
    count, after = 0, None
    while page := engine.storage.users(after, 1000):
        count, after = count + len(page), page[-1]
    return count


def _ratings_to(
    taste: UserTaste, prior: GaussianPrior | None, latents: np.ndarray, target: float
) -> int:
    """Ratings of `latents` (n, d), in order, until the model's taste is within cosine
    `target` of the user's (n when never)."""
    w = np.asarray(taste.mean) / np.linalg.norm(taste.mean)
    model = LinearPreference(prior=prior).start(len(w))
    for n, z in enumerate(latents, start=1):
        model.learn(z, float(z @ w > 0))
        coef = model.coef_
        if float(coef @ w) >= target * float(np.linalg.norm(coef)):
            return n
    return len(latents)
