"""`plgl pregenerate`: fill a generator's candidate pool in a cache, with a progress bar.

Early rounds of every new user are then served mostly from the pool, at no generator cost.
"""

from __future__ import annotations

import argparse
from typing import Any

HELP = "pre-generate a candidate pool (latents and content) into a cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("generator", help="generator name, e.g. faces or identity")
    parser.add_argument("--n", type=int, default=20000, help="pool size to reach (20000)")
    parser.add_argument(
        "--cache",
        required=True,
        help="cache URL: sqlite:///path or redis://host:port/db (memory:// is lost on exit)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the pool's latents (0)")
    parser.add_argument("--batch", type=int, default=250, help="latents per generator call")
    parser.add_argument(
        "--latent-dim", type=int, default=None, help="latent_dim option of the generator"
    )
    parser.add_argument(
        "--by-cluster",
        action="store_true",
        help="instead, add --n latents for each population cluster's members (needs --storage)",
    )
    parser.add_argument("--storage", help="storage URL holding the refreshed population")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from plgl.cache import from_url, pregenerate
    from plgl.errors import PlglError
    from plgl.generators import get

    if args.n < 1 or args.batch < 1 or args.seed < 0:
        raise ValueError("--n and --batch must be >= 1 and --seed >= 0")
    if args.by_cluster != (args.storage is not None):
        raise ValueError("--by-cluster and --storage go together")
    console = Console()
    try:
        options = {} if args.latent_dim is None else {"latent_dim": args.latent_dim}
        generator = get(args.generator, **options)
        store = from_url(args.cache)
    except (PlglError, TypeError) as error:
        raise ValueError(str(error)) from None
    if args.by_cluster:
        try:
            return _by_cluster(args, generator, store, console)
        finally:
            store.close()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task(f"{args.generator} pool", total=args.n)
        try:
            size = pregenerate(
                generator,
                store,
                args.n,
                seed=args.seed,
                batch=args.batch,
                progress=lambda done, total: progress.update(task, completed=done),
            )
        except PlglError as error:  # content the cache cannot hold, an unreachable store
            raise ValueError(str(error)) from None
        finally:
            store.close()
    console.print(f"pool of {args.generator}: {size} items in {args.cache}")
    return 0


def _by_cluster(args: argparse.Namespace, generator: Any, store: Any, console: Any) -> int:
    """Add `args.n` latents for each cluster of the population stored at `args.storage` to the
    generator's pool: what the sampler proposes to a new member (`plgl.population.pools`)."""
    import numpy as np

    import plgl
    from plgl.cache import pregenerate_groups
    from plgl.errors import PlglError
    from plgl.population.pools import cluster_candidates

    try:
        with plgl.Engine(generator, storage=args.storage, population=plgl.Population()) as engine:
            groups = cluster_candidates(engine, args.n, np.random.default_rng(args.seed))
        sizes = pregenerate_groups(generator, store, groups, batch=args.batch)
    except PlglError as error:
        raise ValueError(str(error)) from None
    console.print(f"cluster pools of {args.generator}: {len(sizes)} clusters, {args.n} items each")
    return 0
