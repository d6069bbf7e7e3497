"""Per-rating cost of the mixture prior's model beside the single-Gaussian one, at d = 64.

    python benchmarks/mixture_tell.py            # 2,000 earlier users (4 clusters), 300 tells
    python benchmarks/mixture_tell.py --quick    # 600 users, 100 tells

A population of the `population` bench suite's "clustered" kind is refreshed without noise;
then, for `LinearPreference(prior=population.prior())` and
`MixturePreference(mixture=population.mixture_prior())` (its components: the broad prior and
one per cluster), the same answers go through `Engine.session(...).tell` in memory storage
and through the model's own `learn` (the per-rating update alone), each timed by the calling
thread's CPU time. Medians and 90th percentiles in milliseconds, side by side.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per core, set before numpy loads
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
import torch

import plgl
from plgl.bench.populations import earlier_users
from plgl.bench.suites.population import EARLIER_RATINGS, _spec
from plgl.models import LinearPreference
from plgl.models.mixture import MixturePreference
from plgl.population import Population


def timed_tells(model: LinearPreference, d: int, n: int) -> np.ndarray:
    """CPU milliseconds of `n` session tells (after `ask(10)` batches) with `model`."""
    generator = plgl.generators.get("identity", latent_dim=d)
    direction = np.random.default_rng(1).standard_normal(d)
    times: list[float] = []
    with plgl.Engine(generator=generator, seed=0, model=model) as engine:
        session = engine.session("u")
        while len(times) < n:
            for item in session.ask(10):
                signal = "like" if item.latent @ direction > 0 else "dislike"
                start = time.thread_time()
                session.tell(item.id, signal)
                times.append(1000.0 * (time.thread_time() - start))
    return np.array(times[:n])


def timed_learns(model: LinearPreference, d: int, n: int) -> np.ndarray:
    """CPU milliseconds of `n` calls of the model's `learn` (no session around it)."""
    rng = np.random.default_rng(2)
    model.start(d)
    direction = rng.standard_normal(d)
    times = []
    for z in rng.standard_normal((n, d)):
        start = time.thread_time()
        model.learn(z, float(z @ direction > 0))
        times.append(1000.0 * (time.thread_time() - start))
    return np.array(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer users and tells")
    args = parser.parse_args(argv)
    users, n = (600, 100) if args.quick else (2000, 300)
    torch.set_num_threads(1)
    d = 64
    tastes, _ = earlier_users(_spec("clustered", d), users, EARLIER_RATINGS, 0)
    population = Population(epsilon=None, secret=b"bench")
    population.refresh(tastes)
    prior, mixture = population.prior(), population.mixture_prior()
    if prior is None or mixture is None:
        raise SystemExit("the population released no prior")
    models = {
        "single Gaussian (LinearPreference)": lambda: LinearPreference(prior=prior),
        f"mixture, {len(mixture.components)} components": lambda: MixturePreference(
            mixture=mixture
        ),
    }
    print(f"d={d}, {users} earlier users, {n} ratings; CPU ms, median / p90")
    print(f"{'model':40s} {'session.tell':>16s} {'model.learn':>16s}")
    for name, make in models.items():
        tells, learns = timed_tells(make(), d, n), timed_learns(make(), d, n)
        cells = [f"{np.median(t):.3f} / {np.percentile(t, 90):.3f}" for t in (tells, learns)]
        print(f"{name:40s} {cells[0]:>16s} {cells[1]:>16s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
