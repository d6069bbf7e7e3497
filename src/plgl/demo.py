"""`plgl demo`: watch a simulated user teach the engine, batch by batch."""

from __future__ import annotations

import argparse
import time

HELP = "a simulated user swipes; watch the model learn"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dim", type=int, default=16, help="latent dimension (default 16)")
    parser.add_argument("--ratings", type=int, default=80, help="ratings to give (default 80)")
    parser.add_argument("--explore", type=float, default=0.3, help="exploration share (0.3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.15, help="seconds to pause per batch")


def run(args: argparse.Namespace) -> int:
    if args.dim < 1 or args.ratings < 1 or not 0 <= args.explore <= 1:
        raise ValueError("--dim and --ratings must be >= 1 and --explore in [0, 1]")
    return run_demo(args.dim, args.ratings, args.explore, args.seed, args.delay)


def run_demo(dim: int, ratings: int, explore: float, seed: int, delay: float) -> int:
    """A hidden linear taste rates batches of 10; after each, the top recommendation is scored."""
    # Imported here, not at the top: `plgl --help` imports this module and must stay fast.
    import numpy as np
    from rich.console import Console
    from rich.live import Live
    from rich.panel import Panel
    from rich.table import Table

    import plgl
    from plgl.bench import LinearUser
    from plgl.samplers import MixtureSampler

    console = Console()
    generator = plgl.generators.get("identity", latent_dim=dim)
    engine = plgl.Engine(generator=generator, seed=seed, sampler=MixtureSampler(explore=explore))
    session = engine.session("demo-user")
    user = LinearUser(dim, seed)
    rng = np.random.default_rng(seed)
    console.print(
        Panel(
            f"A simulated user with a hidden taste over a {dim}-d latent space rates batches of "
            f"10 items (like or dislike, noisy). After each batch plgl recommends its best item; "
            "its quality is scored against the hidden taste: 0 = a random item, 1 = the best "
            "possible item.",
            title="plgl demo",
        )
    )
    table = Table("ratings", "liked in batch", "best recommendation", "update time")
    tell_times: list[float] = []
    with Live(table, console=console, refresh_per_second=20):
        while session.n_ratings < ratings:
            items = session.ask(min(10, ratings - session.n_ratings))
            answers = user.likes(np.array([item.latent for item in items]), rng)
            for item, liked in zip(items, answers, strict=True):
                start = time.perf_counter()
                session.tell(item.id, "like" if liked else "dislike")
                tell_times.append(time.perf_counter() - start)
            quality = float(user.normalized(session.recommend(1)[0].latent[None, :])[0])
            table.add_row(
                str(session.n_ratings),
                f"{answers.sum()}/{len(items)}",
                _bar(quality),
                f"{1000 * np.median(tell_times[-len(items) :]):.2f} ms",
            )
            time.sleep(delay)
    quality = float(user.normalized(session.recommend(1)[0].latent[None, :])[0])
    console.print(
        Panel(
            f"After {session.n_ratings} ratings the best recommendation scores {quality:.2f} "
            f"(random items score 0). Median update time {1000 * np.median(tell_times):.2f} ms.\n"
            f"{session.explain()['summary']}",
            title="summary",
        )
    )
    return 0


def _bar(value: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, value)) * width)
    return f"{'█' * filled}{'·' * (width - filled)} {value:5.2f}"
