"""Benchmark suites: the registry and the interface every suite follows.

A suite is a module `plgl.bench.suites.<name>` registered in `SUITES` (name -> module path; the
module is imported only when the suite runs). It exposes:

* ``TITLE: str`` - one line, the report's section heading.
* ``METRICS: dict[str, Metric]`` (optional) - how the report and the plots treat each metric the
  suite emits (label, direction, mean ± s.e. or median [IQR], log axis, a "steps to reach" level,
  the steps shown as table columns). A metric not listed gets `Metric(label=name)`.
* ``def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]`` - the units of work, cheap
  to compute (no heavy imports here). `seeds` None means the suite's own default seeds (those of
  the protocol it reproduces); `quick` means the CI budget: the whole `plgl bench --suite all
  --quick` must finish in under 3 minutes on the 2-core development machine, so a suite's quick
  plan should take about 20-30 s there (say in `TITLE` or the rows what quick leaves out).
  Suites may also honour `is_tiny()` (tests only: the smallest run that exercises every path).
* ``def run_task(task: Task) -> list[Row]`` - do one task and return its rows, JSON-native:
  ``{"suite", "problem", "method", "seed", "step", "metric", "value"}`` plus optional extras
  (e.g. "seconds", "note"). `Task.row(step, metric, value, **extra)` builds one. `step` is the
  x axis of a learning curve (ratings, queries, iterations) or None for a scalar (a latency, a
  time per iteration); `value` None means "not a number" (NaN/inf are not JSON).

Reference values are rows too, made by ordinary tasks: the information-theoretic floor (method
"floor") and published peer numbers (method "published: <name>"), with seed None. An extra
``"draw"`` tells the plots how to show a reference: "vline" (a dashed vertical line at `step`,
e.g. the floor's ratings to reach 0.9), "hline" (a dashed horizontal line at `value`), or
absent (a dashed curve, or a marker for a single point).

A suite that cannot run here (a missing optional dependency, a domain not built yet) raises
`SuiteSkipped(reason)` from `plan` (the whole suite) or from `run_task` (that task only); the
command reports it as skipped with the reason and goes on. Any other exception in a task is
recorded as an error row, the run goes on, and `plgl bench` exits 1 at the end.

>>> " ".join(sorted(SUITES))  # doctest: +NORMALIZE_WHITESPACE
'cache criteria domains koyama latency latent pairs population population-faces prefgen qeubo
swipers'
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Protocol, cast

from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

SUITES: dict[str, str] = {
    "latent": "plgl.bench.suites.latent",
    "pairs": "plgl.bench.suites.pairs",
    "prefgen": "plgl.bench.suites.prefgen",
    "qeubo": "plgl.bench.suites.qeubo",
    "koyama": "plgl.bench.suites.koyama",
    "domains": "plgl.bench.suites.domains",
    "latency": "plgl.bench.suites.latency",
    "cache": "plgl.bench.suites.cache",
    "criteria": "plgl.bench.suites.criteria",
    "population": "plgl.bench.suites.population",
    "swipers": "plgl.bench.suites.swipers",
    "population-faces": "plgl.bench.suites.population_faces",
}
"""Suite name -> module path, in the order `--suite all` runs them."""


class Suite(Protocol):
    """What a suite module looks like (see the module docstring)."""

    TITLE: str

    def plan(self, quick: bool, seeds: Sequence[int] | None) -> list[Task]: ...

    def run_task(self, task: Task) -> list[Row]: ...


def load(name: str) -> Suite:
    """Import the suite `name`; a suite whose module does not exist yet raises SuiteSkipped.

    >>> load("latent").TITLE.startswith("Binary swipes")
    True
    """
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; expected one of {', '.join(SUITES)}")
    try:
        module: ModuleType = importlib.import_module(SUITES[name])
    except ModuleNotFoundError as error:
        if error.name != SUITES[name]:
            raise
        raise SuiteSkipped(f"suite module {SUITES[name]} is not written yet") from error
    return cast(Suite, module)


def metrics_of(suite: Suite) -> dict[str, Metric]:
    """The suite's METRICS, or an empty dict."""
    return dict(getattr(suite, "METRICS", {}))


__all__ = [
    "SUITES",
    "Metric",
    "Row",
    "Suite",
    "SuiteSkipped",
    "Task",
    "is_tiny",
    "load",
    "metrics_of",
]
