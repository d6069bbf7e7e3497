"""How well the feed searches: the best item it showed against random search of as many items.

Runs `swipers` suite swipers (`plgl.bench.swipers`, every kind of a domain) through the default
engine's cards, answered as the suite answers them, and prints per swiper at 30 / 60 / 100
answers: the distinct items shown so far, the best of them by the swiper's true taste
(normalized: 0 a random item, 1 the best of 4,000), and what random search would have shown:
the expected best of as many random prior items (the mean over 200 draws from 2,000 prior
items decoded for the purpose, their own random stream). A feed that learns shows better items
than random search; one whose best stops improving has stopped finding better content.

    OMP_NUM_THREADS=1 nice python benchmarks/shown_vs_random.py --domain molecules --seeds 0-2
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

from plgl.bench import swipers as swiper_kinds
from plgl.bench.cards import answer
from plgl.bench.command import parse_seeds
from plgl.bench.users import clip_to_ball
from plgl.engine import Engine
from plgl.generators import get

STEPS = (30, 60, 100)
RANDOM_ITEMS = 2000  # prior items decoded for the random-search baseline
DRAWS = 200  # random subsets averaged per checkpoint


def run(domain: str, kind: str, seed: int) -> dict[int, tuple[int, float, float]]:
    """Per checkpoint: (items shown, best shown, expected best of as many random items)."""
    torch.set_num_threads(1)
    generator = get(domain)
    user = swiper_kinds.swiper(domain, kind, generator, seed, n_prior=4000)
    prior = np.random.default_rng([91_000, seed])
    values = user.normalized(clip_to_ball(prior.standard_normal((RANDOM_ITEMS, user.d))))
    shown: dict[str, np.ndarray] = {}
    out = {}
    with Engine(generator, seed=seed) as engine:
        session = engine.session(f"swiper-{seed}")
        answers = np.random.default_rng(20_000 + seed)
        while session.n_ratings < max(STEPS):
            batch = session.next_cards(10 - session.n_ratings % 10)
            shown.update((item.id, item.latent) for card in batch for item in card)
            for card in batch:
                answer(session, user, card, answers)
            if session.n_ratings in STEPS:
                n = len(shown)
                best = float(user.normalized(np.array(list(shown.values()))).max())
                draws = [
                    values[prior.choice(len(values), n, replace=False)].max() for _ in range(DRAWS)
                ]
                out[session.n_ratings] = (n, best, float(np.mean(draws)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain", required=True, choices=list(swiper_kinds.KINDS))
    parser.add_argument("--seeds", default="0-2", help="e.g. 0-8")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    args = parser.parse_args()
    plan = [(k, s) for k in swiper_kinds.KINDS[args.domain] for s in parse_seeds(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        found = list(pool.map(run, *zip(*[(args.domain, k, s) for k, s in plan], strict=True)))
    print("swiper | " + " | ".join(f"{s} answers: shown, best shown / random" for s in STEPS))
    for (kind, seed), row in zip(plan, found, strict=True):
        cells = [f"{row[s][0]}, {row[s][1]:.2f} / {row[s][2]:.2f}" for s in STEPS]
        print(f"{kind} {seed} | " + " | ".join(cells))
    for i, step in enumerate(STEPS):
        best = np.array([row[step][1] for row in found])
        gain = best - np.array([row[step][2] for row in found])
        line = (
            f"{step} answers: median shown {np.median([row[step][0] for row in found]):.0f}, "
            f"best shown {np.median(best):.2f} against random "
            f"{np.median([row[step][2] for row in found]):.2f} (paired mean {gain.mean():+.3f} "
            f"+- {gain.std(ddof=1) / np.sqrt(len(gain)):.3f})"
        )
        if i:
            stalled = np.mean([row[step][1] <= row[STEPS[i - 1]][1] for row in found])
            line += f", no better than at {STEPS[i - 1]} answers in {stalled:.0%}"
        print(line)


if __name__ == "__main__":
    main()
