"""The domains benchmark: a simulated user with a content taste (`plgl.bench.content`) swipes
through a real generator; plgl is measured against random search in the same run.

Methods, each with the same user, the same answer-noise stream per seed, and the same metric:

* "plgl": the default engine (LinearPreference over latents, the 70/30 sampler).
* "plgl-features": the engine with `FeaturePreference` (a model over the generator's content
  features, navigated by gradient through the generator where it is differentiable).
* "random": random prior samples are rated; recommendation #1 is a random liked one
  (`plgl.bench.baselines.run_random`).

Rows (JSON-native, long format), after every batch of 10 ratings:
{"suite": "domains", "problem": name, "method": m, "seed": s, "step": n_ratings,
 "metric": "top1" | "top10" | "like_rate", "value": v}; "top1" is the normalized utility of
recommendation #1, "top10" the mean over the top 10, "like_rate" the share of the batch liked
(the metric names of every suite).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plgl.bench.baselines import run_random
from plgl.bench.content import ContentUser, content_user
from plgl.bench.loop import LearningCurve, run_swipes
from plgl.bench.suites import Task
from plgl.engine import Engine
from plgl.errors import InvalidInputError
from plgl.generators import Generator, get
from plgl.models import FeaturePreference

METHODS = ("plgl", "plgl-features", "random")
_TOP = 10
_QUICK_RATINGS = 30


def run_domain(
    name: str,
    *,
    ratings: int = 100,
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
) -> list[dict[str, Any]]:
    """Rows of every method on domain `name`'s preset content user (see the module docstring).

    `quick` is a smoke run: at most 30 ratings, the first seed, a smaller prior for the user.
    """
    if isinstance(ratings, bool) or not isinstance(ratings, int) or ratings < 1:
        raise InvalidInputError(f"ratings must be a positive int, got {ratings!r}")
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise InvalidInputError(f"seeds must be non-negative ints, got {list(seeds)!r}")
    generator = get(name)
    if quick:
        ratings, seeds = min(ratings, _QUICK_RATINGS), seeds[:1]
        user = content_user(name, generator, n_prior=100, climb_steps=10)
    else:
        user = content_user(name, generator)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        for method in METHODS:
            curve = _run(method, generator, user, ratings, seed)
            rows += curve.rows(Task("domains", name, method, seed).row)
    return rows


def _run(
    method: str, generator: Generator, user: ContentUser, ratings: int, seed: int
) -> LearningCurve:
    if method == "random":
        return run_random(user, ratings, seed=seed, top_k=_TOP)
    model = FeaturePreference(generator) if method == "plgl-features" else None
    engine = Engine(generator=generator, seed=seed, model=model)
    return run_swipes(engine, user, ratings, seed=seed, top_k=_TOP)
