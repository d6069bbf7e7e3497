"""What earlier face swipers teach the next one: the population prior on faces (d = 100).

A population of "random-features" face swipers (`plgl.bench.swipers`: a direction in the
embedding of a small untrained vision network, the same network for everyone) whose tastes
cluster: 4 centre directions, each swiper's a centre plus half a unit direction of its own,
normalized. Earlier swipers each rated 60 random faces (like or dislike, the swipers' noise
model) of a shared bank of 3,000; their tastes are what the default engine's model
(`LinearPreference` with the faces geometry prior) learned from those answers. `plgl.Population`
is refreshed from them: 500 swipers without noise, or 2,000 at (1, 1e-6)-DP. Passive ratings
make weaker posteriors than the feed's own questions would: the harder case for the prior.

Held-back new swipers of the same population (never among the earlier ones) then answer the web
app's cards (`Session.next_cards`, batches of 10, as in the swipers suite) of two engines on the
same answer stream: "scratch" (`Engine(faces)`, as `plgl serve` builds it), "mixture prior" (the
same engine whose model, `MixturePreference`, starts from the population's mixture prior: what
`Engine(faces, population=...)` gives a new user) and "population prior" (what
`Population(mixture=False)` gives: the single Gaussian beside the from-scratch prior). After
each batch the For-you pick is scored as in the swipers suite, normalized over the bank (0 = an
average face, 1 = the best of the 3,000). Guard rail ("unrelated"): new swipers whose direction
is unrelated to the population's centres, under the private population.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.bench.suites._base import Row, SuiteSkipped, Task, is_tiny
from plgl.bench.suites.swipers import pick_metrics

if TYPE_CHECKING:
    import torch

    from plgl.population import Population

TITLE = "Population prior on faces: new face swipers with and without earlier swipers' prior"
_STEPS = (10, 20, 30)
METRICS = pick_metrics(_STEPS)
POPULATIONS = {"no noise": (500, None), "epsilon 1": (2000, 1.0)}
"""Population setting -> (earlier swipers, epsilon per refresh; None: no noise)."""
CENTRES, SPREAD, EARLIER_RATINGS, BANK = 4, 0.5, 60, 3000
METHODS = ("scratch", "mixture prior", "population prior")


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (population setting, new swiper): both engines on the same swiper. Quick
    (and tiny) runs take the noiseless population, one swiper and a smaller bank."""
    small = quick or is_tiny()
    chosen = tuple(seeds) if seeds else (0,) if small else tuple(range(20))
    params = {
        "ratings": 20 if is_tiny() else 30,
        "scale": 0.1 if is_tiny() else 0.25 if quick else 1.0,  # of the earlier swipers, bank
    }
    problems = [*POPULATIONS, "unrelated"]
    tasks = []
    for problem in problems[:1] if small else problems:
        for seed in chosen if problem != "unrelated" else chosen[:10]:
            method = "+".join(METHODS)
            tasks.append(Task("population-faces", problem, method, seed, params, 10.0))
    return tasks


def run_task(task: Task) -> list[Row]:
    """One new swiper through both engines; rows for its For-you pick after every batch."""
    from plgl.bench.suites.swipers import swipe
    from plgl.bench.swipers import ContentSwiper, random_features
    from plgl.engine import Engine
    from plgl.generators import available, get
    from plgl.models import LinearPreference
    from plgl.models.mixture import MixturePreference, MixturePrior

    if "faces" not in available():
        raise SuiteSkipped("no generator 'faces' is registered")
    try:
        generator = get("faces")
    except (ImportError, LookupError, FileNotFoundError) as error:
        raise SuiteSkipped(f"faces cannot run here: {error!r}") from error
    seed = int(task.seed or 0)
    scale = float(task.params["scale"])
    setting = "epsilon 1" if task.problem == "unrelated" else task.problem
    population = _population(setting, scale, seed % 4 if POPULATIONS[setting][1] else 0)
    rng = np.random.default_rng([80_000, seed])
    direction = _unit(rng) if task.problem == "unrelated" else _member(rng)
    _, embedding = _bank(_bank_size(scale))
    taste = random_features(_filters(), direction)
    user = ContentSwiper(generator, taste, seed=seed, prior_values=embedding @ direction)
    rows: list[Row] = []
    single = population.new_user_prior(mixture=False)
    models = {
        "scratch": None,
        "mixture prior": MixturePreference(mixture=population.mixture_prior()),
        "population prior": MixturePreference(mixture=single)
        if isinstance(single, MixturePrior)
        else LinearPreference(prior=single),
    }
    for method, model in models.items():
        with Engine(generator, seed=seed, model=model) as engine:
            rows += [
                row for row in swipe(task, method, engine, user, seed) if row["metric"] in METRICS
            ]
    return rows


def _unit(rng: np.random.Generator) -> np.ndarray:
    """(256,) a random unit direction of the embedding."""
    direction = rng.standard_normal(256)
    return np.asarray(direction / np.linalg.norm(direction))


@cache
def _filters() -> torch.Tensor:
    """The population's shared vision network (`conv_filters`)."""
    from plgl.bench.swipers import conv_filters

    return conv_filters(np.random.default_rng(81_000))


@cache
def _centres() -> np.ndarray:
    """(CENTRES, 256) the population's centre directions."""
    rng = np.random.default_rng(81_001)
    return np.array([_unit(rng) for _ in range(CENTRES)])


def _member(rng: np.random.Generator) -> np.ndarray:
    """(256,) one member's direction: a centre plus SPREAD of a unit direction of its own."""
    centres = _centres()
    direction = centres[int(rng.integers(len(centres)))] + SPREAD * _unit(rng)
    return np.asarray(direction / np.linalg.norm(direction))


def _bank_size(scale: float) -> int:
    return max(200, round(BANK * scale))


@cache
def _bank(size: int) -> tuple[np.ndarray, np.ndarray]:
    """`size` random faces: latents (size, 100) and their embedding (size, 256)."""
    from plgl.bench.swipers import conv_embedding
    from plgl.bench.users import clip_to_ball
    from plgl.generators import get

    generator = get("faces")
    rng = np.random.default_rng(82_000)
    latents = clip_to_ball(rng.standard_normal((size, generator.latent_dim)))
    parts = [
        conv_embedding(generator.generate(latents[first : first + 250]), _filters())
        for first in range(0, size, 250)
    ]
    return latents, np.vstack(parts)


@cache
def _population(setting: str, scale: float, draw: int) -> Population:
    """The population of `setting`, refreshed from its earlier swipers (`draw`: which private
    refresh)."""
    from plgl.population import Population

    n, epsilon = POPULATIONS[setting]
    tastes, _ = _earlier(max(60, round(n * scale)), _bank_size(scale))
    population = Population(epsilon=epsilon, delta=1e-6, min_users=50, secret=b"bench")
    population.refresh(list(tastes))
    if population.prior() is None or population.mixture_prior() is None:
        raise ValueError(f"population-faces / {setting}: the population released no prior")
    return population


@cache
def _earlier(n: int, bank: int) -> tuple[tuple[Any, ...], np.ndarray]:
    """`n` earlier swipers: the tastes (`UserTaste`) learned from EARLIER_RATINGS answers each
    on random faces of the bank, and their true directions (n, 256)."""
    from sklearn.base import clone

    from plgl.engine import model_named
    from plgl.generators import get
    from plgl.population import UserTaste

    generator = get("faces")
    latents, embedding = _bank(bank)
    rng = np.random.default_rng(83_000)
    directions = np.array([_member(rng) for _ in range(n)])
    utility = embedding @ directions.T  # (bank, n)
    standard = (utility - utility.mean(axis=0)) / utility.std(axis=0)
    base = model_named("latent", generator)
    tastes = []
    for user in range(n):
        rows = rng.choice(bank, EARLIER_RATINGS, replace=False)
        s = standard[rows, user]
        liked = rng.random(EARLIER_RATINGS) < 0.5 * (1.0 + np.tanh(0.5 * (s - 0.5) / 0.25))
        model = clone(base).partial_fit(latents[rows], liked.astype(int), classes=[0, 1])
        covariance = model.covariance_[:-1, :-1]
        tastes.append(UserTaste(f"earlier-{user}", model.coef_, covariance))
    return tuple(tastes), directions
