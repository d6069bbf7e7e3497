"""The swipe loop of the benchmark: a simulated user rates batches; the top recommendation is
scored with the user's true utility after every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from plgl.bench.suites import Row
from plgl.bench.users import SimulatedUser
from plgl.engine import Engine


@dataclass
class LearningCurve:
    """Normalized utility of recommendation #1 after each batch, the mean over the top-k
    recommendations (k = the run's `top_k`), and the like-rate of the batch shown."""

    ratings: list[int] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    liked_share: list[float] = field(default_factory=list)
    top_mean: list[float] = field(default_factory=list)

    def ratings_to(self, level: float) -> int | None:
        """First number of ratings at which recommendation #1 reached `level`, or None."""
        for n, value in zip(self.ratings, self.best, strict=True):
            if value >= level:
                return n
        return None

    def rows(self, row: Callable[[int, str, float], Row]) -> list[Row]:
        """Result rows per step under the metric names every suite uses: "top1" (`best`),
        "top10" (`top_mean`) and "like_rate" (`liked_share`, when the learner showed batches).

        `row(step, metric, value)` makes one row, e.g. `Task.row`.

        >>> LearningCurve([10], [0.5], [0.3], [0.4]).rows(lambda n, m, v: (n, m, v))
        [(10, 'top1', 0.5), (10, 'top10', 0.4), (10, 'like_rate', 0.3)]
        """
        out: list[Row] = []
        for i, n in enumerate(self.ratings):
            out += [row(n, "top1", self.best[i]), row(n, "top10", self.top_mean[i])]
            if self.liked_share:
                out.append(row(n, "like_rate", self.liked_share[i]))
        return out


def run_swipes(
    engine: Engine,
    user: SimulatedUser,
    n_ratings: int,
    batch: int = 10,
    seed: int = 0,
    user_id: str = "simulated",
    top_k: int = 1,
) -> LearningCurve:
    """Let `user` rate `n_ratings` items in batches through `engine`; return the curve.

    After each batch `recommend(top_k)` is scored: its first item is `best`, the mean over all
    `top_k` is `top_mean`."""
    rng = np.random.default_rng(20_000 + seed)
    session = engine.session(user_id)
    curve = LearningCurve()
    while session.n_ratings < n_ratings:
        items = session.ask(min(batch, n_ratings - session.n_ratings))
        answers = user.likes(np.array([item.latent for item in items]), rng)
        for item, liked in zip(items, answers, strict=True):
            session.tell(item.id, "like" if liked else "dislike")
        top = user.normalized(np.array([item.latent for item in session.recommend(top_k)]))
        curve.ratings.append(session.n_ratings)
        curve.best.append(float(top[0]))
        curve.top_mean.append(float(np.mean(top)))
        curve.liked_share.append(float(np.mean(answers)))
    return curve
