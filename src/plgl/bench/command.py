"""`plgl bench`: run benchmark suites side by side with their baselines; write raw results (JSON
lines), a Markdown report with tables and PNG plots.

    plgl bench --suite all --quick --out bench-out      # the CI budget: under 3 minutes
    plgl bench --suite latent,latency --out bench-out   # full protocols (long: BoTorch runs)

Suites: latent (binary swipes at d = 16, 64, 512), pairs (swipes plus pair cards, d = 16, 64),
prefgen, qeubo, koyama (the peers' protocols), domains (faces, melodies, molecules), latency,
cache. Seeds are fixed: each suite uses its protocol's seeds unless --seeds is given. A suite
whose optional dependency is missing is reported as skipped, with the reason. For tests only, the
environment variable PLGL_BENCH_TINY=1 makes the suites that support it plan their smallest runs
(every code path, meaningless numbers).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

HELP = "run benchmark suites; write results.jsonl, report.md and plots"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from plgl.bench.suites import SUITES

    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the examples' lines

    parser.add_argument(
        "--suite",
        action="append",
        required=True,
        metavar="NAME",
        help=f"{'|'.join(SUITES)}|all; repeat it or give a comma list",
    )
    parser.add_argument("--quick", action="store_true", help="the CI budget (all: under 3 min)")
    parser.add_argument(
        "--seeds", help="comma list or range of seeds, e.g. 0,1,2 or 0-4 (default: the protocol's)"
    )
    parser.add_argument("--out", default="bench-out", help="output folder (default bench-out)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEXT",
        help='run only tasks whose "suite / problem / method" contains TEXT (repeatable: any)',
    )


def run(args: argparse.Namespace) -> int:
    names = parse_suites(args.suite)
    seeds = parse_seeds(args.seeds) if args.seeds else None
    return run_bench(names, quick=args.quick, seeds=seeds, out=Path(args.out), only=args.only)


def parse_suites(values: Sequence[str]) -> list[str]:
    """Suite names from repeated/comma-separated options, "all" expanded, order kept.

    >>> parse_suites(["latent,latency", "latent"])
    ['latent', 'latency']
    """
    from plgl.bench.suites import SUITES

    names: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name != "all" and name not in SUITES:
                raise ValueError(f"unknown suite {name!r}; expected {'|'.join(SUITES)}|all")
            names += list(SUITES) if name == "all" else [name]
    if not names:
        raise ValueError("--suite needs at least one suite name")
    return list(dict.fromkeys(names))


def parse_seeds(text: str) -> list[int]:
    """Seeds from "0,1,2" or "0-4" (or both, "0-2,7").

    >>> parse_seeds("0-2,7")
    [0, 1, 2, 7]
    """
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            first, _, last = part.partition("-")
            seeds += list(range(int(first), int(last or first) + 1))
    except ValueError as error:
        raise ValueError(f"--seeds must look like 0,1,2 or 0-4, got {text!r}") from error
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--seeds must name seeds >= 0, got {text!r}")
    return list(dict.fromkeys(seeds))


def run_bench(
    names: list[str],
    *,
    quick: bool,
    seeds: list[int] | None,
    out: Path,
    only: Sequence[str] | None = None,
) -> int:
    """Plan every suite, run its tasks under a progress bar, write results and the report.

    `only`: keep the tasks whose "suite / problem / method" contains one of these texts.

    Returns 0, or 1 when a task raised an error (recorded in the results; the others ran).
    """
    import torch
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # sklearn dep

    # One thread for torch and for numpy's BLAS (numpy is loaded before the environment could
    # say so): more threads ran up to 10x slower here, and the CPU timings are per core.
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        return _run_all(names, quick, seeds, out, only)


def _run_all(
    names: list[str], quick: bool, seeds: list[int] | None, out: Path, only: Sequence[str] | None
) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from plgl.bench.report import write_report
    from plgl.bench.results import RESULTS, load_results
    from plgl.bench.suites import SuiteSkipped, Task, load

    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True)
    started = time.perf_counter()
    plans: dict[str, list[Task]] = {}
    with (out / RESULTS).open("w", encoding="utf-8") as sink:
        _write(sink, header(names, quick, seeds) | {"only": list(only) if only else None})
        for name in names:
            try:
                plans[name] = [t for t in load(name).plan(quick, seeds) if _wanted(t, only)]
            except SuiteSkipped as skipped:
                _write(sink, {"kind": "skip", "suite": name, "reason": str(skipped)})
                console.print(f"[yellow]skipped {name}[/yellow]: {skipped}")
        failures = 0
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("bench", total=sum(t.cost for p in plans.values() for t in p))
            for name, tasks in plans.items():
                suite, suite_started, cpu = load(name), time.perf_counter(), time.process_time()
                skipped_here: set[str] = set()
                for task in tasks:
                    progress.update(bar, description=task.label)
                    try:
                        for row in suite.run_task(task):
                            _write(sink, row)
                    except SuiteSkipped as skipped:
                        if str(skipped) not in skipped_here:  # one line per reason
                            skipped_here.add(str(skipped))
                            _write(sink, _skip(task, str(skipped)))
                    except Exception as error:  # one broken task must not lose the others
                        failures += 1
                        _write(sink, _error(task, error))
                        console.print(f"[red]error in {task.label}[/red]: {error!r}")
                    progress.advance(bar, task.cost)
                _write(sink, _timing(name, time.perf_counter() - suite_started, cpu))
        total = time.perf_counter() - started
        _write(sink, _timing("all", total, 0.0))
    written = write_report(load_results(out / RESULTS), out)
    console.print(
        f"wrote {', '.join(str(p) for p in written[:3])} and {len(written) - 3} plots "
        f"in {total:.0f} s"
    )
    return 1 if failures else 0


def header(names: list[str], quick: bool, seeds: list[int] | None) -> dict[str, Any]:
    """The metadata line that opens results.jsonl."""
    import numpy as np
    import torch

    import plgl

    return {
        "kind": "header",
        "version": plgl.__version__,
        "commit": _git_commit(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "torch_threads": 1,
        },
        "suites": names,
        "quick": quick,
        "tiny": os.environ.get("PLGL_BENCH_TINY", "") == "1",
        "seeds": seeds,
    }


def _git_commit() -> str | None:
    """The source tree's commit (with "+dirty" for local changes), or None outside git."""
    root = Path(__file__).resolve().parents[3]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "") if commit else None


def _timing(suite: str, wall: float, cpu_started: float) -> dict[str, Any]:
    """Wall and CPU seconds (this process) since the start: on a shared machine they differ."""
    cpu = time.process_time() - cpu_started
    return {"kind": "timing", "suite": suite, "seconds": round(wall, 2), "cpu": round(cpu, 2)}


def _wanted(task: Any, only: Sequence[str] | None) -> bool:
    where = f"{task.suite} / {task.problem} / {task.method}"
    return not only or any(text in where for text in only)


def _skip(task: Any, reason: str) -> dict[str, Any]:
    return {
        "kind": "skip",
        "suite": task.suite,
        "problem": task.problem,
        "method": task.method,
        "reason": reason,
    }


def _error(task: Any, error: Exception) -> dict[str, Any]:
    return {
        "kind": "error",
        "suite": task.suite,
        "problem": task.problem,
        "method": task.method,
        "seed": task.seed,
        "error": repr(error),
        "traceback": traceback.format_exc(limit=-3),
    }


def _write(sink: IO[str], record: dict[str, Any]) -> None:
    sink.write(json.dumps(record, allow_nan=False) + "\n")
    sink.flush()  # a crash or Ctrl-C keeps every finished task
