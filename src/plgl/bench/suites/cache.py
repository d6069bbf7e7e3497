"""What the content cache and candidate pools save: `plgl.bench.cache.cache_savings`.

No cache, the content cache, and the cache with pregenerated pools, for the same simulated users
in one run: generator calls, cache hit rates, the share of items served from the pool, and the
learning quality (normalized utility of recommendation #1).
"""

from __future__ import annotations

from collections.abc import Sequence

from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

TITLE = "Content cache and candidate pools: generator calls saved, hit rates, learning quality"
METRICS = {
    "generator_calls": Metric("latents generated for the user so far", higher_is_better=False),
    "hit_rate": Metric("share of the round's lookups served from the cache"),
    "pool_share": Metric("share of the round's items from the pool"),
    "top1": Metric("normalized utility of recommendation #1", reach=0.9),
    "pool_latents": Metric("pool latents pregenerated (one-off, shared)", higher_is_better=False),
}


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task: the identity generator at d = 16 with linear users (all set-ups, all seeds)."""
    try:
        import plgl.bench.cache  # noqa: F401
    except ImportError as error:
        raise SuiteSkipped(f"plgl.bench.cache cannot be imported: {error}") from error
    chosen = list(seeds) if seeds else [0] if quick else [0, 1, 2]
    if is_tiny():
        size = {"n_ratings": 10, "pool_size": 200}
    elif quick:
        size = {"n_ratings": 60, "pool_size": 2000}
    else:
        size = {"n_ratings": 160, "pool_size": 20000}
    params = {"generator": "identity", "latent_dim": 16, "seeds": chosen, **size}
    return [Task("cache", "identity d=16 linear", "all", None, params, cost=1.0 if quick else 10.0)]


def run_task(task: Task) -> list[Row]:
    """`cache_savings` with the task's sizes."""
    from plgl.bench.cache import cache_savings

    p = task.params
    return cache_savings(
        str(p["generator"]),
        latent_dim=int(p["latent_dim"]),
        seeds=list(p["seeds"]),
        n_ratings=int(p["n_ratings"]),
        pool_size=int(p["pool_size"]),
    )
