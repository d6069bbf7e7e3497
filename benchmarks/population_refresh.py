"""How long a population refresh takes and how much memory it holds, by stored users: the
engine's `engine.population.refresh()` (streams users from SQLite storage page by page) side
by side with the library's `Population.refresh` on the same tastes already in memory.

Users are written straight into a SQLite file (items and `--ratings` like/dislike events each,
from a clustered linear population), as a session would store them but without snapshots. The
engine's first refresh ("engine first") replays every user whose snapshot does not cover all
their events (after the fill: everyone) and saves a snapshot of each (carrying the posterior
the population needs, `plgl.storage.snapshot`); the next ones ("engine next", median of
`--repeats`) read those snapshots and replay only events stored since. Each path runs in its
own process, so its peak resident memory (RSS) is its own: the engine's stays flat as users
grow, the library's holds every taste. A file already filled for the same settings is reused
(its snapshots too: then the first refresh is a warm one).

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/population_refresh.py \\
        --users 1000 10000 100000 --d 64 --dir /tmp/plgl-bench
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from plgl.engine import Engine
from plgl.generators import get
from plgl.population import Population
from plgl.records import Feedback, Item
from plgl.storage import BaseStorage, from_url

_FILLED = "bench/filled"


def fill(storage: BaseStorage, users: int, d: int, ratings: int, seed: int) -> None:
    """`users` users of three taste clusters, `ratings` events each, written to storage."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.standard_normal((d, 3)))[0].T
    for u in range(users):
        w = centres[u % 3] + 0.3 * rng.standard_normal(d) / np.sqrt(d)
        latents = rng.standard_normal((ratings, d))
        items = [Item(uuid.uuid4().hex, z, None, "explore") for z in latents]
        storage.put_items(f"user-{u:06d}", items)
        for item, z in zip(items, latents, strict=True):
            signal = "like" if z @ w > 0 else "dislike"
            storage.append(f"user-{u:06d}", Feedback(uuid.uuid4().hex, item.id, signal))
    storage.put_shared(_FILLED, str(users).encode())


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _engine(url: str, d: int) -> Engine:
    return Engine(get("identity", latent_dim=d), storage=url, population=Population(epsilon=1.0))


def _child(path: str, url: str, d: int, repeats: int) -> dict[str, Any]:
    """Run one path in this process; its timings and peak RSS."""
    engine = _engine(url, d)
    bound = engine.population
    assert bound is not None
    times: list[float] = []
    if path == "library":
        tastes = list(bound.tastes())
        library = Population(epsilon=1.0)
        base = _rss_mib()
        for _ in range(repeats):
            start = time.perf_counter()
            library.refresh(tastes)
            times.append(time.perf_counter() - start)
    else:
        base = _rss_mib()
        for _ in range(repeats + 1):
            start = time.perf_counter()
            bound.refresh()
            times.append(time.perf_counter() - start)
    engine.close()
    return {"times": times, "base_mib": base, "peak_mib": _rss_mib()}


def _run(path: str, url: str, d: int, repeats: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", path, "--url", url]
    command += ["--d", str(d), "--repeats", str(repeats)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--ratings", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default="/tmp/plgl-population-refresh", help="SQLite files")
    parser.add_argument("--child", choices=["engine", "library"])
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.url, args.d, args.repeats)))
        return
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    print(
        f"{'users':>7} {'engine first s':>15} {'engine next s':>14} {'library s':>10} "
        f"{'engine RSS MiB':>15} {'library RSS MiB':>16}  (d={args.d}, SQLite)"
    )
    for n in args.users:
        path = Path(args.dir) / f"users{n}-d{args.d}-r{args.ratings}.db"
        url = f"sqlite:///{path}"
        storage = from_url(url)
        fresh = storage.shared(_FILLED) != str(n).encode()
        storage.close()
        if fresh:  # a fill that did not finish is started again
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            storage = from_url(url)
            fill(storage, n, args.d, args.ratings, seed=n)
            storage.close()
        engine = _run("engine", url, args.d, args.repeats)
        first, later = engine["times"][0], float(np.median(engine["times"][1:]))
        library = _run("library", url, args.d, args.repeats)
        print(
            f"{n:>7} {first:>15.1f} {later:>14.1f} {np.median(library['times']):>10.1f} "
            f"{engine['peak_mib']:>15.0f} {library['peak_mib']:>16.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
