"""Content swipers on the real generators: is "For you" at least as good as the favourite?

Simulated swipers whose taste is a smooth function of the content (`plgl.bench.swipers`: faces,
melodies, molecules, several kinds each) answer batches of 10 cards through the public API, the
way `plgl serve` and its web app use it: `Session.next_cards` (swipes, pair cards and champion
duels on choice cards of four, each one answer; a pair is answered with the swiper's own taste
and noise model, `SimulatedUser.prefers`, a choice card by Luce's model with that noise,
`SimulatedUser.chooses`). After every batch the For-you pick is scored with the swiper's true
utility, normalized: 0 = an average prior item, 1 = the best of 4,000 prior items.

Engines (the task's "method"), each `Session.recommend(1)` of its own engine:

* "before": the engine as it shipped before grounding, answered through `ask` (swipes only):
  the isotropic linear model and the closed-form top of the model
  (`Engine(generator, model=LinearPreference(), for_you="top")`).
* "default": `Engine(generator)` as `plgl serve` builds it (the geometry prior where the
  domain ships one, the domain's For-you mode, `plgl.grounding.FOR_YOU`), answered through the
  feed's cards.
* "default-ask": the same engine answered through `ask` (swipes only: no pair card, no duel).
* "grounded" / "judged": the default engine with the other For-you mode, through the cards
  (the measurement behind each domain's choice).
* "latent" / "content": the default engine with the other model (`plgl.engine.MODELS`: the
  geometry-prior `LinearPreference` or `ContentPreference`), through the cards (the
  measurement behind each domain's default model).

Full runs of faces take "default", "default-ask" and the other model only (faces cost most).

Metrics per batch: `for_you` (normalized utility of the pick), `favourite` (the best item the
swiper rated positively so far: liked in a swipe or chosen in a pair), `gap` (for_you -
favourite: the target is >= 0 at every checkpoint), `below` (1 where the pick is below the
favourite: its mean is the share of runs), `new` (1 where the pick is new content rather than
an item shown before, a duel's winning challenger included).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from plgl.bench.cards import answer as _answer  # the name the benchmarks import
from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

if TYPE_CHECKING:
    from plgl.bench.swipers import ContentSwiper
    from plgl.engine import Engine

TITLE = "Content swipers on faces, melodies, molecules: For-you pick vs the favourite"
_STEPS = (30, 60, 100)


def pick_metrics(steps: tuple[int, ...]) -> dict[str, Metric]:
    """The For-you pick against the favourite at `steps` answers: `for_you`, `favourite` and
    `below` (module docstring), as every suite of content swipers reports them."""
    return {
        "for_you": Metric("normalized utility of the For-you pick", summary="median", steps=steps),
        "favourite": Metric("best liked so far (normalized)", summary="median", steps=steps),
        "below": Metric("share of runs below the favourite", higher_is_better=False, steps=steps),
    }


METRICS = {
    **pick_metrics(_STEPS),
    "gap": Metric("For-you minus the favourite", summary="median", steps=_STEPS),
    "new": Metric("share of picks that are new content", steps=_STEPS),
}
ENGINES = ("before", "default", "default-ask", "other", "other model")
"""Engines run: "other" is the For-you mode, "other model" the model, the domain does not use
by default."""
ASK = "-ask"  # an engine answered through `ask` (swipes only) rather than the feed's cards
RATINGS = {"faces": 100, "melodies": 100, "molecules": 100}
SEEDS = {"faces": (0, 1, 2, 3, 4), "melodies": (0, 1, 2), "molecules": (0, 1, 2)}
_BATCH = 10


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (domain, kind, seed), running every engine on the same swiper (its
    normalization decodes `n_prior` items: the costliest part); full runs of faces take the
    default engine's two feeds only. Quick (and tiny) runs take the first kind of
    each domain, one seed and 30 (tiny: 20) answers."""
    from plgl.bench.swipers import KINDS

    tasks = []
    for domain, kinds in KINDS.items():
        small = quick or is_tiny()
        chosen = tuple(seeds) if seeds else SEEDS[domain][:1] if small else SEEDS[domain]
        engines = [_other(domain) if e == "other" else e for e in ENGINES]
        engines = [_other_model(domain) if e == "other model" else e for e in engines]
        if domain == "faces" and not small:  # faces cost most: the default feeds, other model
            engines = ["default", "default" + ASK, _other_model(domain)]
        params = {
            "domain": domain,
            "ratings": 20 if is_tiny() else 30 if quick else RATINGS[domain],
            "n_prior": 50 if is_tiny() else 500 if quick else 4000,
            "engines": engines,
        }
        for kind in kinds[:1] if small else kinds:
            for seed in chosen:
                task_params = {**params, "kind": kind}
                method = "+".join(engines)
                cost = 5.0 * len(engines)
                tasks.append(Task("swipers", f"{domain} {kind}", method, seed, task_params, cost))
    return tasks


def run_task(task: Task) -> list[Row]:
    """Swipe one swiper through one engine, batches of 10; rows for its For-you pick."""
    from plgl.bench.swipers import swiper
    from plgl.engine import MODELS, Engine, model_named
    from plgl.generators import available, get
    from plgl.models import LinearPreference

    domain = str(task.params["domain"])
    if domain not in available():
        raise SuiteSkipped(f"no generator {domain!r} is registered")
    try:
        generator = get(domain)
    except (ImportError, LookupError, FileNotFoundError) as error:
        raise SuiteSkipped(f"domain {domain!r} cannot run here: {error!r}") from error
    seed = int(task.seed or 0)
    user = swiper(domain, str(task.params["kind"]), generator, seed, n_prior=task.params["n_prior"])
    rows: list[Row] = []
    for method in task.params["engines"]:
        if method == "before":
            engine = Engine(generator, seed=seed, model=LinearPreference(), for_you="top")
        elif method in MODELS:
            engine = Engine(generator, seed=seed, model=model_named(method, generator))
        else:
            mode = None if method.startswith("default") else method
            engine = Engine(generator, seed=seed, for_you=mode)
        with engine:
            rows += swipe(task, method, engine, user, seed)
    return rows


def swipe(task: Task, method: str, engine: Engine, user: ContentSwiper, seed: int) -> list[Row]:
    """Rows of one swiper answering batches of 10 through one engine, the For-you pick after
    each: the web app's cards (swipes and pair cards, each one answer) or, for "before" and
    the "-ask" engines, swipes of `ask` only."""
    session = engine.session(f"swiper-{seed}")
    answers = np.random.default_rng(20_000 + seed)
    cards = method != "before" and not method.endswith(ASK)
    favourite = -np.inf
    rows: list[Row] = []
    while session.n_ratings < int(task.params["ratings"]):
        n = _BATCH - session.n_ratings % _BATCH  # checkpoints at multiples of the batch
        batch = session.next_cards(n) if cards else [(item,) for item in session.ask(n)]
        answered = [_answer(session, user, card, answers) for card in batch]
        positive = [latent for latent in answered if latent is not None]
        if positive:
            favourite = max(favourite, float(user.normalized(np.array(positive)).max()))
        pick = session.recommend(1)[0]
        value = float(user.normalized(pick.latent[None])[0])
        step = session.n_ratings
        for metric, number in (
            ("for_you", value),
            ("favourite", favourite),
            ("gap", value - favourite),
            ("below", float(value < favourite - 1e-9)),
            ("new", float(pick.source == "recommend")),
        ):
            rows.append(task.row(step, metric, number, method=method))
    return rows


def _other(domain: str) -> str:
    """The For-you mode a built-in domain does not use by default."""
    from plgl.grounding import FOR_YOU

    return "judged" if FOR_YOU.get(domain, "grounded") == "grounded" else "grounded"


def _other_model(domain: str) -> str:
    """The model (`plgl.engine.MODELS`) a built-in domain does not use by default."""
    from plgl.engine import DEFAULT_MODEL

    return "latent" if DEFAULT_MODEL.get(domain, "latent") == "content" else "content"
