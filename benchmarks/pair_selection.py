"""Time to choose cards, single-threaded: the most telling pair (`best_pair`) and a batch of
five cards (`plan_cards`), side by side with the swipe feed's own choice of five items
(`MixtureSampler.select`) on the same candidates, after 100 ratings.

    python benchmarks/pair_selection.py             # d = 16, 64, 512; 120 candidates
    python benchmarks/pair_selection.py --repeat 50

Medians (and 90th percentiles) of CPU milliseconds per call, the candidates' beliefs included.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from collections.abc import Callable

import numpy as np

import plgl
from plgl.bench import LinearUser
from plgl.models import LinearPreference
from plgl.samplers import MixtureSampler
from plgl.samplers.cards import plan_cards
from plgl.samplers.pairs import beliefs, best_pair, pair_proposals


def _cpu_ms(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        times.append(1000 * (time.process_time() - started))
    return float(np.median(times)), float(np.percentile(times, 90))


def _timings(d: int, repeat: int) -> tuple[int, list[tuple[float, float]]]:
    """(candidates, [(median, p90) ms of best_pair, plan_cards(5), select(5)]) at dimension d."""
    rng = np.random.default_rng(0)
    user, model = LinearUser(d, seed=0), LinearPreference().start(d)
    for z in rng.standard_normal((100, d)):
        model.learn(z, float(user.likes(z[None, :], rng)[0]))
    generator = plgl.generators.get("identity", latent_dim=d)
    sampler = MixtureSampler()
    latents = np.vstack(
        [sampler.propose(model, generator, rng), pair_proposals(model, generator, 10, rng)]
    )

    def pair() -> object:
        mean, cov, nuisance = beliefs(model, latents)
        return best_pair(mean, cov, 0.7, nuisance=nuisance, swipes=1)

    return len(latents), [
        _cpu_ms(pair, repeat),
        _cpu_ms(lambda: plan_cards(model, latents, 5, sampler, rng), repeat),
        _cpu_ms(lambda: sampler.select(model, latents, 5, rng), repeat),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="16,64,512", help="comma-separated latent dimensions")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per measurement")
    args = parser.parse_args(argv)
    print(f"{'d':>5} {'candidates':>10} {'best_pair':>16} {'plan_cards(5)':>16} {'select(5)':>16}")
    for d in (int(x) for x in args.dims.split(",")):
        candidates, timings = _timings(d, args.repeat)
        cells = " ".join(f"{f'{m:.2f} ({p:.2f}) ms':>16}" for m, p in timings)
        print(f"{d:>5} {candidates:>10} {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
