"""Per-call costs of the default model (`LinearPreference`) at a large latent dimension, side by
side with earlier revisions measured in the same run, single-threaded.

    python benchmarks/model_latency.py                          # d=512 against 4694d59 and 982e411
    python benchmarks/model_latency.py --dims 64,512 --ratings 600 --baselines 4694d59

Each revision's `src` is exported with `git archive` into a temporary folder and measured in its
own Python process (this checkout's `src` as "this tree"). A simulated linear user rates random
latents; what is timed (CPU time, `time.process_time`):

* replay: `learn` on `ratings` ratings in a row from `start` (what a resume without a snapshot
  does), in seconds;
* learn p50 / p99: the same calls one by one (a stream without any `refine`: forced folds);
* refine: `refine()` with the default budget after every 10 ratings (what `Session.ask` does
  first), median and p99 in ms, over the last half of the ratings;
* get_state / set_state: after the ratings, medians of 5 calls in ms.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = (
    ("replay_s", "replay (s)"),
    ("learn_p50", "learn p50 (ms)"),
    ("learn_p99", "learn p99 (ms)"),
    ("refine_p50", "refine p50 (ms)"),
    ("refine_p99", "refine p99 (ms)"),
    ("get_state", "get_state (ms)"),
    ("set_state", "set_state (ms)"),
)


def measure(d: int, ratings: int, seed: int = 0) -> dict[str, float]:
    """The costs listed in the module docstring for one d (run inside the measured tree)."""
    from plgl.models import LinearPreference

    rng = np.random.default_rng(seed)
    taste = rng.standard_normal(d)
    X = rng.standard_normal((ratings, d))
    y = (rng.random(ratings) < 1 / (1 + np.exp(-4 * X @ taste / np.linalg.norm(taste)))) * 1.0
    model = LinearPreference().start(d)
    learn: list[float] = []
    for row, label in zip(X, y, strict=True):
        t0 = time.process_time()
        model.learn(row, label)
        learn.append(time.process_time() - t0)
    live = LinearPreference().start(d)
    refine: list[float] = []
    for i, (row, label) in enumerate(zip(X, y, strict=True)):
        live.learn(row, label)
        if i % 10 == 9:
            t0 = time.process_time()
            live.refine()
            if i >= ratings // 2:
                refine.append(time.process_time() - t0)
    gets, sets = [], []
    for _ in range(5):
        t0 = time.process_time()
        state = model.get_state()
        gets.append(time.process_time() - t0)
        t0 = time.process_time()
        LinearPreference().set_state(state)
        sets.append(time.process_time() - t0)
    ms = 1e3
    return {
        "replay_s": float(np.sum(learn)),
        "learn_p50": float(np.percentile(learn, 50)) * ms,
        "learn_p99": float(np.percentile(learn, 99)) * ms,
        "refine_p50": float(np.percentile(refine, 50)) * ms,
        "refine_p99": float(np.percentile(refine, 99)) * ms,
        "get_state": float(np.median(gets)) * ms,
        "set_state": float(np.median(sets)) * ms,
    }


def _run_tree(src: Path, dims: list[int], ratings: int) -> dict[str, dict[str, float]]:
    command = [sys.executable, __file__, "--worker", "--dims", ",".join(map(str, dims))]
    command += ["--ratings", str(ratings)]
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="512", help="comma-separated latent dimensions")
    parser.add_argument("--ratings", type=int, default=1000)
    parser.add_argument("--baselines", default="4694d59,982e411", help="git revisions")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dims = [int(x) for x in args.dims.split(",") if x.strip()]
    if args.worker:
        print(json.dumps({str(d): measure(d, args.ratings) for d in dims}))
        return 0
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rev in [r for r in args.baselines.split(",") if r]:
            folder = Path(tmp) / rev
            folder.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
            results[rev] = _run_tree(folder / "src", dims, args.ratings)
        results["this tree"] = _run_tree(ROOT / "src", dims, args.ratings)
    print(f"LinearPreference, {args.ratings} ratings, single thread, CPU time")
    header = ["d", "revision"] + [label for _, label in COLUMNS]
    print(" | ".join(header))
    for d in dims:
        for rev, per_dim in results.items():
            values = [f"{per_dim[str(d)][key]:.3f}" for key, _ in COLUMNS]
            print(" | ".join([str(d), rev, *values]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
