"""The molecules' content judge, side by side: atom-pair fingerprints against the perceptual map.

Two measurements on the molecule swipers (`plgl.bench.swipers`: "fingerprint", "target",
"profile"), each kind and seed answered by both judges:

* `--part neighbours`: how well the judge's log-odds follow the swiper's true taste among a
  champion's neighbours (Spearman correlation over 64 latents a short step from the best of 60
  prior molecules, the judge fitted on those 60 and on 60 more near the champion, each liked
  or disliked by the swiper).
* `--part swipers`: the swipers suite's protocol (`plgl.bench.suites.swipers.swipe`: the
  default engine through the web app's cards, batches of 10) with the default engine as it
  ships and with the judge reading the perceptual map instead; medians of For-you and the
  favourite at 30, 60 and 100 answers, the share below the favourite, and new picks.

    OMP_NUM_THREADS=1 nice python benchmarks/molecule_judge.py --part neighbours --seeds 0-9
    OMP_NUM_THREADS=1 nice python benchmarks/molecule_judge.py --part swipers --seeds 0-2
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from plgl import Engine
from plgl.bench.suites._base import Task
from plgl.bench.suites.swipers import swipe
from plgl.bench.swipers import KINDS, swiper
from plgl.generators import Generator
from plgl.generators.molecules import MoleculeGenerator
from plgl.navigation import ContentJudge

STEPS = (30, 60, 100)


class PerceptualJudge(MoleculeGenerator):
    """The molecule generator whose judge reads the perceptual map (the judge before)."""

    def judge_features(self, latents: np.ndarray) -> np.ndarray:
        return Generator.judge_features(self, latents)


def neighbours(generators: dict[str, Any], kind: str, seed: int) -> dict[str, float]:
    """Spearman correlation of each judge's log-odds with the true taste near a champion."""
    plain = generators["atom pairs"]
    user = swiper("molecules", kind, plain, seed, n_prior=1000)
    rng = np.random.default_rng(seed)
    prior = plain.project(plain.sample(60, rng))
    champion = prior[np.argmax(user.utility(prior))]

    def near(n: int) -> np.ndarray:
        steps = rng.standard_normal((n, plain.latent_dim)) * rng.uniform(0.2, 0.6, (n, 1))
        return np.asarray(plain.project(champion + steps))

    rated = np.vstack([prior, near(60)])
    labels = user.likes(rated, rng).astype(np.float64)
    test = near(64)
    truth = user.utility(test)
    out = {}
    for name, generator in generators.items():
        _, judged = ContentJudge(generator).compare(rated, labels, test)
        out[name] = float(spearmanr(judged, truth).statistic)
    return out


def swipers(generators: dict[str, Any], kind: str, seed: int) -> dict[str, dict[str, float]]:
    """The swipers suite's metrics at `STEPS` for each judge's default engine."""
    user = swiper("molecules", kind, generators["atom pairs"], seed, n_prior=4000)
    params = {"domain": "molecules", "ratings": max(STEPS), "kind": kind}
    task = Task("swipers", f"molecules {kind}", "default", seed, params)
    out: dict[str, dict[str, float]] = {}
    for name, generator in generators.items():
        with Engine(generator, seed=seed) as engine:
            for row in swipe(task, "default", engine, user, seed):
                if row["step"] in STEPS:
                    out.setdefault(name, {})[f"{row['metric']}@{row['step']}"] = row["value"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("neighbours", "swipers"), required=True)
    parser.add_argument("--seeds", default="0-2", help="a range, e.g. 0-2")
    parser.add_argument("--kinds", default=",".join(KINDS["molecules"]))
    parser.add_argument("--scale", type=float, default=None, help="atom pairs' norm to try")
    args = parser.parse_args()
    torch.set_num_threads(1)
    first, last = (int(x) for x in args.seeds.split("-"))
    generators: dict[str, Any] = {"atom pairs": MoleculeGenerator()}
    if args.scale is None:
        generators["perceptual"] = PerceptualJudge()
    else:  # a variant alone, to compare with an earlier run of the shipped judges
        generators["atom pairs"].judge_scale = args.scale
    everything: list[Any] = []
    for kind in [*args.kinds.split(","), "all"]:
        results = everything if kind == "all" else []
        for seed in range(first, last + 1) if kind != "all" else ():
            if args.part == "neighbours":
                result: Any = neighbours(generators, kind, seed)
            else:
                result = swipers(generators, kind, seed)
            print(kind, seed, result, flush=True)
            results.append(result)
            everything.append(result)
        for name in generators:
            if args.part == "neighbours":
                values = [r[name] for r in results]
                print(f"{kind} {name}: mean correlation {np.mean(values):.2f}", flush=True)
                continue
            cells = []
            for step in STEPS:
                pick = np.median([r[name][f"for_you@{step}"] for r in results])
                best = np.median([r[name][f"favourite@{step}"] for r in results])
                below = np.mean([r[name][f"below@{step}"] for r in results])
                cells.append(f"{pick:.2f} / {best:.2f} ({below:.0%})")
            new = np.mean([r[name][f"new@{max(STEPS)}"] for r in results])
            print(f"{kind} {name}: " + " | ".join(cells) + f" | new {new:.0%}", flush=True)


if __name__ == "__main__":
    main()
