"""Reading what `plgl bench` wrote: results.jsonl, one JSON record per line.

Records with a "kind" (header, skip, error, timing) describe the run; the others are result rows
`{"suite", "problem", "method", "seed", "step", "metric", "value"}` (see `plgl.bench.suites`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plgl.bench.suites import Row

RESULTS = "results.jsonl"


@dataclass
class Results:
    """What one `plgl bench` run wrote: the header, the rows, skips, errors, seconds per suite."""

    header: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    skips: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


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
