"""The benchmark report: Markdown tables (and PNG plots, see `plots`) computed from result rows.

Generic over rows `{"suite", "problem", "method", "seed", "step", "metric", "value"}`: per suite
and problem, one table per metric with methods as rows and chosen steps as columns (mean ± s.e.
or median [IQR] over seeds, as the suite's `Metric` says), a "steps to reach" table for metrics
with a `reach` level (median over seeds, and how many seeds got there), and one table of the
scalar metrics (rows whose step is None). Rows with seed None are reference values (floor,
published numbers).

>>> rows = [{"suite": "s", "problem": "p", "method": "m", "seed": s, "step": n, "metric": "u",
...          "value": v} for s, curve in enumerate([[0.5, 0.95], [0.8, 0.85]])
...          for n, v in zip((10, 20), curve)]
>>> reach_table(rows, "u", 0.9, higher_is_better=True)
[ReachRow(method='m', median=inf, reached=1, seeds=2, horizon=20)]
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plgl.bench.suites import SUITES, Metric, Row, SuiteSkipped, load, metrics_of

RESULTS = "results.jsonl"
REPORT = "report.md"
README_FRAGMENT = "readme-fragment.md"
MAX_COLUMNS = 6


@dataclass
class Results:
    """What one `plgl bench` run wrote: the header, the rows, skips, errors, seconds per suite."""

    header: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    skips: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReachRow:
    """Steps a method needed to reach a level: median over seeds (inf: the median seed never
    did), how many seeds reached it, of how many, and the longest horizon run."""

    method: str
    median: float
    reached: int
    seeds: int
    horizon: int


def load_results(path: Path) -> Results:
    """Read results.jsonl: records with "kind" (header, skip, error, timing) or result rows."""
    results = Results()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number} is not JSON: {error}") from error
        kind = record.get("kind")
        if kind == "header":
            results.header = record
        elif kind == "skip":
            results.skips.append(record)
        elif kind == "error":
            results.errors.append(record)
        elif kind == "timing":
            results.timings[record["suite"]] = float(record["seconds"])
            if "cpu" in record:
                results.cpu[record["suite"]] = float(record["cpu"])
        else:
            results.rows.append(record)
    return results


def write_report(results: Results, out: Path) -> list[Path]:
    """Write report.md, the README fragment and the plots into `out`; return their paths."""
    from plgl.bench.plots import plot_metric

    plots: dict[tuple[str, str, str], str] = {}
    for (suite, problem, metric), rows in _curve_groups(results.rows).items():
        name = f"{_slug(suite)}-{_slug(problem)}-{_slug(metric)}.png"
        spec = _metric(suite, metric)
        plot_metric(rows, spec, f"{_title(suite)}\n{problem}", out / name)
        plots[(suite, problem, metric)] = name
    body = render_body(results, plots, level=2)
    report = out / REPORT
    report.write_text(f"# plgl benchmark\n\n{render_header(results)}\n{body}", encoding="utf-8")
    fragment = out / README_FRAGMENT
    fragment.write_text(
        f"{_provenance(results)}\n\n{render_body(results, plots, level=3, headline=True)}",
        encoding="utf-8",
    )
    return [out / RESULTS, report, fragment, *(out / name for name in plots.values())]


def render_header(results: Results) -> str:
    """A table of what ran where: version, commit, date, machine, budget, seconds per suite."""
    h = results.header
    machine = h.get("machine", {})
    lines = ["| | |", "|---|---|"]
    lines += [f"| version | {h.get('version', '?')} |", f"| commit | {h.get('commit') or '?'} |"]
    lines += [f"| date (UTC) | {h.get('date', '?')} |"]
    if machine:
        lines.append(
            f"| machine | {machine.get('processor', '?')}, {machine.get('cpus', '?')} CPUs, "
            f"{machine.get('platform', '?')}; Python {machine.get('python', '?')}, numpy "
            f"{machine.get('numpy', '?')}, torch {machine.get('torch', '?')} "
            f"({machine.get('torch_threads', '?')} thread) |"
        )
    budget = "tiny (tests)" if h.get("tiny") else "quick" if h.get("quick") else "full"
    lines += [f"| budget | {budget} |", f"| seeds | {h.get('seeds') or 'each protocol own'} |"]
    if h.get("only"):
        lines.append(f"| only tasks matching | {', '.join(h['only'])} |")
    if results.timings:
        spent = ", ".join(
            f"{name} {sec:.0f} s"
            + (f" ({results.cpu[name]:.0f} s CPU)" if name in results.cpu else "")
            for name, sec in results.timings.items()
        )
        lines.append(f"| wall time | {spent} |")
    return "\n".join(lines) + "\n"


def render_body(
    results: Results, plots: dict[tuple[str, str, str], str], level: int, headline: bool = False
) -> str:
    """Every suite's section: skips, errors, and per problem its tables, plots and notes.

    `headline` keeps, of the metrics with steps, only those with a `reach` level (the README's
    short form); scalar tables and notes stay."""
    h = "#" * level
    by_suite: dict[str, list[Row]] = defaultdict(list)
    for row in results.rows:
        by_suite[row["suite"]].append(row)
    suites = list(dict.fromkeys([*results.header.get("suites", []), *by_suite]))
    parts: list[str] = []
    for suite in suites:
        seconds = results.timings.get(suite)
        ran = f" ({seconds:.0f} s)" if seconds is not None else ""
        parts.append(f"{h} {_title(suite)} (`{suite}`){ran}\n")
        for skip in (s for s in results.skips if s["suite"] == suite):
            where = " / ".join(skip[k] for k in ("problem", "method") if skip.get(k))
            parts.append(f"- **skipped**{' ' + where if where else ''}: {skip['reason']}\n")
        for error in (e for e in results.errors if e["suite"] == suite):
            parts.append(
                f"- **error** {error['problem']} / {error['method']} / seed {error['seed']}: "
                f"`{error['error']}`\n"
            )
        by_problem: dict[str, list[Row]] = defaultdict(list)
        for row in by_suite.get(suite, []):
            by_problem[row["problem"]].append(row)
        for problem, rows in by_problem.items():
            parts.append(f"{h}# {problem}\n")
            parts.append(_problem_section(suite, problem, rows, plots, h + "##", headline))
    return "\n".join(parts)


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


# ------------------------------------------------------------------------------ internals
def _problem_section(
    suite: str,
    problem: str,
    rows: list[Row],
    plots: dict[tuple[str, str, str], str],
    h: str,
    headline: bool,
) -> str:
    metrics = _metrics(suite)
    parts: list[str] = []
    stepped = list(dict.fromkeys(r["metric"] for r in rows if r["step"] is not None))
    if headline:
        stepped = [m for m in stepped if m in metrics and metrics[m].reach is not None]
    stepped.sort(key=lambda name: list(metrics).index(name) if name in metrics else len(metrics))
    for metric in stepped:
        spec = metrics.get(metric, Metric(metric))
        how = "median [IQR]" if spec.summary == "median" else "mean ± s.e."
        steps, table = value_table(rows, metric, spec)
        if table:
            parts.append(f"{h} {spec.label}: {how} over seeds, by {spec.step_label}\n")
            header = ["method", *(f"N={n}" for n in steps), "seeds"]
            parts.append(_markdown(header, table))
        if spec.reach is not None:
            parts.append(_reach_section(rows, metric, spec, h))
        if (suite, problem, metric) in plots:
            parts.append(f"![{problem}: {spec.label}]({plots[(suite, problem, metric)]})\n")
    names, table = scalar_table(rows, metrics)
    if names:
        labels = [metrics.get(n, Metric(n)).label for n in names]
        parts.append(f"{h} one value per run (over several seeds: mean ± s.e. or median [IQR])\n")
        parts.append(_markdown(["method", *labels], table))
    notes = list(dict.fromkeys(r["note"] for r in rows if r.get("note")))
    parts += [f"- {note}\n" for note in notes]
    return "\n".join(parts)


def _reach_section(rows: list[Row], metric: str, spec: Metric, h: str) -> str:
    assert spec.reach is not None
    sign = ">=" if spec.higher_is_better else "<="
    table = []
    for r in reach_table(rows, metric, spec.reach, spec.higher_is_better):
        ref = r.seeds == 1 and any(x["seed"] is None for x in rows if x["method"] == r.method)
        median = f"{r.median:g}" if math.isfinite(r.median) else f"> {r.horizon}"
        table.append([r.method, median, "ref" if ref else f"{r.reached}/{r.seeds}", str(r.horizon)])
    title = f"{h} {spec.step_label} until {spec.label} {sign} {spec.reach:g}\n"
    header = ["method", f"median {spec.step_label}", "seeds that reached it", "horizon"]
    return title + "\n" + _markdown(header, table)


def _curve_groups(rows: Iterable[Row]) -> dict[tuple[str, str, str], list[Row]]:
    """Rows of every (suite, problem, metric) that has seeded values at steps (plottable)."""
    groups: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row["suite"], row["problem"], row["metric"])].append(row)
    return {
        key: group
        for key, group in groups.items()
        if any(r["step"] is not None and r["seed"] is not None for r in group)
    }


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


def _markdown(header: list[str], table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines) + "\n"


def _metrics(suite: str) -> dict[str, Metric]:
    try:
        return metrics_of(load(suite)) if suite in SUITES else {}
    except SuiteSkipped:
        return {}


def _metric(suite: str, metric: str) -> Metric:
    return _metrics(suite).get(metric, Metric(metric))


def _title(suite: str) -> str:
    try:
        return str(load(suite).TITLE) if suite in SUITES else suite
    except SuiteSkipped:
        return suite


def _provenance(results: Results) -> str:
    h = results.header
    budget = "quick" if h.get("quick") else "full"
    return (
        f"Measured by `plgl bench` ({budget} budget) on {h.get('date', '?')}, plgl "
        f"{h.get('version', '?')}, commit {h.get('commit') or '?'}."
    )


def _slug(text: str) -> str:
    """A file-name-safe form of text.

    >>> _slug("linear d=16")
    'linear-d16'
    """
    kept = "".join(c if c.isalnum() else "-" if c in " _/:." else "" for c in text.lower())
    return "-".join(part for part in kept.split("-") if part)
