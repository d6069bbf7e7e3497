"""How much the population prior speeds up new users, measured on held-back stored users.

Every `stride`-th stored user with events is held back; the population is fitted again (a copy,
with the bound population's settings and noise, never stored) from the others. Each held-back
user's taste (their posterior mean) then answers random latents of the generator (like iff the
taste scores it above zero), and two models learn the answers one by one: the engine's own
model started from that prior as a new user's is (the mixture with `Population(mixture=True)`,
the default, else the single Gaussian), and the engine's model from scratch. The report shows
the median number of ratings until the learned taste is within cosine `target` of the user's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.population.pinned import started_from
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
    prior = fitted.new_user_prior()
    if prior is None:
        raise InvalidInputError(
            f"the users not held back are too few for a prior (min_users {fitted.min_users})"
        )
    rng = np.random.default_rng(seed)
    generator = engine.generator
    template = engine.model
    if not isinstance(template, LinearPreference):  # checked when the population was bound
        raise InvalidInputError(f"a population prior needs a LinearPreference, got {template!r}")
    starts = {"population prior": started_from(template, prior), "from scratch": template}
    counts: dict[str, list[int]] = {name: [] for name in starts}
    for taste in left:
        latents = generator.project(generator.sample(max_ratings, rng))
        for name, model in starts.items():
            counts[name].append(_ratings_to(taste, model, latents, target))
    return {name: float(np.median(values)) for name, values in counts.items()}


def _count_users(engine: Engine) -> int:
    """Live users in storage (ids only: nothing replayed)."""
    count, after = 0, None
    while page := engine.storage.users(after, 1000):
        count, after = count + len(page), page[-1]
    return count


def _ratings_to(
    taste: UserTaste, template: LinearPreference, latents: np.ndarray, target: float
) -> int:
    """Ratings of `latents` (n, d), in order, until a copy of `template` learns a taste within
    cosine `target` of the user's (n when never)."""
    w = np.asarray(taste.mean) / np.linalg.norm(taste.mean)
    model = copy.deepcopy(template).start(len(w))
    for n, z in enumerate(latents, start=1):
        model.learn(z, float(z @ w > 0))
        coef = model.coef_
        if float(coef @ w) >= target * float(np.linalg.norm(coef)):
            return n
    return len(latents)
