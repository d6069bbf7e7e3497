"""Pairwise questions in the feed: likes and dislikes plus pair cards, in Gaussian latents.

Simulated users of the latent suite (logistic answer noise, temperature 0.25) answer the default
Engine's feed: the linear user at d = 16 and 64 (20 seeds, every method) and the single ideal
point (5 seeds, swipes and feed). A card is one answer, a swipe or a comparison. After every
answer recommendation #1 (`Session.recommend(1)`) is scored with the user's true utility (0 = a
random prior sample, 1 = the best point of the ball), so "answers to 0.9" is exact, not rounded
up to a batch of 10 as in the latent suite.

Methods (all the default Engine on the identity generator, seed 1000·s+7):
`swipes` (today's feed: `Session.ask(10)`, likes and dislikes only), `feed` (the app's feed as
shipped: `Session.next_cards(5)`, pair cards where a comparison teaches more than a swipe, and
about a fifth swipes once the taste is learned),
`feed-1` and `feed-10` (the same, one card or ten per request: how much adaptivity matters),
`feed-two-swipes` (five per request, a pair card only where it teaches more than two swipes).

Metrics: `top1` per answer (the report adds the answers it took to reach 0.9), `like_rate` (the
user's probability of liking what the card showed, both items of a pair, averaged over the last
10 answers), and per run `like_rate_learning` (the same over every answer until 0.9 was reached,
or the whole run) and `pair_share` (the share of cards that were pairs).

Seeds: user s draws its taste from default_rng(10000+s) and its answers from default_rng(20000+s)
for every method.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from plgl.bench.suites._base import Metric, Row, Task, is_tiny
from plgl.bench.users import make_user

TITLE = "Pairwise questions in the feed: swipes plus pair cards (d = 16, 64)"
LEVEL = 0.9
_STEPS = (10, 20, 35, 50, 80, 140, 200, 320)
METRICS = {
    "top1": Metric(
        "normalized utility of recommendation #1", reach=LEVEL, steps=_STEPS, step_label="answers"
    ),
    "like_rate": Metric("like-rate of the last 10 cards", steps=_STEPS, step_label="answers"),
    "like_rate_learning": Metric("like-rate of the cards until 0.9 was reached"),
    "pair_share": Metric("share of cards that were pairs"),
    "seconds": Metric("wall seconds per run", higher_is_better=False, summary="median"),
}
METHODS = {  # name -> (cards per request, swipes a pair card must beat; None: swipes only)
    "swipes": (10, None),
    "feed": (5, 1),
    "feed-1": (1, 1),
    "feed-10": (10, 1),
    "feed-two-swipes": (5, 2),
}


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (user kind, dimension, method, seed)."""
    problems: list[tuple[str, int, int, tuple[int, ...], tuple[str, ...]]]
    both = ("swipes", "feed")
    if is_tiny():
        problems = [("linear", 8, 12, _pick(seeds, (0,)), both)]
    elif quick:
        problems = [("linear", 16, 60, _pick(seeds, (0, 1, 2)), both)]
    else:
        twenty, five = _pick(seeds, tuple(range(20))), _pick(seeds, tuple(range(5)))
        problems = [
            ("linear", 16, 120, twenty, tuple(METHODS)),
            ("linear", 64, 320, twenty, tuple(METHODS)),
            ("ideal", 16, 160, five, both),  # a taste the linear model only approximates
            ("ideal", 64, 320, five, both),
        ]
    tasks = []
    for kind, d, horizon, chosen, methods in problems:
        for method in methods:
            cost = horizon * (0.002 if d == 16 else 0.006) * (3 if method == "feed-1" else 1)
            params = {"kind": kind, "d": d, "horizon": horizon}
            for s in chosen:
                tasks.append(Task("pairs", f"{kind} d={d}", method, s, params, cost=cost))
    return tasks


def run_task(task: Task) -> list[Row]:
    """One simulated user answers `horizon` cards of one feed; rows per answer and per run."""
    import plgl
    from plgl.bench.cards import run_cards

    if task.seed is None or task.method not in METHODS:
        raise ValueError(f"task {task.label} needs a seed and one of the methods {list(METHODS)}")
    d, horizon = int(task.params["d"]), int(task.params["horizon"])
    batch, swipes = METHODS[task.method]
    user = make_user(str(task.params.get("kind", "linear")), d, task.seed, horizon=horizon)
    engine = plgl.Engine(plgl.generators.get("identity", latent_dim=d), seed=1000 * task.seed + 7)
    started = time.perf_counter()
    curve = run_cards(engine, user, horizon, batch, task.seed, swipes=swipes)
    seconds = time.perf_counter() - started
    rows = [task.row(n + 1, "top1", value) for n, value in enumerate(curve.best)]
    rows += [
        task.row(n, "like_rate", curve.like_rate_until(n, last=10))
        for n in range(10, horizon + 1, 10)
    ]
    reached = curve.answers_to(LEVEL)
    return [
        *rows,
        task.row(None, "like_rate_learning", curve.like_rate_until(reached)),
        task.row(None, "pair_share", sum(curve.pair) / len(curve.pair)),
        task.row(None, "seconds", seconds),
    ]


def _pick(seeds: Sequence[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return default if seeds is None else tuple(seeds)
