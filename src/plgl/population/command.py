"""`plgl population refresh|report`: refit the population from the users in a storage (its
state is kept there, where every engine over that storage picks it up), or write the operator's
report (Markdown, and PNG exemplar grids where the generator renders PNG).

    plgl population refresh --storage sqlite:///plgl-data/plgl.db --generator faces
    plgl population report --storage sqlite:///plgl-data/plgl.db --generator faces --out report
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plgl.engine import Engine

HELP = "refresh the population prior and clusters from stored users, or write their report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["refresh", "report"], help="what to do")
    parser.add_argument("--storage", required=True, help="storage URL of the users")
    parser.add_argument("--generator", default="identity", help="the domain's generator (identity)")
    parser.add_argument("--latent-dim", type=int, default=None, help="its latent_dim option")
    parser.add_argument(
        "--epsilon",
        default="1.0",
        help="(epsilon, delta)-DP of each refresh (1.0); 'none' releases without noise",
    )
    parser.add_argument("--delta", type=float, default=1e-6, help="delta (1e-6)")
    parser.add_argument("--min-users", type=int, default=50, help="fewest users for a prior (50)")
    parser.add_argument("--out", type=Path, help="report folder (report only)")
    parser.add_argument("--exemplars", type=int, default=6, help="exemplars per cluster (6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the exemplars (0)")
    parser.add_argument(
        "--held-back",
        type=int,
        default=0,
        help="measure the speed-up of new users on this many held-back stored users (0: no)",
    )


def run(args: argparse.Namespace) -> int:
    from plgl.errors import PlglError

    if args.action == "report" and args.out is None:
        raise ValueError("report needs --out DIR")
    if args.exemplars < 1 or args.seed < 0 or args.held_back < 0:
        raise ValueError("--exemplars must be >= 1, --seed and --held-back >= 0")
    try:
        engine = _engine(args)
    except (PlglError, TypeError) as error:
        raise ValueError(str(error)) from None
    with engine:
        population = engine.population
        assert population is not None
        try:
            if args.action == "refresh":
                summary = population.refresh()
                print(
                    f"population: {summary.users} users, {summary.kind} prior (rank "
                    f"{summary.rank}), {summary.clusters} clusters, {summary.matching_users} "
                    f"matchable; epsilon {_eps(summary.epsilon)} this refresh, "
                    f"{_eps(summary.total_epsilon)} in total"
                )
                return 0
            from plgl.population.report import write_report
            from plgl.population.speedup import held_back_speedup

            if population.summary() is None:
                raise ValueError("no population is stored yet: run `plgl population refresh` first")
            speedup = None
            if args.held_back:
                speedup = held_back_speedup(engine, args.held_back, seed=args.seed)
            path = write_report(
                population.population,
                args.out,
                engine.generator,
                args.exemplars,
                speedup=speedup,
                seed=args.seed,
            )
        except PlglError as error:
            raise ValueError(str(error)) from None
    print(f"population report: {path}")
    return 0


def _engine(args: argparse.Namespace) -> Engine:
    import plgl
    from plgl.population import Population

    epsilon = None if str(args.epsilon).lower() == "none" else float(args.epsilon)
    options = {} if args.latent_dim is None else {"latent_dim": args.latent_dim}
    generator = plgl.generators.get(args.generator, **options)
    population = Population(epsilon=epsilon, delta=args.delta, min_users=args.min_users)
    return plgl.Engine(generator=generator, storage=args.storage, population=population)


def _eps(value: float | None) -> str:
    return "none (no noise)" if value is None else f"{value:.3g}"
