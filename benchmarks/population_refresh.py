"""How long `engine.population.refresh()` takes and how much memory it holds, by stored users,
side by side with the library's `Population.refresh` on the same users' tastes already in memory
(the cost of the fit alone: what the engine adds is replaying each user from storage, twice).

Users are written straight into storage (items and `--ratings` like/dislike events each, from a
clustered linear population); medians of `--repeats` refreshes; peak traced memory
(tracemalloc) of one refresh.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/population_refresh.py --users 500 2000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import uuid

import numpy as np

from plgl.engine import Engine
from plgl.generators import get
from plgl.population import Population
from plgl.records import Feedback, Item
from plgl.storage import MemoryStorage, from_url


def fill(storage: object, users: int, d: int, ratings: int, seed: int) -> None:
    """`users` users of three taste clusters, `ratings` events each, written to storage."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.standard_normal((d, 3)))[0].T
    for u in range(users):
        w = centres[u % 3] + 0.3 * rng.standard_normal(d) / np.sqrt(d)
        latents = rng.standard_normal((ratings, d))
        items = [Item(uuid.uuid4().hex, z, None, "explore") for z in latents]
        storage.put_items(f"user-{u:06d}", items)  # type: ignore[attr-defined]
        for item, z in zip(items, latents, strict=True):
            signal = "like" if z @ w > 0 else "dislike"
            storage.append(f"user-{u:06d}", Feedback(uuid.uuid4().hex, item.id, signal))  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--ratings", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--storage", default="memory://", help="memory:// or sqlite:///path")
    args = parser.parse_args()
    generator = get("identity", latent_dim=args.d)
    print(f"{'users':>7} {'engine s':>9} {'library s':>10} {'engine MiB':>11} {'library MiB':>12}")
    for n in args.users:
        storage = MemoryStorage() if args.storage == "memory://" else from_url(args.storage)
        fill(storage, n, args.d, args.ratings, seed=n)
        engine = Engine(generator, storage=storage, population=Population(epsilon=1.0))
        assert engine.population is not None
        bound = engine.population
        tastes = [t for t in (bound.taste(u) for u in storage.users(limit=n)) if t is not None]
        library = Population(epsilon=1.0)
        times: dict[str, list[float]] = {"engine": [], "library": []}
        for _ in range(args.repeats):
            start = time.perf_counter()
            bound.refresh()
            times["engine"].append(time.perf_counter() - start)
            start = time.perf_counter()
            library.refresh(tastes)
            times["library"].append(time.perf_counter() - start)
        peaks = {}
        for name in ("engine", "library"):
            tracemalloc.start()
            if name == "engine":
                bound.refresh()
            else:
                library.refresh(tastes)
            peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        print(
            f"{n:>7} {np.median(times['engine']):>9.2f} {np.median(times['library']):>10.2f} "
            f"{peaks['engine']:>11.1f} {peaks['library']:>12.1f}"
        )
        engine.close()


if __name__ == "__main__":
    main()
