"""Where the `population-faces` swipers lose: the faces shown, the favourite, the model's ranking.

    python benchmarks/population_faces_diagnosis.py                 # 20 swipers, no noise
    python benchmarks/population_faces_diagnosis.py --seeds 0-9 --engines "mixture prior"

The same new swipers, population (500 earlier swipers, no noise) and engines as
`plgl bench --suite population-faces` (same seeds, same answers), through the web app's cards.
After every batch of 10 answers, per swiper: For-you (`recommend(1)`), the best face shown so
far and the best rated positively (liked, or chosen in a pair card), all as true normalized
utility (1 = the best of the bank's 3,000 faces), and the model's rank correlation with the
swiper's taste over the bank. Medians over swipers, how many reach 0.9, and, for the lower half
by For-you at the last step, whether a face of 0.9 was ever shown: if not, what the feed asks
is what loses; if it was, the choice of favourite.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per core, set before numpy loads

import argparse

import numpy as np
import torch
from scipy.stats import spearmanr

from plgl.bench.suites import population_faces as suite
from plgl.bench.swipers import ContentSwiper, random_features
from plgl.engine import Engine
from plgl.generators import get
from plgl.models import LinearPreference
from plgl.models.mixture import MixturePreference

STEPS = (10, 20, 30)
GOOD = 0.9


def run(seed: int, engine_name: str) -> dict[int, tuple[float, float, float, float]]:
    """Per step: (For-you, best shown, best positive, model's rank correlation over the bank)."""
    generator = get("faces")
    population = suite._population("no noise", 1.0, 0)
    bank, embedding = suite._bank(suite._bank_size(1.0))
    direction = suite._member(np.random.default_rng([80_000, seed]))  # as the suite draws it
    values = embedding @ direction
    user = ContentSwiper(
        generator, random_features(suite._filters(), direction), seed=seed, prior_values=values
    )
    model = {
        "scratch": None,
        "mixture prior": MixturePreference(mixture=population.mixture_prior()),
        "population prior": LinearPreference(prior=population.prior()),
    }[engine_name]
    answers = np.random.default_rng(20_000 + seed)  # the suite's answer stream
    out: dict[int, tuple[float, float, float, float]] = {}
    with Engine(generator, seed=seed, model=model) as engine:
        session = engine.session(f"swiper-{seed}")
        shown: list[np.ndarray] = []
        positive: list[np.ndarray] = []
        while session.n_ratings < STEPS[-1]:
            for card in session.next_cards(10 - session.n_ratings % 10):
                shown += [item.latent for item in card]
                if len(card) == 1:
                    liked = bool(user.likes(card[0].latent[None], answers)[0])
                    session.tell(card[0].id, "like" if liked else "dislike")
                    positive += [card[0].latent] if liked else []
                    continue
                first, second = card
                if not user.prefers(first.latent[None], second.latent[None], answers)[0]:
                    first, second = second, first
                session.compare(first.id, second.id)
                positive.append(first.latent)
            pick = session.recommend(1)[0].latent[None]
            rho = spearmanr(session.model.decision_function(bank), values)[0]
            out[session.n_ratings] = (
                float(user.normalized(pick)[0]),
                float(user.normalized(np.array(shown)).max()),
                float(user.normalized(np.array(positive)).max()) if positive else np.nan,
                float(rho),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-19", help="range, e.g. 0-19")
    parser.add_argument("--engines", default="scratch,mixture prior,population prior")
    args = parser.parse_args()
    torch.set_num_threads(1)
    low, high = (int(s) for s in args.seeds.split("-"))
    for engine_name in args.engines.split(","):
        runs = {seed: run(seed, engine_name) for seed in range(low, high + 1)}
        print(f"\n{engine_name}: medians over {len(runs)} swipers (count >= {GOOD})")
        print("answers | For-you | best shown | best positive | rank corr. over the bank")
        for step in STEPS:
            rows = np.array([runs[seed][step] for seed in runs])
            med = np.nanmedian(rows, axis=0)
            good = (rows[:, :3] >= GOOD).sum(axis=0)
            print(
                f"{step:7d} | {med[0]:.2f} ({good[0]:2d}) | {med[1]:.2f} ({good[1]:2d}) | "
                f"{med[2]:.2f} ({good[2]:2d}) | {med[3]:.2f}"
            )
        last = sorted(runs, key=lambda seed: runs[seed][STEPS[-1]][0])[: len(runs) // 2]
        never = [seed for seed in last if runs[seed][STEPS[-1]][1] < GOOD]
        print(
            f"lower half at {STEPS[-1]} answers (For-you): {len(never)} of {len(last)} were "
            f"never shown a face of {GOOD} (swipers {never}); best shown there, median "
            f"{np.median([runs[s][STEPS[-1]][1] for s in last]):.2f}"
        )


if __name__ == "__main__":
    main()
