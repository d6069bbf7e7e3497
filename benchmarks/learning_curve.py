"""Learning curves: plgl against a naive recipe (RBF SVC on random ratings) and random search.

Every method meets the same simulated users (seed s: same hidden taste, same answer noise) and is
scored with the same metric: the normalized utility of recommendation #1 after every batch of 10
ratings (0 = a random prior sample, 1 = the best point of the ball |z| <= sqrt(d)).

    python benchmarks/learning_curve.py                      # d=16, 10 seeds, 160 ratings
    python benchmarks/learning_curve.py --dims 16,64 --json curves.json
    python benchmarks/learning_curve.py --quick              # 3 seeds, 80 ratings, linear+drift

Methods (those of `plgl bench --suite latent`: `plgl.bench.suites.latent.run_swipe_method`;
this script adds the picky, noisy and drifting users and the drift columns):
    plgl    Engine(identity generator, default model and sampler, seed=1000*s+7), `run_swipes`.
    naive   SVC(rbf, probability=True) on random ratings, argmax of
            predict_proba over 10,000 fresh prior samples (`plgl.bench.run_naive`).
    random  random ratings, recommend a random liked item (`plgl.bench.run_random`).

For the drifting user the taste turns to an unrelated direction after half the ratings; the
utility is always measured against the current taste (so the curve drops at the switch). Its table
adds the utility of the last recommendation made under the old taste and the median number of
ratings after the switch until recommendation #1 reaches 0.9 of the new taste.
"""

from __future__ import annotations

import os

# Single-threaded BLAS/OpenMP, set before numpy and torch load: comparable, shared-machine friendly.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from plgl.bench import USER_KINDS, LearningCurve, make_user
from plgl.bench.suites.latent import floor_ratings, run_swipe_method

CHECKPOINTS = (20, 40, 60, 80, 120, 160)
LEVEL = 0.9
METHODS = ("plgl", "naive", "random")
KINDS = USER_KINDS
TABULATED = (16, 64, 512)


def one_bit_floor(d: int) -> int:
    """Ratings any learner needs to reach cos 0.9 for the linear user at noise 0.25: the max of
    the 1-bit counting bound and the noise bound (`plgl.bench.suites.latent.floor_ratings`)."""
    return round(max(floor_ratings(d)))


# ------------------------------------------------------------------------------ summaries
def value_at(curve: LearningCurve, n: int) -> float:
    """Recommendation #1's utility after n ratings (the last batch that ended at or before n)."""
    values = [b for r, b in zip(curve.ratings, curve.best, strict=True) if r <= n]
    return values[-1] if values else math.nan


def ratings_to(curve: LearningCurve, level: float, after: int = 0) -> float:
    """Ratings counted from `after` until recommendation #1 first reaches `level` (inf: never)."""
    for r, b in zip(curve.ratings, curve.best, strict=True):
        if r > after and b >= level:
            return float(r - after)
    return math.inf


def median_to(curves: list[LearningCurve], level: float, after: int = 0) -> tuple[float, int]:
    """(median over seeds of the ratings to `level`, how many seeds reached it)."""
    hits = [ratings_to(c, level, after) for c in curves]
    return float(np.median(hits)), sum(math.isfinite(h) for h in hits)


def show_count(value: float, horizon: int) -> str:
    return f">{horizon}" if not math.isfinite(value) else f"{value:.0f}"


def ratio_text(plgl_n: float, naive_n: float, horizon: int) -> str:
    """plgl's median ratings-to-0.9 over the naive recipe's, with bounds when either is censored."""
    if math.isfinite(plgl_n) and math.isfinite(naive_n):
        return f"{plgl_n / naive_n:.2f}"
    if math.isfinite(plgl_n):
        return f"< {plgl_n / horizon:.2f}"  # naive needs more than the horizon
    if math.isfinite(naive_n):
        return f"> {horizon / naive_n:.2f}"
    return "n/a (neither reached 0.9)"


# ----------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="16", help="comma-separated latent dimensions")
    parser.add_argument("--seeds", type=int, help="simulated users per kind (default 10)")
    parser.add_argument("--ratings", type=int, help="ratings per run (default 160)")
    parser.add_argument("--kinds", help=f"comma-separated user kinds (default {','.join(KINDS)})")
    parser.add_argument(
        "--quick", action="store_true", help="defaults become 3 seeds, 80 ratings, linear,drift"
    )
    parser.add_argument("--json", metavar="PATH", help="write the raw per-seed curves here")
    args = parser.parse_args(argv)
    defaults = (3, 80, "linear,drift") if args.quick else (10, 160, ",".join(KINDS))
    for name, value in zip(("seeds", "ratings", "kinds"), defaults, strict=True):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.seeds < 1 or args.ratings < 10:
        parser.error("need --seeds >= 1 and --ratings >= 10")
    dims = [int(x) for x in args.dims.split(",") if x.strip()]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown user kinds {unknown}; expected some of {', '.join(KINDS)}")
    torch.set_num_threads(1)
    console = Console(width=150)
    checkpoints = [n for n in CHECKPOINTS if n <= args.ratings]
    if args.ratings not in checkpoints:
        checkpoints.append(args.ratings)

    console.print(
        f"[bold]Learning curves[/bold]: normalized utility of recommendation #1 "
        f"(0 = random prior sample, 1 = best point of |z| <= sqrt(d)); mean over {args.seeds} "
        f"seeds; batches of 10; N->{LEVEL} = median ratings over seeds (reached/seeds)."
    )
    for d in dims:
        console.print(
            f"One-bit floor for the linear user at noise 0.25, d={d}: "
            f"{one_bit_floor(d)} ratings to 0.9  (also: "
            f"{', '.join(f'{one_bit_floor(k)} at d={k}' for k in TABULATED)})"
        )

    records: list[dict[str, Any]] = []
    summary: list[tuple[int, str, str, str, str]] = []
    started = time.perf_counter()
    for d in dims:
        for kind in kinds:
            curves: dict[str, list[LearningCurve]] = {m: [] for m in METHODS}
            seconds: dict[str, float] = dict.fromkeys(METHODS, 0.0)
            for s in range(args.seeds):
                prototype = make_user(kind, d, s, horizon=args.ratings)
                for method in METHODS:
                    user = copy.deepcopy(prototype)  # the same user, fresh (drift is stateful)
                    t0 = time.perf_counter()
                    curve = run_swipe_method(method, user, d, args.ratings, s)
                    elapsed = time.perf_counter() - t0
                    seconds[method] += elapsed
                    curves[method].append(curve)
                    records.append(
                        {"d": d, "kind": kind, "method": method, "seed": s, "seconds": elapsed}
                        | asdict(curve)
                    )
                print(f"  d={d} {kind} seed {s} done", file=sys.stderr, flush=True)

            switch = args.ratings // 2 if kind == "drift" else 0
            table = Table(
                title=f"{kind} user, d={d}, {args.seeds} seeds"
                + (f" (taste switches after {switch} ratings)" if switch else ""),
                title_justify="left",
            )
            table.add_column("method")
            for n in checkpoints:
                table.add_column(f"N={n}", justify="right")
            table.add_column(f"N->{LEVEL}", justify="right")
            table.add_column("reached", justify="right")
            if switch:
                table.add_column(f"old taste (N={(switch - 1) // 10 * 10})", justify="right")
                table.add_column(f"after switch ->{LEVEL}", justify="right")
            table.add_column("like-rate", justify="right")
            table.add_column("s/run", justify="right")
            medians: dict[str, float] = {}
            for method in METHODS:
                runs = curves[method]
                cells = [f"{np.mean([value_at(c, n) for c in runs]):.2f}" for n in checkpoints]
                medians[method], reached = median_to(runs, LEVEL)
                cells += [show_count(medians[method], args.ratings), f"{reached}/{len(runs)}"]
                if switch:
                    again, back = median_to(runs, LEVEL, after=switch)
                    cells += [
                        f"{np.mean([value_at(c, switch - 1) for c in runs]):.2f}",
                        f"{show_count(again, args.ratings - switch)} ({back}/{len(runs)})",
                    ]
                like_rate = np.mean([np.mean(c.liked_share) for c in runs])
                cells += [f"{like_rate:.2f}", f"{seconds[method] / len(runs):.2f}"]
                table.add_row(method, *cells)
            console.print(table)
            ratio = ratio_text(medians["plgl"], medians["naive"], args.ratings)
            console.print(f"plgl / naive median ratings to {LEVEL}: {ratio}")
            summary.append(
                (
                    d,
                    kind,
                    show_count(medians["plgl"], args.ratings),
                    show_count(medians["naive"], args.ratings),
                    ratio,
                )
            )

    table = Table(title=f"Summary: median ratings to {LEVEL}", title_justify="left")
    for name in ("d", "user", "plgl", "naive", "plgl / naive", "one-bit floor (linear)"):
        table.add_column(name, justify="right")
    for d, kind, plgl_n, naive_n, ratio in summary:
        shown = str(one_bit_floor(d)) if kind == "linear" else "-"  # the floor is for this user
        table.add_row(str(d), kind, plgl_n, naive_n, ratio, shown)
    console.print(table)
    console.print(f"total {time.perf_counter() - started:.1f} s")

    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "level": LEVEL, "runs": records}, handle)
        console.print(f"wrote {len(records)} curves to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
