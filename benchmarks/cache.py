"""Generator calls saved by the content cache and candidate pools, with learning quality beside.

Every method meets the same simulated users (seed s: same hidden taste, same answer noise). Each
round a user is shown 10 items (`ask`), every shown item is rendered (`Session.render`, as the
feed does) and rated; after each round recommendation #1 is scored with the user's true utility
(normalized: 0 = a random prior sample, 1 = the best point of the ball). Methods
(`plgl.bench.cache_savings`):

    no-cache        no content cache (memory://?max_bytes=0), no pool
    cache           the default in-memory content cache, no pool
    pools           the content cache plus a pregenerated pool (built once, shared by all users)
    eager-no-cache  a content safety check forces every candidate to be rendered before choosing
    eager-pools     the same with the pool (the engine before the cache rendered like "eager")

    python benchmarks/cache.py                       # identity d=16 (10 seeds) and faces (3)
    python benchmarks/cache.py --quick               # identity only, 3 seeds
    python benchmarks/cache.py --faces-pool 20000 --faces-seeds 5 --skip-identity  # ~9 min
    python benchmarks/cache.py --json cache.json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from collections import defaultdict
from typing import Any

import numpy as np
import torch

from plgl.bench import cache_savings
from plgl.bench.cache import METHODS

STEPS = (10, 20, 30, 50, 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="identity only, 3 seeds")
    parser.add_argument("--ratings", type=int, default=100)
    parser.add_argument("--pool", type=int, default=20000, help="identity pool size (20000)")
    parser.add_argument("--faces-pool", type=int, default=5000, help="faces pool size (5000)")
    parser.add_argument("--faces-seeds", type=int, default=3, help="faces users (3)")
    parser.add_argument("--skip-identity", action="store_true", help="faces only")
    parser.add_argument("--skip-faces", action="store_true", help="identity only")
    parser.add_argument("--json", help="write every row to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    problems: list[dict[str, Any]] = [
        {"generator": "identity", "latent_dim": 16, "seeds": range(3 if args.quick else 10),
         "pool_size": args.pool},
    ]  # fmt: skip
    if args.skip_identity:
        problems.clear()
    if not (args.quick or args.skip_faces):
        problems.append(
            {"generator": "faces", "latent_dim": None, "seeds": range(args.faces_seeds),
             "pool_size": args.faces_pool}
        )  # fmt: skip
    rows: list[dict[str, Any]] = []
    for problem in problems:
        started = time.perf_counter()
        found = cache_savings(**problem, n_ratings=args.ratings)
        print(f"\n## {found[0]['problem']}: {len(problem['seeds'])} seeds, pool "
              f"{problem['pool_size']}, {time.perf_counter() - started:.0f} s")  # fmt: skip
        report(found, args.ratings)
        rows += found
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out)


def report(rows: list[dict[str, Any]], ratings: int) -> None:
    values: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for row in rows:
        if row["step"] is not None:
            values[(row["method"], row["metric"], row["step"])].append(row["value"])
    steps = [s for s in STEPS if s <= ratings]
    for metric, title in (
        ("generator_calls", "generator calls (latents generated, mean per user, cumulative)"),
        ("hit_rate", "cache hit rate of the round (shown items and renders; mean)"),
        ("pool_share", "share of the round's shown items from the pool (mean)"),
        ("best", "normalized utility of recommendation #1 (mean ± s.e.)"),
    ):
        print(f"\n{title}\n{'method':<16}" + "".join(f"{s:>14}" for s in steps))
        for method in METHODS:
            cells = [values.get((method, metric, s)) for s in steps]
            if not any(cells):
                continue
            print(f"{method:<16}" + "".join(_cell(c, metric == "best") for c in cells))
    calls = {m: np.mean(values[(m, "generator_calls", 30)]) for m in METHODS}
    print("\nover the first 30 ratings, pools make")
    for base, pooled in (("no-cache", "pools"), ("cache", "pools"), ("eager-no-cache", "pools"),
                         ("eager-no-cache", "eager-pools")):  # fmt: skip
        print(f"  {pooled:<12} {100 * (1 - calls[pooled] / calls[base]):5.1f}% fewer generator "
              f"calls than {base} ({calls[pooled]:.1f} vs {calls[base]:.1f})")  # fmt: skip


def _cell(values: list[float] | None, spread: bool) -> str:
    if not values:
        return f"{'-':>14}"
    mean = float(np.mean(values))
    if not spread:
        return f"{mean:>14.2f}"
    se = float(np.std(values) / np.sqrt(len(values)))
    return f"{f'{mean:.3f}±{se:.3f}':>14}"


if __name__ == "__main__":
    main()
