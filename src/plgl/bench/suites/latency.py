"""Latency of plgl's loop against a naive recipe (an RBF SVC refitted on every rating),
single-threaded.

Every operation is timed one call at a time with CPU time (`time.process_time_ns`) and wall time
(`time.perf_counter_ns`); the rows give the median and the 99th percentile in milliseconds.

plgl: sessions at each d are built by a simulated linear user (ask 10, tell 10) until each holds
`ratings` ratings. Then each round times one `ask(10)` and, separately, each `tell` of the 10
items it served (so ask is never inside a tell's timed region), and the user's answers are
computed before the timer starts. Rounds continue the same sessions, so the timed calls see
between `ratings` and `ratings + 10 * rounds` ratings. `recommend(1)` is timed after the rounds.

naive: `SVC(kernel="rbf", probability=True).fit` on `ratings` ratings (its "update": the recipe
refits from scratch after every batch) and `predict_proba` over 10,000 prior samples plus the argmax
(its recommendation). Both are timed on two data sets of the same size: the recipe's own (random
prior samples rated by the same simulated user) and the items the first plgl session rated. The
cost of an RBF-SVC grows with its support vectors, which differ between the two.

Report columns: "update" is plgl's tell or the naive refit, "serve" plgl's ask(10) or the naive
10,000-sample scoring, "recommend" plgl's recommend(1). `benchmarks/latency.py` prints the same
measurements as a console table with the targets.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from plgl.bench.suites._base import Metric, Row, Task, is_tiny
from plgl.bench.users import LinearUser

TITLE = "Latency: plgl's tell / ask / recommend against the naive recipe's refit and scoring"
POOL = 10_000
RATINGS = 500
DIMS = (16, 64, 512)
OPERATIONS = ("update", "serve", "recommend")
METRICS = {
    f"{op}_{stat}": Metric(
        f"{op} {stat} (ms CPU)", higher_is_better=False, summary="median", log_scale=True
    )
    for op in OPERATIONS
    for stat in ("median", "p99")
}
_PLGL_KEYS = {"update": "tell", "serve": "ask", "recommend": "recommend"}
_NAIVE_KEYS = {"update": "fit", "serve": "recommend"}


@dataclass
class Timings:
    """Per-call CPU and wall times in nanoseconds."""

    cpu: list[int] = field(default_factory=list)
    wall: list[int] = field(default_factory=list)

    def add(self, cpu: int, wall: int) -> None:
        self.cpu.append(cpu)
        self.wall.append(wall)

    def stat(self, which: str, q: float) -> float:
        """The q-th percentile in ms of the CPU or wall times."""
        values = self.cpu if which == "cpu" else self.wall
        return float(np.percentile(values, q)) / 1e6


@dataclass(frozen=True)
class Budget:
    """How much to time: plgl sessions and rounds per d, naive repetitions and seconds."""

    sessions: int
    rounds: int
    naive_reps: int
    naive_seconds: float
    ratings: int = RATINGS


FULL = Budget(sessions=5, rounds=40, naive_reps=30, naive_seconds=4.0)
QUICK = Budget(sessions=1, rounds=10, naive_reps=1, naive_seconds=0.0, ratings=200)
"""The CI budget times after 200 ratings (building 500 at d=512 alone costs ~8 s of CPU); the
full budget after 500, where the targets are set."""


def plan(quick: bool, seeds: Sequence[int] | None) -> list[Task]:
    """One task per d; each times plgl and the naive recipe (seeds: the simulated user's)."""
    budget = QUICK if quick else FULL
    dims = (16,) if is_tiny() else DIMS
    ratings = 40 if is_tiny() else budget.ratings
    seed = seeds[0] if seeds else 0
    return [
        Task(
            "latency",
            f"d={d}",
            "plgl vs naive",
            seed,
            {"d": d, "ratings": ratings, "quick": quick},
            cost=(1 + d / 64) * (1 if quick else 8),
        )
        for d in dims
    ]


def run_task(task: Task) -> list[Row]:
    """Time plgl and the naive recipe at one d; rows per method and operation (median, p99)."""
    d, ratings = int(task.params["d"]), int(task.params["ratings"])
    budget = QUICK if task.params.get("quick") else FULL
    user = LinearUser(d, seed=task.seed or 0)
    plgl_times, X, y = measure_plgl(user, ratings, budget.sessions, budget.rounds)
    own = measure_naive(*random_ratings(user, ratings), budget.naive_reps, budget.naive_seconds)
    same = measure_naive(X, y, budget.naive_reps, budget.naive_seconds)
    rows: list[Row] = []
    measured: list[tuple[str, dict[str, Timings], dict[str, str]]] = [
        ("plgl", plgl_times, _PLGL_KEYS),
        ("naive, own random ratings", own, _NAIVE_KEYS),
        ("naive, plgl's ratings", same, _NAIVE_KEYS),
    ]
    for method, times, keys in measured:
        for op, key in keys.items():
            t = times[key]
            for stat, q in (("median", 50), ("p99", 99)):
                row = task.row(
                    None,
                    f"{op}_{stat}",
                    t.stat("cpu", q),
                    wall_ms=round(t.stat("wall", q), 4),
                    calls=len(t.cpu),
                )
                rows.append({**row, "method": method})
    note = (
        f"{budget.sessions} plgl session(s) x {budget.rounds} rounds after {ratings} ratings; "
        f"naive: SVC(rbf, probability=True) on {ratings} ratings, predict_proba over {POOL:,} "
        "prior samples"
    )
    rows[0]["note"] = note
    return rows


def timed(call: Callable[[], Any], into: Timings) -> Any:
    """Run `call` once, adding its CPU and wall nanoseconds to `into`; return its result."""
    c0, w0 = time.process_time_ns(), time.perf_counter_ns()
    result = call()
    c1, w1 = time.process_time_ns(), time.perf_counter_ns()
    into.add(c1 - c0, w1 - w0)
    return result


def measure_plgl(
    user: LinearUser, ratings: int, sessions: int, rounds: int
) -> tuple[dict[str, Timings], np.ndarray, np.ndarray]:
    """Timings of tell, ask(10) and recommend(1), and the first session's rated (X, y)."""
    import plgl

    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=user.d), seed=0)
    out = {"tell": Timings(), "ask": Timings(), "recommend": Timings()}
    X: list[np.ndarray] = []
    y: list[int] = []
    for k in range(sessions):
        session = engine.session(f"user-{k}")
        rng = np.random.default_rng(20_000 + k)
        while session.n_ratings < ratings:  # build the history, untimed
            items = session.ask(min(10, ratings - session.n_ratings))
            liked = user.likes(np.array([item.latent for item in items]), rng)
            for item, like in zip(items, liked, strict=True):
                session.tell(item.id, "like" if like else "dislike")
                if k == 0:
                    X.append(item.latent)
                    y.append(int(like))
        gc.collect()
        for _ in range(rounds):
            items = timed(partial(session.ask, 10), out["ask"])
            liked = user.likes(np.array([item.latent for item in items]), rng)
            for item, like in zip(items, liked, strict=True):
                signal = "like" if like else "dislike"
                timed(partial(session.tell, item.id, signal), out["tell"])
        for _ in range(max(5, rounds // 2)):
            timed(partial(session.recommend, 1), out["recommend"])
    return out, np.array(X), np.array(y)


def measure_naive(X: np.ndarray, y: np.ndarray, reps: int, budget_s: float) -> dict[str, Timings]:
    """Timings of the naive recipe's refit on (X, y) and its 10,000-sample recommendation.

    Each operation runs `reps` times, or fewer (at least 3) once it has taken `budget_s` seconds;
    gc runs before each call, outside the timed region.
    """
    from sklearn.svm import SVC

    out = {"fit": Timings(), "recommend": Timings()}
    rng = np.random.default_rng(0)
    pools = [rng.standard_normal((POOL, X.shape[1])) for _ in range(min(reps, 2))]
    with warnings.catch_warnings():
        # The baseline is defined as SVC(probability=True) (Platt 1999); scikit-learn >= 1.9
        # deprecates that parameter.
        warnings.filterwarnings(
            "ignore", message="The `probability` parameter was deprecated", category=FutureWarning
        )
        model = SVC(kernel="rbf", probability=True, random_state=0)
        calls: dict[str, Callable[[int], Any]] = {
            "fit": lambda _: model.fit(X, y),
            "recommend": lambda i: int(np.argmax(model.predict_proba(pools[i % len(pools)])[:, 1])),
        }
        for name, call in calls.items():
            started = time.perf_counter()
            i = 0
            while i < reps and (i < min(3, reps) or time.perf_counter() - started < budget_s):
                gc.collect()
                timed(partial(call, i), out[name])
                i += 1
    return out


def random_ratings(user: LinearUser, n: int) -> tuple[np.ndarray, np.ndarray]:
    """What the naive recipe itself learns from: n random prior samples rated by the same user."""
    X = np.random.default_rng(7).standard_normal((n, user.d))
    return X, user.likes(X, np.random.default_rng(20_007)).astype(int)
