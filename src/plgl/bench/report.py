"""The benchmark report: report.md and the README fragment (Markdown tables from `tables`, PNG
plots from `plots`) for what one `plgl bench` run wrote (`results`).

Per suite and problem: one table per metric with methods as rows and chosen steps as columns, a
"steps to reach" table for metrics with a `reach` level (median over seeds, and how many seeds
got there), one table of the scalar metrics (rows whose step is None), the plots and the notes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from plgl.bench.results import RESULTS, Results
from plgl.bench.suites import SUITES, Metric, Row, SuiteSkipped, load, metrics_of
from plgl.bench.tables import markdown, reach_table, scalar_table, value_table

REPORT = "report.md"
README_FRAGMENT = "readme-fragment.md"


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
            parts.append(markdown(header, table))
        if spec.reach is not None:
            parts.append(_reach_section(rows, metric, spec, h))
        if (suite, problem, metric) in plots:
            parts.append(f"![{problem}: {spec.label}]({plots[(suite, problem, metric)]})\n")
    names, table = scalar_table(rows, metrics)
    if names:
        labels = [metrics.get(n, Metric(n)).label for n in names]
        parts.append(f"{h} one value per run (over several seeds: mean ± s.e. or median [IQR])\n")
        parts.append(markdown(["method", *labels], table))
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
    return title + "\n" + markdown(header, table)


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
