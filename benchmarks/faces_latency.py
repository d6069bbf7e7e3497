"""Per-rating cost on faces: today's engine (isotropic prior, the model's closed-form top) beside
the latent default (geometry prior, grounded feed and For-you with the content judge) and the
content model (`ContentPreference`: Bayesian logistic regression over an embedding of the
perceptual map, proposals from its bank of embedded faces), in one run, single-threaded.

    python benchmarks/faces_latency.py              # 3 swipers x 100 ratings per engine
    python benchmarks/faces_latency.py --quick      # 1 swiper x 40 ratings

A simulated face swiper (`plgl.bench.swipers`, "blur-linear") rates batches of 10 through the
public API. Timed (wall clock, `time.perf_counter`, one thread): every `tell`, every `ask(10)`
(content made for the 10 faces included) and a `recommend(1)` after each batch (the content
judge refits there, from cached perceptual maps). Medians and 90th percentiles. The content
model's bank (4,096 faces embedded once) is made or loaded before the clock starts, as a server
does at start-up (`ContentEmbedding`, saved in the plgl cache folder).

Targets on faces: `tell` median < 5 ms, `ask(10)` median < 50 ms.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
import torch

import plgl
from plgl.bench.swipers import swiper
from plgl.models import ContentPreference, LinearPreference
from plgl.models.embedding import default_cache_dir
from plgl.models.priors import geometry_prior


def measure(engine: plgl.Engine, seed: int, ratings: int) -> dict[str, list[float]]:
    """Milliseconds of each tell, ask(10) and recommend(1) of one swiper."""
    user = swiper("faces", "blur-linear", engine.generator, seed, n_prior=50)
    session = engine.session(f"swiper-{seed}")
    answers = np.random.default_rng(seed)
    times: dict[str, list[float]] = {"tell": [], "ask(10)": [], "recommend(1)": []}
    while session.n_ratings < ratings:
        start = time.perf_counter()
        items = session.ask(10)
        times["ask(10)"].append(time.perf_counter() - start)
        liked = user.likes(np.array([item.latent for item in items]), answers)
        for item, like in zip(items, liked, strict=True):
            start = time.perf_counter()
            session.tell(item.id, "like" if like else "dislike")
            times["tell"].append(time.perf_counter() - start)
        start = time.perf_counter()
        session.recommend(1)
        times["recommend(1)"].append(time.perf_counter() - start)
    return {key: [1e3 * v for v in values] for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 swiper x 40 ratings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds, ratings = ((0,), 40) if args.quick else ((0, 1, 2), 100)
    generator = plgl.generators.get("faces")
    content = ContentPreference(generator, cache_dir=default_cache_dir())
    content.start(generator.latent_dim)  # the bank: made or loaded once, before timing
    engines = {
        "before (isotropic, top)": lambda s: plgl.Engine(
            generator, seed=s, model=LinearPreference(), for_you="top"
        ),
        "latent (geometry, grounded)": lambda s: plgl.Engine(
            generator, seed=s, model=LinearPreference(prior=geometry_prior(generator))
        ),
        "content (bank, top)": lambda s: plgl.Engine(generator, seed=s, model=content),
    }
    print(f"faces, {len(seeds)} swipers x {ratings} ratings, one thread; ms: median / p90")
    print(f"{'engine':30} {'tell':>14} {'ask(10)':>14} {'recommend(1)':>14}")
    for name, make in engines.items():
        pooled: dict[str, list[float]] = {}
        for seed in seeds:
            with make(seed) as engine:
                for key, values in measure(engine, seed, ratings).items():
                    pooled.setdefault(key, []).extend(values)
        cells = [
            f"{np.median(pooled[key]):6.2f} / {np.percentile(pooled[key], 90):6.2f}"
            for key in ("tell", "ask(10)", "recommend(1)")
        ]
        print(f"{name:30} {cells[0]:>14} {cells[1]:>14} {cells[2]:>14}")
    print("targets: tell median < 5 ms, ask(10) median < 50 ms")


if __name__ == "__main__":
    main()
