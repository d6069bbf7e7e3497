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

from typing import Any

import numpy as np
from card_swipers import arguments, every_swiper, swiper, through_cards

from plgl.bench import swipers as swiper_kinds
from plgl.bench.users import clip_to_ball

STEPS = (30, 60, 100)
RANDOM_ITEMS = 2000  # prior items decoded for the random-search baseline
DRAWS = 200  # random subsets averaged per checkpoint


def run(domain: str, kind: str, seed: int) -> dict[int, tuple[int, float, float]]:
    """Per checkpoint: (items shown, best shown, expected best of as many random items)."""
    generator, user = swiper(domain, kind, seed)
    prior = np.random.default_rng([91_000, seed])
    values = user.normalized(clip_to_ball(prior.standard_normal((RANDOM_ITEMS, user.d))))
    shown: dict[str, np.ndarray] = {}
    out = {}

    def after(session: Any, batch: Any) -> None:
        shown.update((item.id, item.latent) for card in batch for item in card)
        if session.n_ratings in STEPS:
            n = len(shown)
            best = float(user.normalized(np.array(list(shown.values()))).max())
            picks = (prior.choice(len(values), n, replace=False) for _ in range(DRAWS))
            draws = [values[rows].max() for rows in picks]
            out[session.n_ratings] = (n, best, float(np.mean(draws)))

    through_cards(generator, user, seed, max(STEPS), after)
    return out


def main() -> None:
    args = arguments(__doc__, list(swiper_kinds.KINDS), "0-2")
    plan, found = every_swiper(run, args.domain, args.seeds, args.jobs)
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
