"""Per-rating cost on faces: today's engine (isotropic prior, the model's closed-form top) beside
the latent default (geometry prior, grounded feed and For-you with the content judge) and the
content model (`ContentPreference`: Bayesian logistic regression over an embedding of the
perceptual map, proposals from its bank of embedded faces), in one run, single-threaded.

    python benchmarks/faces_latency.py              # 3 swipers x 100 ratings per engine
    python benchmarks/faces_latency.py --quick      # 1 swiper x 40 ratings

A simulated face swiper (`plgl.bench.swipers`, "blur-linear") rates batches of 10 through the
public API. Timed (wall clock, `time.perf_counter`, one thread): every `tell`, every `ask(10)`
(content made for the 10 faces included) and a `recommend(1)` after each batch (the content
judge refits there, from cached perceptual maps). Medians and 90th percentiles. "making faces"
is the part of `ask(10)` spent in the generator's `generate` (the same 10 faces for every
model); "ask less faces" is the rest (the model's proposals, selection and refit). The content
model's bank (4,096 faces, shipped in the package) is loaded before the clock starts.

Targets on faces: `tell` median < 5 ms, `ask(10)` median < 50 ms.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from typing import Any

import numpy as np
import torch

import plgl
from plgl.bench.swipers import swiper
from plgl.engine import model_named
from plgl.models import LinearPreference


class Decoding:
    """Seconds the generator spends in `generate` (making faces), summed: wraps the instance's
    method so that the engine's cache and the swiper call the timed one."""

    def __init__(self, generator: Any) -> None:
        self.seconds = 0.0
        self._generate = generator.generate
        generator.generate = self

    def __call__(self, latents: np.ndarray) -> list[Any]:
        start = time.perf_counter()
        try:
            return list(self._generate(latents))
        finally:
            self.seconds += time.perf_counter() - start


def measure(
    engine: plgl.Engine, seed: int, ratings: int, decoding: Decoding
) -> dict[str, list[float]]:
    """Milliseconds of each tell, ask(10) (and its part spent making faces) and recommend(1)
    of one swiper."""
    user = swiper("faces", "blur-linear", engine.generator, seed, n_prior=50)
    session = engine.session(f"swiper-{seed}")
    answers = np.random.default_rng(seed)
    times: dict[str, list[float]] = {
        "tell": [],
        "ask(10)": [],
        "making faces": [],
        "recommend(1)": [],
    }
    while session.n_ratings < ratings:
        start, decoded = time.perf_counter(), decoding.seconds
        items = session.ask(10)
        times["ask(10)"].append(time.perf_counter() - start)
        times["making faces"].append(decoding.seconds - decoded)
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
    decoding = Decoding(generator)
    content = model_named("content", generator)
    content.start(generator.latent_dim)  # the bank: loaded (shipped) or made once, untimed
    engines = {
        "before (isotropic, top)": lambda s: plgl.Engine(
            generator, seed=s, model=LinearPreference(), for_you="top"
        ),
        "latent (geometry, grounded)": lambda s: plgl.Engine(
            generator, seed=s, model=model_named("latent", generator), for_you="grounded"
        ),
        "content (ContentPreference)": lambda s: plgl.Engine(generator, seed=s, model=content),
    }
    columns = ("tell", "ask(10)", "making faces", "ask less faces", "recommend(1)")
    print(f"faces, {len(seeds)} swipers x {ratings} ratings, one thread; ms: median / p90")
    print(f"{'engine':30}" + "".join(f"{c:>17}" for c in columns))
    for name, make in engines.items():
        pooled: dict[str, list[float]] = {}
        for seed in seeds:
            with make(seed) as engine:
                for key, values in measure(engine, seed, ratings, decoding).items():
                    pooled.setdefault(key, []).extend(values)
        pooled["ask less faces"] = list(np.subtract(pooled["ask(10)"], pooled["making faces"]))
        cells = [
            f"{np.median(pooled[key]):6.2f} / {np.percentile(pooled[key], 90):6.2f}"
            for key in columns
        ]
        print(f"{name:30}" + "".join(f"{cell:>17}" for cell in cells))
    print("targets: tell median < 5 ms, ask(10) median < 50 ms")


if __name__ == "__main__":
    main()
