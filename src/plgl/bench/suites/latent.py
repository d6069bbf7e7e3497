"""Binary swipes in Gaussian latent spaces, measured against the information-theoretic floor.

A simulated user (linear, one ideal point, two ideal points) answers batches of 10 like/dislike
questions (logistic noise, temperature 0.25, threshold 0.5). After every batch each method
recommends 10 latents, scored with the user's true utility, normalized: 0 = a random prior
sample, 1 = the best point of the ball |z| <= sqrt(d).

Metrics per batch: `top1` (recommendation #1; the report adds the ratings it took to reach 0.9),
`top10` (mean of the top 10), `like_rate` (share of the batch the user liked: what teaching feels
like). Per run: `seconds` (wall), and for BoTorch the median wall and CPU seconds per round
(`seconds_per_iteration`, `cpu_seconds_per_iteration`).

Methods: `plgl` (the default Engine on the identity generator, seed 1000·s+7), `naive` (an RBF SVC
with Platt probabilities on random ratings, `run_naive`), `random` (`run_random`), `botorch`
(PairwiseGP + EUBO on pairwise comparisons, one comparison = one rating; the optional `bench`
extra), and `floor`: the ratings any learner needs before recommendation #1 can reach 0.9 on the
linear user, where the normalized utility of the analytic step equals cos(w_hat, w): max of the
one-bit counting bound log2(1 / cap(arccos 0.9)) (Kulkarni, Mitter & Tsitsiklis 1993) and the
logistic-noise bound 4 beta^2 (d - 1)^2 / (d theta0^2) (van Trees inequality, Gill & Levit 1995; see
docs/references.md).

Seeds: user s draws its taste from default_rng(10000+s) and its answers from default_rng(20000+s)
for every method, so all methods meet the same users.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import betainc

from plgl.bench.loop import LearningCurve
from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny
from plgl.bench.users import SimulatedUser, make_user

TITLE = "Binary swipes in Gaussian latent spaces (d = 16, 64, 512)"
LEVEL = 0.9
NOISE = 0.25
_STEPS = (20, 40, 80, 160, 320, 640)
METRICS = {
    "top1": Metric("normalized utility of recommendation #1", reach=LEVEL, steps=_STEPS),
    "top10": Metric("mean normalized utility of the top 10", steps=_STEPS),
    "like_rate": Metric("like-rate of the batch shown", steps=_STEPS),
    "seconds": Metric("wall seconds per run", higher_is_better=False, summary="median"),
    "seconds_per_iteration": Metric(
        "wall seconds per round (query optimisation + refit + recommendation)",
        higher_is_better=False,
        summary="median",
    ),
    "cpu_seconds_per_iteration": Metric(
        "CPU seconds per round", higher_is_better=False, summary="median"
    ),
}
METHODS = ("plgl", "plgl-adventurous", "naive", "random", "botorch")


@dataclass(frozen=True)
class _Problem:
    kind: str
    d: int
    horizon: int
    seeds: tuple[int, ...]
    botorch_seeds: int  # how many of the seeds BoTorch runs (it costs minutes per run)
    botorch_horizon: int


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per (problem, method, seed), and one floor task per linear problem."""
    tasks: list[Task] = []
    for p in _problems(quick, seeds):
        name = f"{p.kind} d={p.d}"
        params = {"kind": p.kind, "d": p.d, "horizon": p.horizon}
        if p.kind == "linear":
            tasks.append(Task("latent", name, "floor", None, params, cost=0.01))
        # The adventurousness slider at 1.0 (every item chosen for information): what the 30%
        # of likely likes in each batch costs in ratings; full runs of the linear problems only.
        adventurous = ("plgl-adventurous",) if p.kind == "linear" and not quick else ()
        for method in ("plgl", *adventurous, "naive", "random"):
            for s in p.seeds:
                tasks.append(Task("latent", name, method, s, params, cost=_cost(method, p)))
        botorch = {**params, "horizon": p.botorch_horizon, "quick": quick}
        for s in p.seeds[: p.botorch_seeds]:
            tasks.append(Task("latent", name, "botorch", s, botorch, cost=_cost("botorch", p)))
    return tasks


def run_task(task: Task) -> list[Row]:
    """Run one method on one simulated user; rows for every batch, plus the run's seconds."""
    kind, d, horizon = task.params["kind"], int(task.params["d"]), int(task.params["horizon"])
    if task.method == "floor":
        return [_floor_row(task, d)]
    if task.seed is None:
        raise ValueError(f"task {task.label} needs a seed")
    user = make_user(kind, d, task.seed, horizon=horizon)
    started = time.perf_counter()
    rows: list[Row] = []
    curve: LearningCurve
    if task.method == "botorch":
        from plgl.bench.botorch_baseline import require_botorch, run_pairwise_gp

        try:
            require_botorch()
        except ImportError as error:
            raise SuiteSkipped(str(error)) from error
        budget = "the quick budget: " if task.params.get("quick") else ""
        note = (
            f"botorch = PairwiseGP + EUBO on pairwise comparisons (one comparison = one rating); "
            f"{budget}{horizon} comparisons, fewer seeds than the other methods (it costs "
            "seconds per round, see the per-run table)"
        )
        curve = run_pairwise_gp(user, horizon, batch=10, seed=task.seed, top_k=10)
        rows += [
            task.row(None, "seconds_per_iteration", float(np.median(curve.seconds)), note=note),
            task.row(None, "cpu_seconds_per_iteration", float(np.median(curve.cpu_seconds))),
        ]
    else:
        curve = run_swipe_method(task.method, user, d, horizon, task.seed)
    rows += curve.rows(task.row)
    rows.append(task.row(None, "seconds", time.perf_counter() - started))
    return rows


def floor_ratings(d: int, noise: float = NOISE, cosine: float = LEVEL) -> tuple[float, float]:
    """(one-bit counting bound, logistic-noise bound): ratings to reach cos(w_hat, w) >= cosine.

    The counting bound: n answers single out at most 2^n directions, each within theta0 =
    arccos(cosine) of w on a cap of normalized measure c = 1/2 I_{sin^2 theta0}((d-1)/2, 1/2),
    so n >= log2(1/c). The noise bound (van Trees): n >= 4 noise^2 (d-1)^2 / (d theta0^2).

    >>> [round(max(floor_ratings(d))) for d in (16, 64, 512)]
    [21, 80, 627]
    >>> round(floor_ratings(512)[0])
    618
    """
    theta0 = math.acos(cosine)
    cap = 0.5 * float(betainc((d - 1) / 2, 0.5, math.sin(theta0) ** 2))
    return math.log2(1 / cap), 4 * noise**2 * (d - 1) ** 2 / (d * theta0**2)


def _floor_row(task: Task, d: int) -> Row:
    one_bit, noise_bound = floor_ratings(d)
    return task.row(
        round(max(one_bit, noise_bound)),
        "top1",
        LEVEL,
        draw="vline",
        one_bit=round(one_bit, 2),
        noise_bound=round(noise_bound, 2),
        note=(
            f"floor: max(one-bit bound {one_bit:.1f}, noise bound {noise_bound:.1f} at "
            f"temperature {NOISE}) ratings to reach {LEVEL} (linear user)"
        ),
    )


def run_swipe_method(
    method: str, user: SimulatedUser, d: int, horizon: int, seed: int
) -> LearningCurve:
    """`horizon` like/dislike ratings by `user` to one of `METHODS` but BoTorch, top-10 scored."""
    import plgl
    from plgl.bench.baselines import run_naive, run_random
    from plgl.bench.loop import run_swipes
    from plgl.samplers import MixtureSampler

    if method in ("plgl", "plgl-adventurous"):
        generator = plgl.generators.get("identity", latent_dim=d)
        sampler = MixtureSampler(explore=1.0) if method == "plgl-adventurous" else None
        engine = plgl.Engine(generator=generator, seed=1000 * seed + 7, sampler=sampler)
        return run_swipes(engine, user, horizon, batch=10, seed=seed, top_k=10)
    if method == "naive":
        return run_naive(user, horizon, batch=10, seed=seed, top_k=10)
    if method == "random":
        return run_random(user, horizon, batch=10, seed=seed, top_k=10)
    raise ValueError(f"unknown latent-suite method {method!r}; expected one of {METHODS}")


def _problems(quick: bool, seeds: Sequence[int] | None) -> list[_Problem]:
    if is_tiny():
        return [_Problem("linear", 16, 20, _pick(seeds, (0,)), 1, 20)]
    if quick:
        few = _pick(seeds, (0, 1, 2))
        return [_Problem("linear", 16, 80, few, 1, 40), _Problem("linear", 64, 160, few, 0, 0)]
    five, three = _pick(seeds, (0, 1, 2, 3, 4)), _pick(seeds, (0, 1, 2))
    # BoTorch runs only a few seeds: it costs 200-425 s per run on the 2-core machine.
    botorch = {("linear", 16): 3, ("linear", 64): 2, ("ideal", 16): 1, ("ideal", 64): 1}
    botorch |= {("multi", 16): 2, ("multi", 64): 1}
    problems = [
        _Problem(kind, d, 160 if d == 16 else 320, five, botorch[(kind, d)], 160)
        for d in (16, 64)
        for kind in ("linear", "ideal", "multi")
    ]
    return [*problems, _Problem("linear", 512, 640, three, 0, 0)]


def _pick(seeds: Sequence[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return default if seeds is None else tuple(seeds)


def _cost(method: str, p: _Problem) -> float:
    """Rough seconds of one run on this machine (the progress bar's weights)."""
    per_batch = {"plgl": 0.02, "naive": 0.05, "random": 0.002, "botorch": 1.5}[
        method.removesuffix("-adventurous")
    ]
    if method == "naive":
        per_batch *= max(1.0, p.d / 64) * max(1.0, p.horizon / 160)
    horizon = p.botorch_horizon if method == "botorch" else p.horizon
    return per_batch * horizon / 10
