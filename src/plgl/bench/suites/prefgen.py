"""PrefGen's localisation protocol: see `plgl.bench.protocols.prefgen` for the protocol, the exact
metric definitions and how plgl plays it.

Problems: the three oracles ("noiseless", "20% flips", "sigma 0.2"). Methods: "plgl" (queries
chosen for information) and "random queries" (the same learner on random pairs). Seeds: the 20
targets of PrefGen's test set become seeds 0-19 (quick: 3 targets, 30 queries each). Published
rows: PrefGen's MCMV and random-query numbers at 30 queries.
"""

from __future__ import annotations

from collections.abc import Sequence

from plgl.bench.suites._base import Metric, Row, Task, is_tiny

TITLE = "PrefGen: paired comparisons toward a hidden ideal point (2-D attributes, 30 queries)"
_STEPS = (5, 10, 15, 20, 25, 30)
METRICS = {
    "squared_error": Metric(
        "squared error |a_hat - a*|^2",
        higher_is_better=False,
        summary="median",
        log_scale=True,
        steps=_STEPS,
        step_label="queries",
    ),
    "percentile": Metric(
        "percentile rank among 5,000 random samples (%)",
        higher_is_better=False,
        summary="mean",
        reach=1.0,
        steps=_STEPS,
        step_label="queries",
    ),
    "constraints": Metric(
        "held-out pairs satisfied (%)", summary="mean", steps=_STEPS, step_label="queries"
    ),
}
PROBLEMS = {"noiseless": "noiseless", "20% flips": "flips", "sigma 0.2": "sigma"}
"""Problem name in the report -> oracle of `plgl.bench.protocols.prefgen`."""

# (problem, method, metric, value, note): PrefGen's numbers at 30 queries
# (Helbling et al. 2023; see docs/references.md).
PUBLISHED = (
    ("noiseless", "published: MCMV", "squared_error", 1.7e-5, "PrefGen, MCMV, noiseless"),
    ("noiseless", "published: MCMV", "percentile", 0.003, "PrefGen, MCMV, noiseless"),
    ("noiseless", "published: MCMV", "constraints", 99.8, "PrefGen, MCMV, noiseless"),
    ("noiseless", "published: random", "squared_error", 1.9e-2, "PrefGen, random queries"),
    ("noiseless", "published: random", "percentile", 5.7, "PrefGen, random queries"),
    ("20% flips", "published: MCMV", "squared_error", 9.4e-4, "PrefGen, MCMV, median MSE"),
    ("sigma 0.2", "published: MCMV", "percentile", 2.3, "PrefGen, MCMV, mean percentile"),
)


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (oracle, method, target), and one task of published numbers per oracle."""
    n_queries = 4 if is_tiny() else 30
    chosen = list(seeds) if seeds is not None else list(range(3 if quick else 20))
    if is_tiny():
        chosen = chosen[:1]
    tasks = [Task("prefgen", p, "published", None, {}, cost=0.0) for p in PROBLEMS]
    for problem, noise in PROBLEMS.items():
        for method in ("plgl", "random queries"):
            cost = 1.0 if method == "plgl" else 0.1
            for seed in chosen:
                params = {"noise": noise, "n_queries": n_queries}
                tasks.append(Task("prefgen", problem, method, seed, params, cost=cost))
    return tasks


def run_task(task: Task) -> list[Row]:
    """The three metrics after each query (constraints in percent), or the published rows."""
    if task.method == "published":
        return [
            Task("prefgen", problem, method).row(30, metric, value, draw="hline", note=note)
            for problem, method, metric, value, note in PUBLISHED
            if problem == task.problem
        ]
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from plgl.bench.protocols.prefgen import run_prefgen

    assert task.seed is not None
    with threadpool_limits(1):  # tiny matrices: BLAS threads only contend on a shared machine
        curve = run_prefgen(task.method, task.params["noise"], task.seed, task.params["n_queries"])
    rows = []
    for point in curve:
        step = int(point["step"])
        rows.append(task.row(step, "squared_error", point["squared_error"]))
        rows.append(task.row(step, "percentile", point["percentile"]))
        rows.append(task.row(step, "constraints", 100.0 * point["constraints"]))
    return rows
