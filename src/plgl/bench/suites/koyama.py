"""Koyama's sequential-gallery setting: see `plgl.bench.protocols.koyama` for the protocol, the
metrics and how plgl plays it.

Problems: Rosenbrock and the isotropic Gaussian in d = 5, 10, 15, 20. Methods: "plgl plane" and
"plgl line" (galleries chosen by plgl's model), "random plane", "random line" (the same galleries
along random directions) and "random search". Full: 50 trials x 25 iterations, as in the papers.
Quick: d = 10 only, 1 trial x 10 iterations. The papers' numbers are curves, not tables, so no
published rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from plgl.bench.suites._base import Metric, Row, Task, is_tiny

TITLE = "Koyama's sequential gallery: Rosenbrock and Gaussian, d = 5-20, oracle picks the best"
METRICS = {
    "distance": Metric(
        "distance |x_best - x*|",
        higher_is_better=False,
        steps=(0, 5, 10, 15, 20, 25),
        step_label="iterations",
    ),
    "value": Metric(
        "f(x_best): Gaussian value (max 1); Rosenbrock cost (min 0)",
        steps=(0, 5, 10, 15, 20, 25),
        step_label="iterations",
    ),
}
METHODS = ("plgl plane", "plgl line", "random plane", "random line", "random search")


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (function, dimension, method, trial)."""
    chosen = list(seeds) if seeds is not None else list(range(1 if quick else 50))
    dims, n_iterations = ((10,), 10) if quick else ((5, 10, 15, 20), 25)
    if is_tiny():
        chosen, dims, n_iterations = chosen[:1], (5,), 2
    tasks = []
    for name in ("rosenbrock", "gaussian"):
        for d in dims:
            for method in METHODS:
                cost = (0.05 if method.startswith("plgl") else 0.002) * n_iterations
                params = {"name": name, "dim": d, "n_iterations": n_iterations}
                for seed in chosen:
                    tasks.append(Task("koyama", f"{name} d={d}", method, seed, params, cost=cost))
    return tasks


def run_task(task: Task) -> list[Row]:
    """Distance to the optimum and function value of the current best, per iteration."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    from plgl.bench.protocols.koyama import run_koyama

    assert task.seed is not None
    p = task.params
    with threadpool_limits(1):  # small matrices: BLAS threads only contend on a shared machine
        curve = run_koyama(task.method, p["name"], p["dim"], task.seed, p["n_iterations"])
    rows = []
    for point in curve:
        rows.append(task.row(int(point["step"]), "distance", point["distance"]))
        rows.append(task.row(int(point["step"]), "value", point["value"]))
    return rows
