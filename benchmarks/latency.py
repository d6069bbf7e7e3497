"""Latency of plgl's loop against a naive recipe (an RBF SVC refitted per rating), single-threaded,
as a console table with the targets. The measurements are `plgl.bench.suites.latency` (also run by
`plgl bench --suite latency`, which writes them to the benchmark report).

    python benchmarks/latency.py            # d = 16, 64, 512 with 500 ratings given
    python benchmarks/latency.py --quick    # a short run

What is timed, and how: the docstring of `plgl.bench.suites.latency`.

Targets (d=512, 500 ratings, CPU time): tell median < 1 ms and p99 < 5 ms; ask(10) median < 10 ms.
"""

from __future__ import annotations

import os

# Single-threaded BLAS/OpenMP, set before numpy and torch load: the targets are per core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time

import torch
from rich.console import Console
from rich.table import Table

from plgl.bench import LinearUser
from plgl.bench.suites.latency import (
    FULL,
    POOL,
    QUICK,
    Timings,
    measure_naive,
    measure_plgl,
    random_ratings,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dims", help="comma-separated latent dimensions (default 16,64,512; --quick: 16,512)"
    )
    parser.add_argument("--ratings", type=int, default=500, help="ratings given before timing")
    parser.add_argument("--quick", action="store_true", help="few sessions and repetitions")
    args = parser.parse_args(argv)
    dims_text = args.dims or ("16,512" if args.quick else "16,64,512")
    dims = [int(x) for x in dims_text.split(",") if x.strip()]
    budget = QUICK if args.quick else FULL
    sessions, rounds = budget.sessions, budget.rounds
    naive_reps, naive_budget = budget.naive_reps, budget.naive_seconds
    torch.set_num_threads(1)
    console = Console(width=170)

    table = Table(
        title=(
            f"Latency in ms after {args.ratings} ratings, single thread: "
            "median / p99 CPU time (median / p99 wall time)"
        ),
        title_justify="left",
    )
    for name in (
        "d",
        "operation",
        "plgl",
        "naive, own random ratings",
        "naive, plgl's ratings",
        "naive / plgl (CPU median)",
        "calls",
    ):
        table.add_column(name, justify="left" if name == "operation" else "right")
    checks: list[tuple[str, float, float]] = []
    started = time.perf_counter()
    for d in dims:
        user = LinearUser(d, seed=0)
        plgl_times, X, y = measure_plgl(user, args.ratings, sessions, rounds)
        own = measure_naive(*random_ratings(user, args.ratings), naive_reps, naive_budget)
        same = measure_naive(X, y, naive_reps, naive_budget)
        print(f"  d={d} done", file=sys.stderr, flush=True)
        rows: list[tuple[str, str, str | None]] = [
            ("update: tell | SVC fit", "tell", "fit"),
            ("serve: ask(10) | proba 10k", "ask", "recommend"),
            ("recommend(1)", "recommend", None),
        ]
        for operation, ours_key, theirs_key in rows:
            ours = plgl_times[ours_key]
            if theirs_key is None:
                table.add_row(str(d), operation, _cell(ours), "-", "-", "-", str(len(ours.cpu)))
                continue
            base = ours.stat("cpu", 50)
            a, b = own[theirs_key], same[theirs_key]
            table.add_row(
                str(d),
                operation,
                _cell(ours),
                _cell(a),
                _cell(b),
                f"{a.stat('cpu', 50) / base:,.0f}x | {b.stat('cpu', 50) / base:,.0f}x",
                f"{len(ours.cpu)} | {len(a.cpu)} | {len(b.cpu)}",
            )
        if d == 512:
            tell, ask = plgl_times["tell"], plgl_times["ask"]
            checks += [
                ("tell median", tell.stat("cpu", 50), 1.0),
                ("tell p99", tell.stat("cpu", 99), 5.0),
                ("ask(10) median", ask.stat("cpu", 50), 10.0),
            ]
    console.print(table)
    console.print(
        f"plgl: {sessions} session(s) x {rounds} rounds per d; the timed calls saw "
        f"{args.ratings}..{args.ratings + 10 * rounds} ratings. naive: SVC(rbf, probability=True) "
        f"fitted on {args.ratings} ratings (its own random prior samples, or the first plgl "
        f"session's items), predict_proba + argmax over {POOL:,} prior samples."
    )
    for name, value, target in checks:
        verdict = "PASS" if value < target else "FAIL"
        console.print(f"target d=512 {name} < {target:g} ms CPU: {value:.3f} ms -> {verdict}")
    console.print(f"total {time.perf_counter() - started:.1f} s")
    return 0


def _cell(t: Timings) -> str:
    return (
        f"{_ms(t.stat('cpu', 50))} / {_ms(t.stat('cpu', 99))} "
        f"({_ms(t.stat('wall', 50))} / {_ms(t.stat('wall', 99))})"
    )


def _ms(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:,.0f}"


if __name__ == "__main__":
    sys.exit(main())
