"""Two content judges side by side on one domain's swipers: what `molecule_judge.py` and
`melody_judge.py` run, each with its generator (the shipped judge) and the judge before (the
same generator reading its perceptual map).

* `neighbours`: how well a judge's log-odds follow the swiper's true taste among a champion's
  neighbours (Spearman correlation over 64 latents a short step from the best of 60 prior
  items, the judge fitted on those 60 and on 60 more near the champion, each liked or
  disliked by the swiper).
* `swipers`: the swipers suite's protocol (`plgl.bench.suites.swipers.swipe`: the default
  engine through the web app's cards, batches of 10) with each judge; medians of For-you and
  the favourite at 30, 60 and 100 answers, the share below the favourite, and new picks, by
  kind and over all.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from plgl import Engine
from plgl.bench.suites._base import Task
from plgl.bench.suites.swipers import swipe
from plgl.bench.swipers import KINDS, swiper
from plgl.generators import Generator
from plgl.navigation import ContentJudge

STEPS = (30, 60, 100)
BEFORE = "perceptual"


def perceptual_judge(generator_class: type[Generator]) -> Generator:
    """A `generator_class` whose judge reads the perceptual map (the judge before)."""

    class PerceptualJudge(generator_class):  # type: ignore[misc, valid-type]
        def judge_features(self, latents: np.ndarray) -> np.ndarray:
            return Generator.judge_features(self, latents)

    return PerceptualJudge()


def neighbours(
    domain: str, generators: dict[str, Any], shipped: str, kind: str, seed: int
) -> dict[str, float]:
    """Spearman correlation of each judge's log-odds with the true taste near a champion."""
    plain = generators[shipped]
    user = swiper(domain, kind, plain, seed, n_prior=1000)
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


def swipers(
    domain: str, generators: dict[str, Any], shipped: str, kind: str, seed: int
) -> dict[str, dict[str, float]]:
    """The swipers suite's metrics at `STEPS` for each judge's default engine."""
    user = swiper(domain, kind, generators[shipped], seed, n_prior=4000)
    params = {"domain": domain, "ratings": max(STEPS), "kind": kind}
    task = Task("swipers", f"{domain} {kind}", "default", seed, params)
    out: dict[str, dict[str, float]] = {}
    for name, generator in generators.items():
        with Engine(generator, seed=seed) as engine:
            for row in swipe(task, "default", engine, user, seed):
                if row["step"] in STEPS:
                    out.setdefault(name, {})[f"{row['metric']}@{row['step']}"] = row["value"]
    return out


def summary(part: str, name: str, results: list[Any]) -> str:
    """One line of medians (swipers) or the mean correlation (neighbours) of one judge."""
    if part == "neighbours":
        return f"mean correlation {np.mean([r[name] for r in results]):.2f}"
    cells = []
    for step in STEPS:
        pick = np.median([r[name][f"for_you@{step}"] for r in results])
        best = np.median([r[name][f"favourite@{step}"] for r in results])
        below = np.mean([r[name][f"below@{step}"] for r in results])
        cells.append(f"{pick:.2f} / {best:.2f} ({below:.0%})")
    new = np.mean([r[name][f"new@{max(STEPS)}"] for r in results])
    return " | ".join(cells) + f" | new {new:.0%}"


def main(
    domain: str,
    shipped: str,
    generator_class: Callable[[], Generator],
    doc: str,
    seeds: str,
    scale_help: str,
) -> None:
    """The command line of a domain's judge benchmark (`--part`, `--seeds`, `--kinds`,
    `--scale`: a variant of the shipped judge alone, to compare with an earlier run)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--part", choices=("neighbours", "swipers"), required=True)
    parser.add_argument("--seeds", default=seeds, help=f"a range, e.g. {seeds}")
    parser.add_argument("--kinds", default=",".join(KINDS[domain]))
    parser.add_argument("--scale", type=float, default=None, help=scale_help)
    args = parser.parse_args()
    torch.set_num_threads(1)
    first, last = (int(x) for x in args.seeds.split("-"))
    generators: dict[str, Any] = {shipped: generator_class()}
    if args.scale is None:
        generators[BEFORE] = perceptual_judge(generator_class)  # type: ignore[arg-type]
    else:
        generators[shipped].judge_scale = args.scale
    part = neighbours if args.part == "neighbours" else swipers
    everything: list[Any] = []
    for kind in args.kinds.split(","):
        results = []
        for seed in range(first, last + 1):
            result = part(domain, generators, shipped, kind, seed)
            print(kind, seed, result, flush=True)
            results.append(result)
        everything += results
        for name in generators:
            print(f"{kind} {name}: {summary(args.part, name, results)}", flush=True)
    for name in generators:
        print(f"all {name}: {summary(args.part, name, everything)}", flush=True)
