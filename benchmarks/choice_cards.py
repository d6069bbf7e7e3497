"""Choice cards against pair duels, side by side: how many items a duel card holds.

The feed's champion duels (`plgl.duels`) and a population-started user's favourite cards show
the champion with `DUEL_CARD - 1` challengers, and the user chooses one (one answer). This
runs the same simulated swipers through the default engine with each card size given
(`--cards 2,4`: 2 is the pair duel of before), answer for answer on the same answer stream:

* faces, melodies, molecules: the `swipers` suite (`plgl.bench.swipers`, every kind; batches
  of 10 cards, For-you and the favourite at 30 / 60 / 100 answers).
* population-faces: the `population-faces` suite's new swipers with the mixture prior of the
  noiseless population (batches of 5 cards, at 10 / 20 / 30 answers).

Prints per card size the medians For-you / favourite (share of runs below the favourite) at
each checkpoint and the share of new picks, then the paired mean difference of For-you and of
the favourite against the first size, with its standard error.

    OMP_NUM_THREADS=1 nice python benchmarks/choice_cards.py --domain melodies --seeds 0-23
    OMP_NUM_THREADS=1 nice python benchmarks/choice_cards.py --domain population-faces \\
        --seeds 40-79
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import torch

import plgl.duels
import plgl.feed_duels
from plgl.bench import swipers as swiper_kinds
from plgl.bench.command import parse_seeds
from plgl.bench.suites import swipers as suite
from plgl.bench.suites._base import Task
from plgl.engine import Engine
from plgl.generators import get

STEPS = {"population-faces": (10, 20, 30)}
"""Checkpoints per domain where they are not the swipers suite's (30, 60, 100)."""


def run(domain: str, kind: str, seed: int, card: int | None = None) -> dict[str, float]:
    """One swiper through the default engine with `card` items per duel card (None: as
    shipped): the suite's metrics at the domain's checkpoints, keyed "metric@step"."""
    torch.set_num_threads(1)
    if card is not None:
        plgl.duels.DUEL_CARD = plgl.feed_duels.DUEL_CARD = card
    steps = STEPS.get(domain, suite._STEPS)
    if domain == "population-faces":
        engine, user = _population_swiper(seed)
        suite._BATCH = 5
    else:
        generator = get(domain)
        user = swiper_kinds.swiper(domain, kind, generator, seed, n_prior=4000)
        engine = Engine(generator, seed=seed)
    task = Task("swipers", f"{domain} {kind}", "default", seed, {"ratings": max(steps)})
    with engine:
        rows = suite.swipe(task, "default", engine, user, seed)
    return {f"{r['metric']}@{r['step']}": r["value"] for r in rows if r["step"] in steps}


def _population_swiper(seed: int) -> tuple[Engine, Any]:
    """The `population-faces` suite's new swiper `seed` and the default engine whose model
    starts from the noiseless population's mixture prior."""
    from plgl.bench.suites import population_faces as pf
    from plgl.bench.swipers import ContentSwiper, random_features
    from plgl.models.mixture import MixturePreference

    generator = get("faces")
    population = pf._population("no noise", 1.0, 0)
    direction = pf._member(np.random.default_rng([80_000, seed]))
    _, embedding = pf._bank(pf._bank_size(1.0))
    user = ContentSwiper(
        generator,
        random_features(pf._filters(), direction),
        seed=seed,
        prior_values=embedding @ direction,
    )
    model = MixturePreference(mixture=population.mixture_prior())
    return Engine(generator, seed=seed, model=model), user


def report(domain: str, results: dict[str, list[dict[str, float]]]) -> None:
    """Medians per version (card size, source tree), then paired differences against the
    first: `results` holds each version's runs (`run`'s metrics) in the same order."""
    steps = STEPS.get(domain, suite._STEPS)
    versions = list(results)
    for version in versions:
        runs = results[version]
        cells = []
        for step in steps:
            pick = np.median([r[f"for_you@{step}"] for r in runs])
            best = np.median([r[f"favourite@{step}"] for r in runs])
            below = np.mean([r[f"below@{step}"] for r in runs])
            cells.append(f"{pick:.2f} / {best:.2f} ({below:.0%})")
        new = np.mean([r[f"new@{max(steps)}"] for r in runs])
        print(f"{version}, {len(runs)} runs: {' | '.join(cells)} | new {new:.0%}")
    base = results[versions[0]]
    for version in versions[1:]:
        cells = []
        pairs = list(zip(base, results[version], strict=True))
        for step in steps:
            for metric in ("for_you", "favourite"):
                key = f"{metric}@{step}"
                gain = np.array([b[key] - a[key] for a, b in pairs])
                error = gain.std(ddof=1) / np.sqrt(len(gain))
                cells.append(f"{key} {gain.mean():+.3f} +- {error:.3f}")
        print(f"{version} against {versions[0]} (paired mean +- s.e.): " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain", required=True, choices=[*swiper_kinds.KINDS, *STEPS])
    parser.add_argument("--seeds", default="0-2", help="e.g. 0-23")
    parser.add_argument("--cards", default="2,4", help="items a duel card holds, e.g. 2,4")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    args = parser.parse_args()
    kinds = swiper_kinds.KINDS.get(args.domain, ("random-features",))
    sizes = [int(x) for x in args.cards.split(",")]
    plan = [(kind, seed) for kind in kinds for seed in parse_seeds(args.seeds)]
    results: dict[str, list[dict[str, float]]] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for card in sizes:
            found = pool.map(run, *zip(*[(args.domain, k, s, card) for k, s in plan], strict=True))
            runs: list[dict[str, float]] = []
            results[f"{card} items a duel card"] = runs
            for (kind, seed), metrics in zip(plan, found, strict=True):
                print(json.dumps({"card": card, "kind": kind, "seed": seed, **metrics}), flush=True)
                runs.append(metrics)
    report(args.domain, results)


if __name__ == "__main__":
    main()
