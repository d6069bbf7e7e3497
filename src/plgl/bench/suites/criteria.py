"""Several tastes at once: multi-criteria ratings with constraints, and context profiles.

Criteria problems: a simulated user has two or three criteria, each a hidden direction
(`plgl.bench.multi_users`; the first two pull against each other, cosine -0.5, or -0.9 in the
hard problem, where the best feasible point lies on a steep trade-off). Each criterion
gets batches of 10 like/dislike ratings on items the default sampler (`MixtureSampler`) picks
for that criterion's model. After every 20 ratings per criterion, 10
recommendations `maximize=<last>, at_least={...}` are scored with the true probabilities:
`meets` (share meeting every bound), `within` (share whose maximized criterion is within 0.1 of
the best feasible point, found by brute force over 200,000 prior samples on the shell) and
`gap` (best feasible minus the recommendation's, mean). Methods: `plgl` (each bound met with
posterior probability 0.9, a chance constraint; the default), `plgl confidence 0.95` and
`plgl mean bound` (the posterior mean meets it); `feasible` is the share of runs in which the
model found any latent it is sure enough meets the bounds (else nothing is recommended and
`meets` counts 0). A fourth problem draws the Pareto front of the conflicting pair (cosine -0.9:
predicted, true at the same latents, and the brute-force truth) after 60 ratings each.

Context problems: a user with two contexts whose tastes differ (cosine 0) or share most (0.8)
rates 20 items in one, then 20 in the other, alternating, up to 80 in each. Methods: `plgl
contexts` (each context's model starts from the others' ratings, widened by a share chosen by
its own ratings: `plgl.criteria.contexts`), `plgl contexts widen 1` (a fixed share),
`independent` (one plain model per context) and `merged` (one model for every rating).
Metric: normalized utility of recommendation #1 for the context just rated, by the ratings given
in it (mean over both contexts).

Seeds: taste s from default_rng(10000+s), answers from default_rng(20000+s), the brute force
from default_rng(30000+s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from plgl.bench.multi_users import MultiTasteUser, directions
from plgl.bench.suites._base import Metric, Row, Task, is_tiny

TITLE = "Several tastes: criteria with constraints, and context profiles"
METRICS = {
    "feasible": Metric("share of runs where the model found latents meeting the bounds"),
    "meets": Metric("share of recommendations meeting every at_least bound", reach=0.9),
    "within": Metric("share within 0.1 of the best feasible maximized probability", reach=0.9),
    "gap": Metric("best feasible minus recommended probability", higher_is_better=False),
    "top1": Metric("normalized utility of recommendation #1 in the context", reach=0.9),
    "front": Metric(
        "probability of the maximized criterion (calm)",
        step_label="probability of the bounded criterion, energy (%)",
    ),
}
NOISE = 0.25  # the benchmark's default answer noise (plgl.bench.users)
_CRITERIA = {
    "two criteria d=16": {
        "names": ["energy", "calm"],
        "cosines": [-0.5],
        "maximize": "calm",
        "at_least": {"energy": 0.8},
    },
    "two criteria in strong conflict (cos -0.9) d=16": {
        "names": ["energy", "calm"],
        "cosines": [-0.9],
        "maximize": "calm",
        "at_least": {"energy": 0.8},
    },
    "three criteria d=16": {
        "names": ["energy", "mood", "calm"],
        "cosines": [-0.5, 0.0],
        "maximize": "calm",
        "at_least": {"energy": 0.8, "mood": 0.6},
    },
}
_CRITERIA_METHODS = {"plgl": 0.9, "plgl confidence 0.95": 0.95, "plgl mean bound": 0.5}
"""Method -> the posterior confidence each bound is met with (0.5: the model's mean)."""
_CONTEXTS = {"contexts differ (cos 0) d=16": 0.0, "contexts share (cos 0.8) d=16": 0.8}
_CONTEXT_METHODS = ("plgl contexts", "plgl contexts widen 1", "independent", "merged")


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """Tasks per (problem, method, seed)."""
    tiny = is_tiny()
    default = (0,) if tiny else (0, 1, 2) if quick else tuple(range(10))
    chosen = tuple(seeds) if seeds is not None else default
    per = 20 if tiny else 60
    tasks = [
        Task("criteria", name, method, s, {**spec, "per": per}, cost=2.0)
        for name, spec in _CRITERIA.items()
        for method in _CRITERIA_METHODS
        for s in chosen
    ]
    # The front of the conflicting pair: at cosine -0.5 both criteria saturate together.
    spec = {**_CRITERIA["two criteria in strong conflict (cos -0.9) d=16"], "per": per}
    tasks.append(Task("criteria", "Pareto front (cos -0.9) d=16", "plgl", chosen[0], spec, 2.0))
    each = 20 if tiny else 80
    for name, cosine in _CONTEXTS.items():
        for method in _CONTEXT_METHODS[:2] if tiny else _CONTEXT_METHODS:
            for s in chosen:
                params = {"cosine": cosine, "each": each}
                tasks.append(Task("criteria", name, method, s, params, cost=1.0))
    return tasks


def run_task(task: Task) -> list[Row]:
    """One simulated user through one method."""
    if task.seed is None:
        raise ValueError(f"task {task.label} needs a seed")
    if "cosine" in task.params:
        from plgl.bench.contexts_run import run_contexts

        return run_contexts(task)
    if task.problem.startswith("Pareto"):
        return _front(task)
    return _criteria(task)


def _criteria(task: Task) -> list[Row]:
    from plgl.criteria import OVERALL, find_latents, goal_for
    from plgl.errors import InfeasibleConstraintsError

    p = task.params
    user, criteria, teach = _taught(task)
    maximize, bounds = str(p["maximize"]), dict(p["at_least"])
    best = user.best_feasible(maximize, bounds, np.random.default_rng(30_000 + int(task.seed or 0)))
    rng = np.random.default_rng(40_000 + int(task.seed or 0))
    rows: list[Row] = []
    for n in range(20, int(p["per"]) + 1, 20):
        teach(n)
        confidence = _CRITERIA_METHODS[task.method]
        models, goal = goal_for(criteria, _fresh(user.d), maximize, bounds, None, confidence)
        try:
            recs = find_latents(models, goal, 10, _identity(user.d), rng, _nothing_unsafe)
        except InfeasibleConstraintsError:
            # The model found no latent it is sure enough of: nothing recommended, none met.
            rows += [task.row(n, "feasible", 0.0), task.row(n, "meets", 0.0)]
            continue
        del models[OVERALL]
        meets = np.ones(len(recs), dtype=bool)
        for name, low in bounds.items():
            meets &= user.probability(name, recs) >= low
        achieved = user.probability(maximize, recs)
        rows += [
            task.row(n, "feasible", 1.0),
            task.row(n, "meets", float(meets.mean())),
            task.row(n, "within", float((achieved >= best - 0.1).mean()), best=best),
            task.row(n, "gap", float(np.mean(best - achieved))),
        ]
    return rows


def _front(task: Task) -> list[Row]:
    from plgl.criteria import front

    p = task.params
    user, criteria, teach = _taught(task)
    teach(int(p["per"]))
    first, second = str(p["maximize"]), next(iter(p["at_least"]))
    rng = np.random.default_rng(40_000 + int(task.seed or 0))
    latents, predicted = front(criteria, first, second, _identity(user.d), rng)
    true_first = user.probability(first, latents)
    true_second = user.probability(second, latents)
    grid, best = user.true_front(first, second, np.random.default_rng(30_000 + int(task.seed or 0)))
    rows: list[Row] = []
    for method, xs, ys, seed in (
        ("plgl (predicted)", predicted[:, 1], predicted[:, 0], task.seed),
        ("plgl (true)", true_second, true_first, task.seed),
        ("brute force (true)", grid, best, None),  # a reference: drawn dashed
    ):
        for x, y in zip(xs, ys, strict=True):
            rows.append(
                {**task.row(round(100 * float(x)), "front", y), "method": method, "seed": seed}
            )
    return rows


def _taught(task: Task) -> tuple[MultiTasteUser, Any, Any]:
    """(user, CriteriaModels, teach(n): rate until n ratings per criterion)."""
    import plgl
    from plgl.criteria import CriteriaModels
    from plgl.samplers import MixtureSampler

    seed = int(task.seed or 0)
    names = list(task.params["names"])
    d = 16
    tastes = directions(d, list(task.params["cosines"]), np.random.default_rng(10_000 + seed))
    user = MultiTasteUser(dict(zip(names, tastes, strict=True)), seed, noise=NOISE)
    criteria = CriteriaModels(plgl.models.LinearPreference(), d)
    generator = _identity(d)
    sampler = MixtureSampler()
    ask_rng = np.random.default_rng(1000 * seed + 7)
    answer_rng = np.random.default_rng(20_000 + seed)

    def teach(n: int) -> None:
        for name in names:
            while criteria.counts().get(name, 0) < n:
                model = criteria.model(name) if name in criteria else _fresh(d)
                candidates = sampler.propose(model, generator, ask_rng)
                picks, _ = sampler.select(model, candidates, 10, ask_rng)
                shown = candidates[picks]
                for latent, liked in zip(shown, user.likes(name, shown, answer_rng), strict=True):
                    criteria.learn(name, latent, int(liked))

    return user, criteria, teach


def _fresh(d: int) -> Any:
    import plgl

    return plgl.models.LinearPreference().start(d)


def _identity(d: int) -> Any:
    import plgl

    return plgl.generators.get("identity", latent_dim=d)


def _nothing_unsafe(latents: np.ndarray) -> np.ndarray:
    return np.zeros(len(latents), dtype=bool)
