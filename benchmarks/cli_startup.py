"""Start-up time of the `plgl` command's help pages, beside a bare `python -c pass` in the same run.

    python benchmarks/cli_startup.py            # 10 runs of each, medians
    python benchmarks/cli_startup.py --runs 30

Each run is a fresh interpreter (what a user's shell starts), timed by wall clock. The help pages
must not import torch, scikit-learn or FastAPI (tests/test_cli.py checks that); the target is a
median under 0.5 s for `plgl serve --help`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from rich.console import Console
from rich.table import Table

COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "plgl --help": [sys.executable, "-m", "plgl.cli", "--help"],
    "plgl serve --help": [sys.executable, "-m", "plgl.cli", "serve", "--help"],
    "plgl bench --help": [sys.executable, "-m", "plgl.cli", "bench", "--help"],
}


def wall_times(command: list[str], runs: int) -> list[float]:
    """Seconds per run of `command`, each in a new process; output discarded."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (10)")
    args = parser.parse_args()
    table = Table("command", "median (s)", "min (s)", "max (s)", "over baseline (s)")
    baseline = None
    # Interleaved rounds would spread a noisy neighbour evenly; here each command is warmed by
    # one untimed run first so that the file cache treats them alike.
    for name, command in COMMANDS.items():
        wall_times(command, 1)
        times = wall_times(command, args.runs)
        median = statistics.median(times)
        baseline = median if baseline is None else baseline
        table.add_row(
            name,
            f"{median:.3f}",
            f"{min(times):.3f}",
            f"{max(times):.3f}",
            f"{median - baseline:+.3f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
