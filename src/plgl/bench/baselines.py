"""Baselines that plgl is measured against, on the same simulated users and the same metric.

* `run_naive`: a naive recipe. Random prior samples are rated; an
  `SVC(kernel="rbf", probability=True)` is fitted on them; recommendation #1 is the argmax of
  `predict_proba` over 10,000 fresh prior samples (the top-k: the k highest).
* `run_random`: random prior samples are rated; recommendation #1 is a random liked one (the
  top-k: k distinct random liked ones, as many as there are).

Both follow `run_swipes`: the user answers batches of `batch` items with the noise stream
`default_rng(20_000 + seed)`, and recommendation #1 is scored with `user.normalized` after every
batch. The method's own randomness (what is shown, the 10,000-sample pool) comes from
`default_rng(seed)`.

>>> from plgl.bench.users import LinearUser
>>> curve = run_random(LinearUser(4, seed=0), 20, seed=0)
>>> curve.ratings
[10, 20]
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.svm import SVC

from plgl.bench.loop import LearningCurve
from plgl.bench.users import SimulatedUser

NAIVE_POOL = 10_000
"""Fresh prior samples scored by the naive recipe for each recommendation."""


def run_naive(
    user: SimulatedUser, n_ratings: int, batch: int = 10, seed: int = 0, top_k: int = 1
) -> LearningCurve:
    """A naive recipe: RBF-SVC with Platt probabilities (Platt 1999) on random ratings.

    After each batch, when both a like and a dislike have been seen, fit
    `SVC(kernel="rbf", probability=True, random_state=seed)` on every rating so far and recommend
    the argmax of `predict_proba` over 10,000 fresh N(0, I) samples; before that, recommend a
    random prior sample.
    """
    answers_rng = np.random.default_rng(20_000 + seed)
    rng = np.random.default_rng(seed)
    latents: list[np.ndarray] = []
    labels: list[bool] = []
    curve = LearningCurve()
    while len(labels) < n_ratings:
        shown = rng.standard_normal((min(batch, n_ratings - len(labels)), user.d))
        answers = user.likes(shown, answers_rng)
        latents.extend(shown)
        labels.extend(bool(a) for a in answers)
        if len(set(labels)) < 2:
            top = rng.standard_normal((top_k, user.d))
        else:
            pool = rng.standard_normal((NAIVE_POOL, user.d))
            with warnings.catch_warnings():
                # The baseline is defined as SVC(probability=True) (Platt scaling);
                # scikit-learn >= 1.9 deprecates that parameter.
                warnings.filterwarnings(
                    "ignore",
                    message="The `probability` parameter was deprecated",
                    category=FutureWarning,
                )
                model = SVC(kernel="rbf", probability=True, random_state=seed)
                model.fit(np.array(latents), np.array(labels, dtype=int))
                proba = model.predict_proba(pool)[:, list(model.classes_).index(1)]
            top = pool[np.argsort(-proba, kind="stable")[:top_k]]
        _record(curve, user, len(labels), top, answers)
    return curve


def run_random(
    user: SimulatedUser, n_ratings: int, batch: int = 10, seed: int = 0, top_k: int = 1
) -> LearningCurve:
    """Random prior samples are rated; recommendation #1 is a random one of those liked so far.

    Before the first like, recommendation #1 is a random prior sample.
    """
    answers_rng = np.random.default_rng(20_000 + seed)
    rng = np.random.default_rng(seed)
    liked: list[np.ndarray] = []
    n_rated = 0
    curve = LearningCurve()
    while n_rated < n_ratings:
        shown = rng.standard_normal((min(batch, n_ratings - n_rated), user.d))
        answers = user.likes(shown, answers_rng)
        n_rated += len(shown)
        liked.extend(shown[answers])
        if liked and top_k == 1:
            top = liked[int(rng.integers(len(liked)))][None, :]
        elif liked:
            picks = rng.choice(len(liked), size=min(top_k, len(liked)), replace=False)
            top = np.array([liked[i] for i in picks])
        else:
            top = rng.standard_normal((top_k, user.d))
        _record(curve, user, n_rated, top, answers)
    return curve


def _record(
    curve: LearningCurve,
    user: SimulatedUser,
    n_rated: int,
    top: np.ndarray,
    answers: np.ndarray,
) -> None:
    values = user.normalized(top)
    curve.ratings.append(n_rated)
    curve.best.append(float(values[0]))
    curve.top_mean.append(float(np.mean(values)))
    curve.liked_share.append(float(np.mean(answers)))
