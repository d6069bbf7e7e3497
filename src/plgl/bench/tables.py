"""Result rows as tables: per metric and method, a summary over seeds at chosen steps; the steps
a method needed to reach a level; the scalar metrics; and their Markdown form.

Generic over rows `{"suite", "problem", "method", "seed", "step", "metric", "value"}`: mean ± s.e.
or median [IQR] over seeds, as the suite's `Metric` says. Rows with seed None are reference values
(floor, published numbers).

>>> rows = [{"suite": "s", "problem": "p", "method": "m", "seed": s, "step": n, "metric": "u",
...          "value": v} for s, curve in enumerate([[0.5, 0.95], [0.8, 0.85]])
...          for n, v in zip((10, 20), curve)]
>>> reach_table(rows, "u", 0.9, higher_is_better=True)
[ReachRow(method='m', median=inf, reached=1, seeds=2, horizon=20)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from plgl.bench.suites import Metric, Row

MAX_COLUMNS = 6


@dataclass(frozen=True)
class ReachRow:
    """Steps a method needed to reach a level: median over seeds (inf: the median seed never
    did), how many seeds reached it, of how many, and the longest horizon run."""

    method: str
    median: float
    reached: int
    seeds: int
    horizon: int


def value_table(
    rows: Sequence[Row], metric: str, spec: Metric
) -> tuple[list[int], list[list[str]]]:
    """(steps shown, [[method, cell per step..., seeds]]) for one metric of one problem.

    A seed's value at step N is its last value at a step <= N, shown only if the seed ran to N.
    Reference rows drawn as lines ("vline"/"hline") belong to the plots and reach tables.
    """
    curves = _curves(r for r in rows if r["metric"] == metric and r.get("draw") is None)
    steps = _columns(curves, spec)
    table: list[list[str]] = []
    for method, seeds in curves.items():
        cells = [_summary([_value_at(c, n) for c in seeds.values()], spec) for n in steps]
        count = "ref" if None in seeds else str(len(seeds))
        table.append([method, *cells, count])
    return steps, table


def reach_table(
    rows: Sequence[Row], metric: str, level: float, higher_is_better: bool = True
) -> list[ReachRow]:
    """Per method: the median over seeds of the first step at which `metric` reached `level`
    (>= level, or <= when lower is better; inf when not reached), and how many seeds reached it.
    """
    table: list[ReachRow] = []
    for method, seeds in _curves(r for r in rows if r["metric"] == metric).items():
        firsts = [_first_reach(curve, level, higher_is_better) for curve in seeds.values()]
        reached = sum(math.isfinite(f) for f in firsts)
        horizon = max(step for curve in seeds.values() for step, _ in curve)
        table.append(ReachRow(method, float(np.median(firsts)), reached, len(firsts), horizon))
    return table


def scalar_table(
    rows: Sequence[Row], metrics: dict[str, Metric]
) -> tuple[list[str], list[list[str]]]:
    """(metric names, [[method, cell per metric...]]) for the rows whose step is None."""
    scalars = [r for r in rows if r["step"] is None]
    names = list(dict.fromkeys(r["metric"] for r in scalars))
    methods = _methods(scalars)
    table = []
    for method in methods:
        cells = []
        for name in names:
            values = [r["value"] for r in scalars if r["method"] == method and r["metric"] == name]
            cells.append(_summary(values, metrics.get(name, Metric(name))) if values else "-")
        table.append([method, *cells])
    return names, table


def fmt(value: float) -> str:
    """A number in a table: 3 significant figures, thousands separated, tiny ones in e-notation.

    >>> [fmt(x) for x in (0.0, 0.912, 21.14, 1234.5, 0.00041)]
    ['0', '0.91', '21.1', '1,234', '4.1e-04']
    """
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 1000:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 0.1:
        return f"{value:.2f}"
    if size >= 0.001:
        return f"{value:.3f}"
    return f"{value:.1e}"


def markdown(header: list[str], table: list[list[str]]) -> str:
    """A Markdown table: a header row and one row per list of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ internals
def _curves(rows: Iterable[Row]) -> dict[str, dict[int | None, list[tuple[int, float]]]]:
    """method -> seed -> [(step, value)] sorted by step; seeded methods first, references last."""
    out: dict[str, dict[int | None, list[tuple[int, float]]]] = {}
    for row in rows:
        if row["step"] is None or row["value"] is None:
            continue
        out.setdefault(row["method"], {}).setdefault(row["seed"], []).append(
            (int(row["step"]), float(row["value"]))
        )
    for seeds in out.values():
        for curve in seeds.values():
            curve.sort()
    return dict(sorted(out.items(), key=lambda item: None in item[1]))


def _columns(
    curves: dict[str, dict[int | None, list[tuple[int, float]]]], spec: Metric
) -> list[int]:
    seeded = [c for seeds in curves.values() for s, c in seeds.items() if s is not None]
    steps = sorted({step for curve in seeded or _all_curves(curves) for step, _ in curve})
    if not steps:
        return []
    if spec.steps is not None:
        shown = [n for n in spec.steps if n <= steps[-1]]
    elif len(steps) <= MAX_COLUMNS:
        shown = steps
    else:
        picks = np.linspace(0, len(steps) - 1, MAX_COLUMNS).round().astype(int)
        shown = [steps[i] for i in dict.fromkeys(picks.tolist())]
    return shown if steps[-1] in shown else [*shown, steps[-1]]


def _all_curves(
    curves: dict[str, dict[int | None, list[tuple[int, float]]]],
) -> list[list[tuple[int, float]]]:
    """Every curve, references included."""
    return [c for seeds in curves.values() for c in seeds.values()]


def _value_at(curve: list[tuple[int, float]], n: int) -> float | None:
    if curve[-1][0] < n:
        return None  # this run ended before step n
    before = [value for step, value in curve if step <= n]
    return before[-1] if before else None


def _first_reach(curve: list[tuple[int, float]], level: float, higher: bool) -> float:
    for step, value in curve:
        if (value >= level) if higher else (value <= level):
            return float(step)
    return math.inf


def _summary(values: Sequence[float | None], spec: Metric) -> str:
    data = np.array([v for v in values if v is not None], dtype=float)
    if len(data) == 0:
        return "-"
    if len(data) == 1:
        return fmt(float(data[0]))
    if spec.summary == "median":
        q25, q50, q75 = np.percentile(data, [25, 50, 75])
        return f"{fmt(float(q50))} [{fmt(float(q25))}, {fmt(float(q75))}]"
    se = float(data.std(ddof=1) / math.sqrt(len(data)))
    return f"{fmt(float(data.mean()))} ± {fmt(se)}"


def _methods(rows: Iterable[Row]) -> list[str]:
    rows = list(rows)
    seeded = [r["method"] for r in rows if r["seed"] is not None]
    return list(dict.fromkeys([*seeded, *(r["method"] for r in rows)]))
