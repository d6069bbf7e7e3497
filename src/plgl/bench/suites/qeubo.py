"""Preferential BO as in the qEUBO paper: see `plgl.bench.protocols.qeubo` for the protocol,
the metric and how plgl plays it.

Problems: Ackley-6, Hartmann-6, Alpine1-7 with Gumbel answer noise. Methods: "plgl", "random
queries" (the same learner on uniform pairs) and "botorch qEUBO" (PairwiseGP + qEUBO, the optional
`bench` extra; it costs seconds per query, so it runs on the first 3 seeds only). Full: 10 trials
x 150 queries (the paper: 4d initial queries, then 150). Quick: one trial, 20 queries, BoTorch 5
queries on Hartmann-6 only. The paper's numbers are curves, not tables, so no published rows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

import numpy as np

from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

TITLE = "Preferential BO as in qEUBO: Ackley-6, Hartmann-6, Alpine1-7, pairs with Gumbel noise"
METRICS = {
    "log_regret": Metric(
        "log10 regret of the posterior-mean maximiser",
        higher_is_better=False,
        steps=(0, 5, 10, 20, 50, 100, 150),
        step_label="queries",
    ),
    "seconds_per_iteration": Metric(
        "seconds per query (model update + query choice), median",
        higher_is_better=False,
        summary="median",
    ),
}
PROBLEMS = ("ackley6", "hartmann6", "alpine1_7")
_BOTORCH_SEEDS = 3


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (problem, method, trial)."""
    chosen = list(seeds) if seeds is not None else list(range(1 if quick else 10))
    n_queries, botorch_queries = (20, 5) if quick else (150, 150)
    if is_tiny():
        chosen, n_queries, botorch_queries = chosen[:1], 2, 1
    tasks = []
    for problem in PROBLEMS:
        for method in ("plgl", "random queries"):
            for seed in chosen:
                params = {"n_queries": n_queries}
                tasks.append(Task("qeubo", problem, method, seed, params, cost=0.02 * n_queries))
        if quick and problem != "hartmann6":
            continue
        for seed in chosen[:_BOTORCH_SEEDS]:
            params = {"n_queries": botorch_queries}
            tasks.append(
                Task("qeubo", problem, "botorch qEUBO", seed, params, cost=1.5 * botorch_queries)
            )
    return tasks


def run_task(task: Task) -> list[Row]:
    """log10 regret after the initial queries (step 0) and after each query; the median seconds
    per query as a scalar."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from plgl.bench.protocols.qeubo import run_qeubo

    if task.method == "botorch qEUBO" and importlib.util.find_spec("botorch") is None:
        raise SuiteSkipped("botorch is not installed: pip install 'plgl[bench]'")
    assert task.seed is not None
    with threadpool_limits(1):  # small matrices: BLAS threads only contend on a shared machine
        curve = run_qeubo(task.method, task.problem, task.seed, task.params["n_queries"])
    rows = [task.row(int(p["step"]), "log_regret", p["log_regret"]) for p in curve]
    seconds = [p["seconds"] for p in curve if "seconds" in p]
    if seconds:
        rows.append(task.row(None, "seconds_per_iteration", float(np.median(seconds))))
    return rows
