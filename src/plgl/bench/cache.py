"""What the content cache and candidate pools save: generator calls, cache hit rates and
learning quality, side by side for three set-ups of the same engine in one run:

- "no-cache": no content cache (`memory://?max_bytes=0`) and no pool: every candidate and every
  render runs the generator;
- "cache": the default in-memory content cache, no pool: renders of shown items are hits;
- "pools": the content cache with a pregenerated pool (its one-off cost is reported as the
  scalar metric "pool_latents", shared by every user);
- "eager-no-cache" and "eager-pools": the same with a content safety check (a predicate that
  flags nothing), which makes the session render every candidate before choosing, as the
  engine did before the content cache (and still does when safety must see content).

A simulated user rates `batch` items per round through `ask`; every shown item is rendered, as
a feed does (`Session.render`), then rated. Generator calls count the latents the feed needed
generated (asks and renders). After each round the top recommendation is scored with the user's
true utility (normalized: 0 random, 1 best), as in `plgl.bench.loop`; that probe's own
generator calls are not counted, as a feed does not make them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from plgl.bench.users import make_user
from plgl.cache import ContentCache, MemoryCache, pregenerate
from plgl.engine import Engine
from plgl.generators import Generator, get
from plgl.safety import Safety

# method -> (content cache on, pool, every candidate rendered)
_SETUPS = {
    "no-cache": (False, False, False),
    "cache": (True, False, False),
    "pools": (True, True, False),
    "eager-no-cache": (False, False, True),
    "eager-pools": (True, True, True),
}
METHODS = tuple(_SETUPS)
_NO_EVICTION = 2**40  # the benchmark measures pools and reuse, not eviction


class CountingGenerator(Generator):
    """Wraps a generator and counts the latents it generates (`calls`); same config, so the
    same cache keys."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.name = inner.name
        self.latent_dim = inner.latent_dim
        self.modality = inner.modality
        self.media_types = inner.media_types
        self.calls = 0

    def generate(self, latents: np.ndarray) -> list[Any]:
        self.calls += len(latents)
        return self.inner.generate(latents)

    def _render(self, content: Any, media_type: str) -> bytes:
        return self.inner.render(content, media_type)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.inner.sample(n, rng)

    def project(self, latents: np.ndarray) -> np.ndarray:
        return self.inner.project(latents)

    def config(self) -> dict[str, Any]:
        return self.inner.config()


def cache_savings(
    generator: str = "identity",
    *,
    latent_dim: int | None = 16,
    user: str = "linear",
    seeds: Sequence[int] = (0, 1, 2),
    n_ratings: int = 100,
    batch: int = 10,
    pool_size: int = 20000,
    methods: Sequence[str] = METHODS,
) -> list[dict[str, Any]]:
    """Rows {"suite": "cache", "problem", "method", "seed", "step", "metric", "value"} per round:
    metrics "generator_calls" (latents generated for this user so far), "hit_rate" (share of
    the round's content lookups and renders served from the cache), "pool_share" (share of the
    round's shown items that came from the pool) and "top1" (normalized utility of the top
    recommendation); plus one scalar row "pool_latents" (step None) for the pools' one-off cost.

    >>> rows = cache_savings(latent_dim=4, seeds=[0], n_ratings=10, pool_size=200)
    >>> sorted({row["metric"] for row in rows if row["method"] == "pools"})
    ['generator_calls', 'hit_rate', 'pool_latents', 'pool_share', 'top1']
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; expected some of {METHODS}")
    base = get(generator, **({} if latent_dim is None else {"latent_dim": latent_dim}))
    problem = f"{generator}-d{base.latent_dim}-{user}"
    rows: list[dict[str, Any]] = []
    pool: MemoryCache | None = None
    for method in methods:
        cached, pooled, eager = _SETUPS[method]
        store = MemoryCache(max_bytes=_NO_EVICTION if cached else 0)
        if pooled:
            if pool is None:
                pool = MemoryCache(max_bytes=_NO_EVICTION)
                pregenerate(base, pool, pool_size)
            store.update(pool)
            rows.append(_row(problem, method, None, None, "pool_latents", pool_size))
        counting = CountingGenerator(base)
        safety = Safety(predicate=_flags_nothing) if eager else None
        engine = Engine(counting, cache=ContentCache(store), seed=0, safety=safety)
        for seed in seeds:
            rows += _run_user(
                engine,
                counting,
                make_user(user, base.latent_dim, seed),
                seed,
                n_ratings,
                batch,
                problem,
                method,
            )
    return rows


def _run_user(
    engine: Engine,
    counting: CountingGenerator,
    user: Any,
    seed: int,
    n_ratings: int,
    batch: int,
    problem: str,
    method: str,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(20_000 + seed)
    session = engine.session(f"user-{seed}")
    start, probe = counting.calls, 0
    rows: list[dict[str, Any]] = []
    while session.n_ratings < n_ratings:
        before = _tally(engine)
        items = session.ask(min(batch, n_ratings - session.n_ratings))
        for item in items:
            session.render(item.id)
        answers = user.likes(np.array([item.latent for item in items]), rng)
        for item, liked in zip(items, answers, strict=True):
            session.tell(item.id, "like" if liked else "dislike")
        spent, after = counting.calls, _tally(engine)
        top = session.recommend(1)[0]
        probe += counting.calls - spent  # the benchmark's probe, not the feed's cost
        needs, hits = (after[key] - before[key] for key in ("needs", "hits"))
        pooled = engine.cache.digests(np.array([item.latent for item in items]))
        step = session.n_ratings
        rows += [
            _row(problem, method, seed, step, "generator_calls", counting.calls - start - probe),
            _row(problem, method, seed, step, "hit_rate", hits / needs),
            _row(problem, method, seed, step, "top1", float(user.normalized(top.latent[None])[0])),
        ]
        if "pools" in method:
            share = np.mean([d in engine.cache.pool.rows for d in pooled])
            rows.append(_row(problem, method, seed, step, "pool_share", float(share)))
    return rows


def _tally(engine: Engine) -> Counter[str]:
    """Content needs so far (lookups and renders served from rendered bytes), and cache hits."""
    stats = engine.cache.stats
    return Counter(
        needs=stats["lookups"] + stats["render_hits"], hits=stats["hits"] + stats["render_hits"]
    )


def _flags_nothing(content: Any) -> bool:
    return False


def _row(
    problem: str, method: str, seed: int | None, step: int | None, metric: str, value: float
) -> dict[str, Any]:
    return {
        "suite": "cache",
        "problem": problem,
        "method": method,
        "seed": seed,
        "step": step,
        "metric": metric,
        "value": float(value),
    }
