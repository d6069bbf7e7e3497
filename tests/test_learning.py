"""Learning quality on simulated users (fixed seeds; behaviour, not speed)."""

import numpy as np
import pytest

import plgl
from plgl.bench import DriftingUser, IdealPointUser, LinearUser, SimulatedUser, run_swipes


def engine(d: int, seed: int) -> plgl.Engine:
    return plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=d), seed=1000 * seed + 7
    )


def ratings_to(
    user_factory: type[SimulatedUser], d: int, level: float, n: int, **kw: float
) -> list[float]:
    needed = []
    for seed in range(10):
        curve = run_swipes(engine(d, seed), user_factory(d, seed, **kw), n, seed=seed)
        needed.append(curve.ratings_to(level) or np.inf)
    return needed


def test_linear_taste_at_d16_reaches_0_9_within_60_ratings() -> None:
    # The bar: median over 10 seeds, logistic noise 0.25, batches of 10.
    assert np.median(ratings_to(LinearUser, 16, 0.9, 100)) <= 60


def test_picky_users_are_learned() -> None:
    assert np.median(ratings_to(LinearUser, 16, 0.9, 160, threshold=1.5)) <= 100


def test_an_ideal_point_taste_is_found() -> None:
    assert np.median(ratings_to(IdealPointUser, 16, 0.8, 160)) <= 120


def test_other_dimensions_and_noise() -> None:
    assert np.median(ratings_to(LinearUser, 8, 0.9, 80)) <= 40
    noisy = [
        run_swipes(engine(16, seed), LinearUser(16, seed, noise=1.0), 160, seed=seed).best[-1]
        for seed in range(10)
    ]
    assert np.median(noisy) > 0.7  # a very noisy user: the floor for 0.9 is about 277 ratings


def test_a_change_of_taste_is_followed_not_averaged() -> None:
    finals, detected = [], []
    for seed in range(6):
        e = engine(16, seed)
        curve = run_swipes(e, DriftingUser(16, seed, switch_after=80), 160, seed=seed)
        finals.append(curve.best[-1])
        detected.append(e.session("simulated").model.changes_detected_)
    assert np.median(finals) > 0.8  # measured against the new taste
    # Detected in 75-83% of runs (40 seeds, depending on the random draws): most of six.
    assert sum(d > 0 for d in detected) >= 4


@pytest.mark.parametrize("target", [0.2, 0.5, 0.8])
def test_reverse_classification_is_calibrated(target: float) -> None:
    rates = []
    for seed in range(4):
        user = LinearUser(16, seed)
        e = engine(16, seed)
        run_swipes(e, user, 150, seed=seed)
        rates.append(user.like_probability(e.session("simulated").reverse(target, 50)).mean())
    assert abs(np.mean(rates) - target) < 0.1


def test_pairwise_comparisons_alone_learn_the_taste() -> None:
    d, user, rng = 16, LinearUser(16, 0), np.random.default_rng(0)
    session = engine(d, 0).session("pairs")
    while session.n_ratings < 80:
        items = session.ask(10)
        latents = np.array([item.latent for item in items])
        wins = user.prefers(latents[::2], latents[1::2], rng)
        for a, b, win in zip(items[::2], items[1::2], wins, strict=True):
            session.compare(*((a.id, b.id) if win else (b.id, a.id)))
    assert user.normalized(session.recommend(1)[0].latent[None, :])[0] > 0.85
