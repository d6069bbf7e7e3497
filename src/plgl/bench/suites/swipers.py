"""Content swipers on the real generators: is "For you" at least as good as the favourite?

Simulated swipers whose taste is a smooth function of the content (`plgl.bench.swipers`: faces,
melodies, molecules, several kinds each) rate batches of 10 through the public API, the way
`plgl serve` uses it (`plgl.Engine(generator)` with its defaults). After every batch the
For-you pick is scored with the swiper's true utility, normalized: 0 = an average prior item,
1 = the best of 4,000 prior items.

Engines ("method" is "<engine>" for `Session.recommend(1)` and "<engine>+grounded" for
`plgl.navigation.grounded_best` on the same session's model and the items it rated; one run
serves all three, so they see the same swipes; "<engine>+grounded-content" chooses the
favourite to build on by `plgl.navigation.content_scores`, a logistic regression on the rated
items' perceptual maps, instead of the posterior mean):

* "default": `Engine(generator)` as shipped.
* "geometry": the linear model with the generator-geometry prior
  (`LinearPreference(prior=geometry_prior(generator))`).

Metrics per batch: `for_you` (normalized utility of the pick), `favourite` (the best item the
swiper liked so far), `gap` (for_you - favourite: the target is >= 0 at every checkpoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

if TYPE_CHECKING:
    from plgl.generators import Generator
    from plgl.models import LinearPreference

TITLE = "Content swipers on faces, melodies, molecules: For-you pick vs the favourite"
_STEPS = (30, 60, 100)
METRICS = {
    "for_you": Metric("normalized utility of the For-you pick", summary="median", steps=_STEPS),
    "favourite": Metric("best liked so far (normalized)", summary="median", steps=_STEPS),
    "gap": Metric("For-you minus the favourite", summary="median", steps=_STEPS),
}
ENGINES = ("default", "geometry")
RATINGS = {"faces": 100, "melodies": 100, "molecules": 100}
SEEDS = {"faces": (0, 1, 2, 3, 4), "melodies": (0, 1, 2), "molecules": (0, 1, 2)}
_BATCH = 10


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (domain, kind, engine, seed); quick (and tiny) runs take the first kind of
    each domain, one seed and 30 (tiny: 20) swipes."""
    from plgl.bench.swipers import KINDS

    tasks = []
    for domain, kinds in KINDS.items():
        small = quick or is_tiny()
        chosen = tuple(seeds) if seeds else SEEDS[domain][:1] if small else SEEDS[domain]
        ratings = 20 if is_tiny() else 30 if quick else RATINGS[domain]
        n_prior = 50 if is_tiny() else 500 if quick else 4000
        for kind in kinds[:1] if small else kinds:
            for engine in ENGINES:
                for seed in chosen:
                    params = {
                        "domain": domain,
                        "kind": kind,
                        "ratings": ratings,
                        "n_prior": n_prior,
                    }
                    tasks.append(Task("swipers", f"{domain} {kind}", engine, seed, params, 5.0))
    return tasks


def run_task(task: Task) -> list[Row]:
    """Swipe one swiper through one engine; rows for the engine's pick and the grounded one."""
    from plgl.bench.swipers import swiper
    from plgl.engine import Engine
    from plgl.generators import available, get
    from plgl.models import confidence
    from plgl.navigation import content_scores, grounded_best

    domain = str(task.params["domain"])
    if domain not in available():
        raise SuiteSkipped(f"no generator {domain!r} is registered")
    try:
        generator = get(domain)
    except (ImportError, LookupError, FileNotFoundError) as error:
        raise SuiteSkipped(f"domain {domain!r} cannot run here: {error!r}") from error
    seed = int(task.seed or 0)
    user = swiper(domain, str(task.params["kind"]), generator, seed, n_prior=task.params["n_prior"])
    engine = Engine(generator, seed=seed, model=_model(task.method, generator))
    session = engine.session(f"swiper-{seed}")
    answers = np.random.default_rng(20_000 + seed)
    rated: list[np.ndarray] = []
    labels: list[float] = []
    favourite = -np.inf
    rows: list[Row] = []
    grounded_rng = np.random.default_rng(40_000 + seed)
    while session.n_ratings < int(task.params["ratings"]):
        items = session.ask(_BATCH)
        latents = np.array([item.latent for item in items])
        liked = user.likes(latents, answers)
        for item, like in zip(items, liked, strict=True):
            session.tell(item.id, "like" if like else "dislike")
        rated += list(latents)
        labels += [float(x) for x in liked]
        if liked.any():
            favourite = max(favourite, float(user.normalized(latents[liked]).max()))
        step = session.n_ratings
        picks = {task.method: session.recommend(1)[0].latent}
        args = (session.model, np.array(rated), np.array(labels), 1, generator)
        sure = confidence(session.model, step)
        picks[f"{task.method}+grounded"] = grounded_best(*args, grounded_rng, sure)[0]
        scores = content_scores(generator, args[1], args[2])
        picks[f"{task.method}+grounded-content"] = grounded_best(
            *args, grounded_rng, sure, scores=scores
        )[0]
        values = user.normalized(np.array(list(picks.values())))
        for method, value in zip(picks, values, strict=True):
            rows.append(task.row(step, "for_you", value, method=method))
            rows.append(task.row(step, "favourite", favourite, method=method))
            rows.append(task.row(step, "gap", value - favourite, method=method))
    return rows


def _model(engine: str, generator: Generator) -> LinearPreference | None:
    """The engine's model: None (the default), or the linear model with the geometry prior."""
    if engine == "default":
        return None
    from plgl.generators.geometry import geometry_prior
    from plgl.models import LinearPreference

    return LinearPreference(prior=geometry_prior(generator))
