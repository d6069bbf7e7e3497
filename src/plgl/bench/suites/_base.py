"""The pieces every benchmark suite shares: a task, a metric's description, result rows, skips.

See `plgl.bench.suites` for the whole suite interface.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TINY_ENV = "PLGL_BENCH_TINY"
"""Set to "1" (tests only) to make suites that support it plan their smallest runs: every code
path runs, the numbers mean nothing. `plgl bench --help` documents it."""

Row = dict[str, Any]
"""One JSON-native result: suite, problem, method, seed, step, metric, value (+ extras)."""


class SuiteSkipped(Exception):  # noqa: N818 - it is an outcome, not a failure
    """Raised by `plan` or `run_task` when a suite (or one task) cannot run here, with the reason.

    >>> str(SuiteSkipped("botorch is not installed: pip install 'plgl[bench]'"))
    "botorch is not installed: pip install 'plgl[bench]'"
    """


@dataclass(frozen=True)
class Task:
    """One unit of work for the progress bar, e.g. one (problem, method, seed).

    Args:
        suite: the suite's registry name ("latent", ...).
        problem: what is solved, e.g. "linear d=16"; one report table and plot per problem.
        method: who solves it, e.g. "plgl", "naive", "floor", "published: MCMV".
        seed: the simulated user / trial; None for reference values (floor, published numbers).
        params: anything else `run_task` needs (JSON-native values; not hashed).
        cost: expected run time relative to the suite's other tasks (sizes the progress bar).

    >>> Task("latent", "linear d=16", "plgl", 0, {"d": 16}).label
    'latent / linear d=16 / plgl / seed 0'
    """

    suite: str
    problem: str
    method: str
    seed: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    cost: float = 1.0

    @property
    def label(self) -> str:
        seed = "" if self.seed is None else f" / seed {self.seed}"
        return f"{self.suite} / {self.problem} / {self.method}{seed}"

    def row(self, step: int | None, metric: str, value: float, **extra: Any) -> Row:
        """A result row of this task (NaN and infinities become None: JSON has no such numbers).

        >>> Task("latent", "p", "plgl", 1).row(10, "top1", 0.5)["value"]
        0.5
        """
        number = float(value)
        return {
            "suite": self.suite,
            "problem": self.problem,
            "method": self.method,
            "seed": self.seed,
            "step": step,
            "metric": metric,
            "value": number if math.isfinite(number) else None,
            **extra,
        }


@dataclass(frozen=True)
class Metric:
    """How the report and the plots treat one metric of a suite.

    Args:
        label: the metric's name in tables and on plot axes.
        higher_is_better: direction, for "steps to reach" (>= level, or <= level when lower).
        summary: "mean" (mean ± standard error over seeds) or "median" (median [IQR]).
        log_scale: plot the values on a log axis (regret, squared error, milliseconds).
        reach: if set, the report adds a "steps to reach this level" table for the metric.
        steps: the steps shown as table columns (those beyond a problem's horizon are dropped and
            the last step is always shown); None picks up to six spread over the horizon.
        step_label: what a step counts ("ratings", "queries", "iterations").
    """

    label: str
    higher_is_better: bool = True
    summary: Literal["mean", "median"] = "mean"
    log_scale: bool = False
    reach: float | None = None
    steps: tuple[int, ...] | None = None
    step_label: str = "ratings"


def is_tiny() -> bool:
    """Whether the tests asked for the smallest runs (see TINY_ENV)."""
    return os.environ.get(TINY_ENV, "") == "1"
