"""What earlier users teach the next one: a population prior, taste clusters, private matching.

Simulated populations (`plgl.bench.populations`): linear users whose taste directions lie near a
k-dimensional subspace of the d = 64 latent space, of three kinds: "clustered" (4 clusters in
k = 8, spread 0.5), "subspace" (one cloud spread over k = 4) and "many" (8 tight clusters in
k = 12, spread 0.4). Earlier users' posteriors
are `LinearPreference` Laplace posteriors after 150 passive ratings each (the shortcut documented
in that module). `plgl.Population` is refreshed from them (no noise, or (1, 1e-6)-DP per refresh
through OpenDP). Held-back new users (never among the earlier ones) then learn through the
latent suite's loop (`run_swipes`, batches of 10 like/dislike answers, top-10 scored) from
what `Population(mixture=False)` gives them ("population prior": the single Gaussian beside the
from-scratch prior, a mixture of two, `Population.new_user_prior`), with
`MixturePreference(mixture=population mixture prior)` ("mixture prior": one component per released
cluster plus the broad prior and the from-scratch prior, `plgl.population.mixture`) or from
scratch ("scratch", the latent suite's default plgl), on the same users and answer streams. The
report's "ratings to reach 0.9" table is the bar (median over the new users).

Guard rail ("unrelated"): the population is clustered, the new users are the latent suite's
isotropic linear users, unlike anyone in it; the prior must cost <= 10% more ratings than scratch.
The full run has every kind at epsilon 1 and without noise (500 earlier users for "clustered"
and "unrelated" without noise, 2,000 otherwise); --quick the first three problems.

With noise, new user s learns from refresh s % 4 of four independent refreshes, so the median
covers the luck of the DP draw too.

Clusters: adjusted Rand index of the released clusters (each earlier user assigned to the
nearest released centroid, for scoring only) against the true clusters; "clusters_found" is the
number found; one row per independent refresh (three). Matching: share of each queried earlier
user's top-5 matches from their own true cluster, over 100 queries, at match epsilon 1, 3, 10
(and 30, 100 in the full run; per opted-in user and refresh; the aggregates at epsilon 1), for
the match release before ("gaussian vectors (before)": the projected direction plus Gaussian
noise), the one now ("cluster response": randomized response over the released clusters) and
the most any mechanism can reach ("bound (any mechanism)", `own_cluster_bound`: whether a user
is listed is DP in their data; docs/privacy.md). One refresh per row, three in the full run.

Scale: one refresh over 100,000 synthetic users at d = 64 with full posterior covariances,
streamed (generated as read, twice): wall seconds and peak traced memory (tracemalloc, second run).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator, Sequence
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from plgl.bench.suites._base import Metric, Row, SuiteSkipped, Task, is_tiny

if TYPE_CHECKING:
    from plgl.bench.populations import PopulationSpec
    from plgl.population import Population, UserTaste

TITLE = "Population prior, taste clusters and private matching (d = 64, with and without DP)"
LEVEL = 0.9
METRICS = {
    "top1": Metric("normalized utility of recommendation #1", reach=LEVEL),
    "ari": Metric("adjusted Rand index of the released clusters"),
    "clusters_found": Metric("clusters found (true: 4)", summary="median"),
    "top5_own_cluster": Metric("share of the top-5 matches from the user's own cluster"),
    "seconds": Metric("wall seconds of one refresh", higher_is_better=False, summary="median"),
    "peak_mb": Metric("peak traced memory of one refresh (MB)", higher_is_better=False),
}
EARLIER_RATINGS = 150
DRAWS = 4  # independent DP refreshes per noisy problem; new user s learns from draw s % 4
BOUND = "bound (any mechanism)"
MECHANISMS = {  # method -> the `plgl.population.match_release` class that releases the reports
    "gaussian vectors (before)": "GaussianVectors",
    "cluster response": "ClusterResponse",
}


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """Learning tasks per (problem, method, new user), one clusters task, one scale task."""
    try:
        import opendp  # noqa: F401
    except ImportError as error:
        raise SuiteSkipped("OpenDP is not installed: pip install 'plgl[population]'") from error
    d = 8 if is_tiny() else 64
    users = _pick(seeds, (0,) if is_tiny() else (0, 1, 2) if quick else tuple(range(20)))
    small, large = (60, 120) if is_tiny() else (500, 2000)
    problems = [
        ("clustered", d, small, None, 200),
        ("clustered", d, large, 1.0, 200),
        ("unrelated", d, small, None, 400),
    ]
    if not quick:
        problems += [
            ("unrelated", d, large, 1.0, 400),
            ("subspace", d, large, None, 200),
            ("subspace", d, large, 1.0, 200),
            ("many", d, large, None, 200),
            ("many", d, large, 1.0, 200),
        ]
    tasks: list[Task] = []
    for kind, dim, n, epsilon, horizon in problems:
        noise = "no noise" if epsilon is None else f"epsilon={epsilon:g}"
        name = f"{kind} d={dim}, {n:,} earlier users, {noise}"
        params = {"kind": kind, "d": dim, "n": n, "epsilon": epsilon}
        for method, cost in (("population prior", 1.0), ("mixture prior", 2.0), ("scratch", 4.0)):
            run = {**params, "horizon": horizon if method != "scratch" else 400}
            tasks += [Task("population", name, method, s, run, cost=cost) for s in users]
    clusters = {"kind": "clustered", "d": d, "n": large, "epsilon": 1.0}
    name = f"clusters d={d}, {large:,} users, epsilon=1"
    draws = range(1 if is_tiny() or quick else 3)
    tasks += [Task("population", name, "dp", s, clusters, 20.0) for s in draws]
    tasks += _matching_tasks(d, large, quick)
    n_scale = 2_000 if is_tiny() or quick else 100_000
    scale = {"d": d, "n": n_scale}
    tasks.append(Task("population", f"refresh {n_scale:,} users d={d}", "stream", 0, scale, 20.0))
    return tasks


def run_task(task: Task) -> list[Row]:
    """One new user (learning), the clusters and matching, or the scale refresh."""
    p = task.params
    if task.method == "stream":
        return _scale(task, int(p["d"]), int(p["n"]))
    if task.method == BOUND:
        return [task.row(None, "top5_own_cluster", _bound(float(p["match_epsilon"]), int(p["n"])))]
    if task.seed is None:
        raise ValueError(f"task {task.label} needs a seed")
    if task.method == "dp":
        return _clusters(task)
    if task.method in MECHANISMS:
        return _matching(task)
    return _learn(task)


def _spec(kind: str, d: int) -> PopulationSpec:
    from plgl.bench.populations import PopulationSpec

    if kind == "subspace":
        return PopulationSpec(kind, d, subspace=4, clusters=1, spread=1.0)
    if kind == "many":
        return PopulationSpec(kind, d, subspace=min(12, d), clusters=8, spread=0.4)
    return PopulationSpec(kind, d, subspace=8, clusters=4, spread=0.5)


@cache
def _population(kind: str, d: int, n: int, epsilon: float | None, draw: int) -> Population:
    """The refreshed population of a problem; with noise, `draw` picks one of several refreshes
    (OpenDP's noise is not seedable, and one draw can be luckier than another)."""
    from plgl.bench.populations import earlier_users
    from plgl.population import Population

    spec = _spec("clustered" if kind == "unrelated" else kind, d)
    tastes, _ = earlier_users(spec, n, EARLIER_RATINGS, 0)
    population = Population(epsilon=epsilon, secret=b"bench")
    population.refresh(tastes)
    return population


def _learn(task: Task) -> list[Row]:
    import plgl
    from plgl.bench.loop import run_swipes
    from plgl.bench.populations import DirectedUser, new_user_direction
    from plgl.bench.suites.latent import run_swipe_method
    from plgl.bench.users import make_user
    from plgl.models import LinearPreference
    from plgl.models.mixture import MixturePreference, MixturePrior

    p, seed = task.params, int(task.seed or 0)
    kind, d, horizon = str(p["kind"]), int(p["d"]), int(p["horizon"])
    if kind == "unrelated":
        user = make_user("linear", d, seed)  # the latent suite's users: unlike the population
    else:
        spec = _spec(kind, d)
        user = DirectedUser(new_user_direction(spec, 0, seed), seed)
    if task.method == "scratch":
        curve = run_swipe_method("plgl", user, d, horizon, seed)
    else:
        draws = 1 if p["epsilon"] is None else DRAWS
        population = _population(kind, d, int(p["n"]), p["epsilon"], seed % draws)
        # What `Population(mixture=...)` gives a new user; both from the same refresh.
        prior = population.new_user_prior(mixture=task.method == "mixture prior")
        if prior is None:
            raise ValueError(f"{task.label}: the population released no prior")
        model = (
            MixturePreference(mixture=prior)
            if isinstance(prior, MixturePrior)
            else LinearPreference(prior=prior)
        )
        generator = plgl.generators.get("identity", latent_dim=d)
        engine = plgl.Engine(generator=generator, seed=1000 * seed + 7, model=model)
        curve = run_swipes(engine, user, horizon, batch=10, seed=seed, top_k=10)
    return [task.row(n, "top1", v) for n, v in zip(curve.ratings, curve.best, strict=True)]


def _clusters(task: Task) -> list[Row]:
    from sklearn.metrics import adjusted_rand_score

    from plgl.bench.populations import earlier_users

    p = task.params
    d, n = int(p["d"]), int(p["n"])
    tastes, labels = earlier_users(_spec("clustered", d), n, EARLIER_RATINGS, 0)
    population = _population("clustered", d, n, p["epsilon"], int(task.seed or 0))
    means = np.array([t.mean for t in tastes])
    ari = adjusted_rand_score(labels, population.assign(means))
    return [
        task.row(None, "ari", ari),
        task.row(None, "clusters_found", len(population.clusters())),
    ]


def _matching_tasks(d: int, n: int, quick: bool) -> list[Task]:
    """Per match epsilon: the mechanism before, the one now, and the bound on any mechanism."""
    tiny = is_tiny()
    epsilons = (1.0,) if tiny else (1.0, 3.0, 10.0) if quick else (1.0, 3.0, 10.0, 30.0, 100.0)
    tasks = []
    for match in epsilons:
        params = {"kind": "clustered", "d": d, "n": n, "epsilon": 1.0, "match_epsilon": match}
        name = f"matching d={d}, {n:,} users in 4 clusters, match epsilon={match:g}"
        for method in MECHANISMS:
            for draw in range(1 if tiny or quick else 3):
                tasks.append(Task("population", name, method, draw, params, 10.0))
        tasks.append(Task("population", name, BOUND, None, params, 0.0))
    return tasks


def _matching(task: Task) -> list[Row]:
    """Share of own-cluster users among the top-5 matches of 100 earlier users (all opted in),
    after one refresh (aggregates at epsilon 1) releasing the match reports by `task.method`."""
    from plgl.bench.populations import earlier_users
    from plgl.population import Population, match_release
    from plgl.population.matching import handle

    p = task.params
    d, n = int(p["d"]), int(p["n"])
    tastes, labels = earlier_users(_spec("clustered", d), n, EARLIER_RATINGS, 0)
    population = Population(
        epsilon=1.0,
        match_epsilon=float(p["match_epsilon"]),
        secret=b"b",
        match_release=getattr(match_release, MECHANISMS[task.method])(),
    )
    population.refresh(tastes)
    truth = {handle(b"b", t.user_id): label for t, label in zip(tastes, labels, strict=True)}
    shares = []  # a user the noisy release left with no match found no one of their cluster
    for i, t in enumerate(tastes[:100]):
        own = [truth[m.handle] == labels[i] for m in population.matches(t.user_id, t.mean)]
        shares.append(float(np.mean(own)) if own else 0.0)
    note = f"match epsilon {p['match_epsilon']:g} per opted-in user and refresh"
    return [task.row(None, "top5_own_cluster", float(np.mean(shares)), note=note)]


def _bound(epsilon: float, n: int) -> float:
    """The most any mechanism can reach: whether a user is listed is DP in their data, with 4
    equally likely clusters (`own_cluster_bound`, docs/privacy.md)."""
    from plgl.population.match_release import own_cluster_bound

    return own_cluster_bound(epsilon, 4, delta=1e-6, candidates=n - 1, listed=5)


def _scale(task: Task, d: int, n: int) -> list[Row]:
    from plgl.bench.populations import synthetic_stream
    from plgl.population import Population

    def stream() -> Iterator[UserTaste]:
        return synthetic_stream(n, d, seed=0)

    started = time.perf_counter()
    Population(epsilon=1.0, secret=b"bench").refresh(stream)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        Population(epsilon=1.0, secret=b"bench").refresh(stream)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return [task.row(None, "seconds", seconds), task.row(None, "peak_mb", peak)]


def _pick(seeds: Sequence[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return default if seeds is None else tuple(seeds)
