"""Two versions of the code on the same content swipers, side by side: For-you and the favourite.

Each source tree given (`--src`, e.g. a baseline checkout's `src` and this one's) runs the
`swipers` suite's swipers (`plgl.bench.swipers`, every kind of the domain; or `population-faces`,
the population's new swipers) through its default engine, answer for answer on the same answer
stream (`choice_cards.run`, one fresh process per swiper and tree). Prints per tree the medians
For-you / favourite (share of runs below the favourite) at each checkpoint and the share of new
picks, then the paired mean difference of For-you and of the favourite against the first tree,
with its standard error.

    git worktree add /tmp/base <commit>
    OMP_NUM_THREADS=1 nice python benchmarks/swipers_side_by_side.py --domain molecules \\
        --seeds 0-17 --src /tmp/base/src --src src
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from choice_cards import STEPS, report
from trees import run_in_tree

from plgl.bench import swipers as swiper_kinds
from plgl.bench.command import parse_seeds

HERE = Path(__file__).resolve().parent


def run(src: Path, domain: str, kind: str, seed: int) -> dict[str, float]:
    """One swiper through the default engine of the tree `src` (`choice_cards.run`)."""
    metrics = run_in_tree(src, "choice_cards", f"run({domain!r}, {kind!r}, {seed})")
    return {key: float(value) for key, value in metrics.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain", required=True, choices=[*swiper_kinds.KINDS, *STEPS])
    parser.add_argument("--seeds", default="0-2", help="e.g. 0-17")
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--jobs", type=int, default=2, help="processes at once")
    args = parser.parse_args()
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    kinds = swiper_kinds.KINDS.get(args.domain, ("random-features",))
    plan = [(kind, seed) for kind in kinds for seed in parse_seeds(args.seeds)]
    results: dict[str, list[dict[str, float]]] = {}
    with ThreadPoolExecutor(args.jobs) as pool:  # each run is a process of its own
        for src in sources:
            found = pool.map(partial(run, src, args.domain), *zip(*plan, strict=True))
            runs: list[dict[str, float]] = []
            results[str(src)] = runs
            for (kind, seed), metrics in zip(plan, found, strict=True):
                row = {"src": str(src), "kind": kind, "seed": seed, **metrics}
                print(json.dumps(row), flush=True)
                runs.append(metrics)
    report(args.domain, results)


if __name__ == "__main__":
    main()
