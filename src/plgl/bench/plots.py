"""Learning-curve plots of benchmark rows (matplotlib, Agg backend, PNG).

One figure per (suite, problem, metric): per method the mean (or median) over seeds at each step
with a band (± one standard error, or the interquartile range, as the metric's `Metric.summary`
says); reference rows (seed None) dashed: "vline" at their step, "hline" at their value, else a
dashed curve or a marker. A metric with a `reach` level gets it as a dotted line.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plgl.bench.suites import Metric, Row


def plot_metric(rows: Sequence[Row], spec: Metric, title: str, path: Path) -> Path:
    """Draw the rows of one (suite, problem, metric) into the PNG `path`; return `path`."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here, and no GUI toolkit needed
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        seeded: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            if row["seed"] is not None and row["step"] is not None and row["value"] is not None:
                seeded[row["method"]][int(row["step"])].append(float(row["value"]))
        for method, by_step in seeded.items():
            steps = sorted(by_step)
            center, low, high = zip(*(_band(by_step[n], spec) for n in steps), strict=True)
            (line,) = axes.plot(
                steps, center, marker="." if len(steps) < 30 else None, label=method
            )
            axes.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        _references([r for r in rows if r["seed"] is None and r["value"] is not None], axes)
        if spec.reach is not None:
            axes.axhline(spec.reach, color="grey", linestyle=":", linewidth=1)
        values = [float(r["value"]) for r in rows if r["value"] is not None]
        if spec.log_scale and values and min(values) > 0:
            axes.set_yscale("log")
        axes.set_xlabel(spec.step_label)
        axes.set_ylabel(spec.label)
        axes.set_title(title, fontsize=10)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path


def _band(values: list[float], spec: Metric) -> tuple[float, float, float]:
    """(center, low, high) over seeds: mean ± s.e., or median and quartiles."""
    data = np.asarray(values, dtype=float)
    if spec.summary == "median":
        q25, q50, q75 = np.percentile(data, [25, 50, 75])
        return float(q50), float(q25), float(q75)
    mean = float(data.mean())
    se = float(data.std(ddof=1) / math.sqrt(len(data))) if len(data) > 1 else 0.0
    return mean, mean - se, mean + se


_REFERENCE_COLORS = ("black", "dimgrey", "saddlebrown", "darkslateblue")


def _references(rows: list[Row], axes: Any) -> None:
    """Reference rows, dashed, one colour per reference method, labelled once."""
    by_method: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_method[row["method"]].append(row)
    for k, (method, group) in enumerate(by_method.items()):
        style = {"color": _REFERENCE_COLORS[k % len(_REFERENCE_COLORS)], "linestyle": "--"}
        lines = [r for r in group if r.get("draw") or r["step"] is None]
        for i, row in enumerate(lines):
            label = method if i == 0 else None
            if row.get("draw") == "vline" and row["step"] is not None:
                axes.axvline(row["step"], label=label, **style)
            else:
                axes.axhline(row["value"], label=label, **style)
        points = sorted((r["step"], r["value"]) for r in group if r not in lines)
        if points:
            xs, ys = zip(*points, strict=True)
            axes.plot(xs, ys, marker="x", label=None if lines else method, **style)
