"""What the population saves a new user's feed, through the Engine/Session API, side by side:

- "pools": from scratch, with the generator's pregenerated pool (the cache suite's best set-up);
- "prior+pools": the same pool, the new user starting from the population prior;
- "prior+cluster-pools": also a pool pregenerated for each cluster's members
  (`plgl pregenerate --by-cluster`, `plgl.population.pools`), among a member's candidates once
  they are placed in their cluster (after their first batch).

The prior is the mixture (`Population()`, the default: one component per cluster plus a broad
one); the set-ups marked "single" start new users from the single population Gaussian
(`Population(mixture=False)`) instead, in the same run.

Earlier users (a clustered simulated population, `plgl.bench.populations`) rate through their
own sessions; the population is refreshed from that storage (no noise: the wiring is measured
here, the DP cost is the population suite's). Each held-back new user then rates `batch` items
per round; every shown item is rendered, as a feed does. Reported per set-up, medians over the
new users: generator calls for the user's feed so far (the saving of the cluster pools is the
difference between "prior+pools" and "prior+cluster-pools", likewise for "single"), the share
of shown items that came from a pool and from a cluster's pool, the normalized utility of the
top recommendation (0 random, 1 best; for these users the cosine between the learned and the
true taste direction), and the ratings (whole batches) until it first reaches 0.9 and 0.95
(inf: not within 60).

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/cluster_cache.py --new 10
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from plgl.bench.cache import CountingGenerator
from plgl.bench.populations import DirectedUser, PopulationSpec, SimulatedPopulation
from plgl.cache import ContentCache, MemoryCache, pregenerate, pregenerate_groups
from plgl.engine import Engine
from plgl.generators import get
from plgl.population import Population
from plgl.population.pools import cluster_candidates
from plgl.storage import MemoryStorage

STEPS = (10, 20, 30, 40, 60)
TARGETS = (0.9, 0.95)  # top-1 utilities whose first reach is reported
SETUPS = (
    "pools",
    "single prior+pools",
    "single prior+cluster-pools",
    "prior+pools",
    "prior+cluster-pools",
)
_NO_EVICTION = 2**40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--earlier", type=int, default=150, help="earlier users")
    parser.add_argument("--earlier-ratings", type=int, default=30)
    parser.add_argument("--new", type=int, default=10, help="held-back new users")
    parser.add_argument("--pool", type=int, default=5000, help="global pool size")
    parser.add_argument("--per-cluster", type=int, default=300, help="cluster pool size each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    spec = PopulationSpec("clustered", d=args.d, subspace=4, clusters=3, spread=0.3)
    population = SimulatedPopulation(spec, args.seed)
    base = get("identity", latent_dim=args.d)
    pool = MemoryCache(max_bytes=_NO_EVICTION)
    pregenerate(base, pool, args.pool)
    storage = MemoryStorage()
    rng = np.random.default_rng(args.seed)
    earlier = Engine(base, storage=storage, cache=ContentCache(_copy(pool)), population=_pop())
    directions, _ = population.draw(args.earlier, rng)
    for i, w in enumerate(directions):
        _rate(earlier.session(f"earlier-{i}"), DirectedUser(w, seed=i), args.earlier_ratings, rng)
    assert earlier.population is not None
    summary = earlier.population.refresh()
    print(f"population: {summary.users} users, {summary.kind} prior, {summary.clusters} clusters")
    groups = cluster_candidates(earlier, args.per_cluster, rng)

    new_users = population.draw(args.new, np.random.default_rng(70_000 + args.seed))[0]
    table: dict[str, dict[str, list[float]]] = {}
    for setup in SETUPS:
        store = _copy(pool)
        if "cluster-pools" in setup:
            pregenerate_groups(base, store, groups)
        counting = CountingGenerator(base)
        engine = Engine(
            counting,
            storage=storage if setup != "pools" else MemoryStorage(),
            cache=ContentCache(store),
            population=None if setup == "pools" else _pop(mixture="single" not in setup),
        )
        rows: dict[str, list[float]] = {}
        for u, w in enumerate(new_users):
            for key, value in _new_user(engine, counting, w, u, f"new-{setup}-{u}", groups).items():
                rows.setdefault(key, []).append(value)
        table[setup] = rows
    keys = sorted(next(iter(table.values())), key=lambda k: (k.split("@")[0], int(k.split("@")[1])))
    print(
        f"\nmedians over {args.new} new users (d={args.d}, pool {args.pool}, "
        f"{args.per_cluster} per cluster)"
    )
    print(f"{'metric':<22}" + "".join(f"{s:>28}" for s in table))
    for key in keys:
        print(f"{key:<22}" + "".join(f"{np.median(table[s][key]):>28.3f}" for s in table))


def _pop(mixture: bool = True) -> Population:
    return Population(epsilon=None, min_users=50, mixture=mixture)


def _copy(pool: MemoryCache) -> MemoryCache:
    store = MemoryCache(max_bytes=_NO_EVICTION)
    store.update(pool)
    return store


def _rate(session: Any, user: DirectedUser, n: int, rng: np.random.Generator) -> None:
    while session.n_ratings < n:
        items = session.ask(min(10, n - session.n_ratings))
        liked = user.likes(np.array([item.latent for item in items]), rng)
        for item, like in zip(items, liked, strict=True):
            session.tell(item.id, "like" if like else "dislike")


def _new_user(
    engine: Engine,
    counting: CountingGenerator,
    w: np.ndarray,
    u: int,
    name: str,
    groups: dict[str, np.ndarray],
) -> dict[str, float]:
    rng = np.random.default_rng(90_000 + u)
    user = DirectedUser(w, seed=1000 + u)
    session = engine.session(name.replace(" ", "-"))
    cluster_rows = {int(r) for g in groups for r in engine.cache.group_pool_rows(g)}
    start, probe, pooled, clustered, shown = counting.calls, 0, 0, 0, 0
    out: dict[str, float] = {}
    while session.n_ratings < STEPS[-1]:
        items = session.ask(10)
        for item in items:
            session.render(item.id)
        digests = engine.cache.digests(np.array([item.latent for item in items]))
        pooled += sum(d in engine.cache.pool.rows for d in digests)
        clustered += sum(engine.cache.pool.rows.get(d) in cluster_rows for d in digests)
        shown += len(items)
        liked = user.likes(np.array([item.latent for item in items]), rng)
        for item, like in zip(items, liked, strict=True):
            session.tell(item.id, "like" if like else "dislike")
        spent = counting.calls
        top = session.recommend(1)[0]
        probe += counting.calls - spent  # the benchmark's probe is not the feed's cost
        step = session.n_ratings
        utility = float(user.normalized(top.latent[None])[0])
        for target in TARGETS:
            if utility >= target:
                out.setdefault(f"ratings_to_{target}@60", float(step))
        if step in STEPS:
            out[f"top1@{step}"] = utility
            out[f"generator_calls@{step}"] = float(counting.calls - start - probe)
            out[f"pool_share@{step}"] = pooled / shown
            out[f"cluster_share@{step}"] = clustered / shown
    for target in TARGETS:
        out.setdefault(f"ratings_to_{target}@60", np.inf)  # not reached within the feed
    return out


if __name__ == "__main__":
    main()
