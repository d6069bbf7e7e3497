"""The cards of a feed: pair cards where a comparison teaches more than swipes, else swipes."""

from __future__ import annotations

import numpy as np
import pytest

import plgl
from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.samplers import MixtureSampler
from plgl.samplers.cards import LEARNED, plan_cards, swipes_due
from plgl.samplers.pairs import pair_proposals


def _setup(d: int = 8, n: int = 30) -> tuple[LinearPreference, np.ndarray]:
    rng = np.random.default_rng(3)
    model = LinearPreference().start(d)
    for _ in range(n):
        z = rng.standard_normal(d)
        model.learn(z, float(z[0] > 0.3))
    generator = plgl.generators.get("identity", latent_dim=d)
    latents = np.vstack(
        [
            MixtureSampler().propose(model, generator, rng),
            pair_proposals(model, generator, 10, rng),
        ]
    )
    return model, latents


def test_cards_are_distinct_rows_with_pairs_of_likely_likes_first_in_each_pair() -> None:
    model, latents = _setup()
    cards = plan_cards(model, latents, 10, MixtureSampler(), np.random.default_rng(0))
    assert len(cards) == 10
    assert all(len(card) == 1 for card, source in cards if source != "pair")
    rows = [row for card, _ in cards for row in card]
    assert len(rows) == len(set(rows))
    pairs = [card for card, source in cards if source == "pair"]
    assert pairs and all(len(card) == 2 for card in pairs)
    proba = model.predict_proba(latents)[:, 1]
    for first, second in pairs:
        assert proba[first] >= proba[second] - 1e-9
    # Watchable (judged with the probit approximation), but for the batch's first pair, which
    # is the two likeliest items when none are.
    assert sum(proba[second] < 0.79 for _, second in pairs) <= 1
    assert all(len(card) == 1 for card, source in cards if source != "pair")


def test_cards_weighed_against_many_swipes_are_swipes_only() -> None:
    model, latents = _setup()
    cards = plan_cards(model, latents, 10, MixtureSampler(), np.random.default_rng(0), swipes=50)
    assert len(cards) == 10
    assert {source for _, source in cards} <= {"exploit", "explore"}


def test_min_swipes_keeps_swipes_in_the_batch() -> None:
    model, latents = _setup()
    cards = plan_cards(model, latents, 5, MixtureSampler(), np.random.default_rng(0), min_swipes=2)
    assert sorted(len(card) for card, _ in cards) == [1, 1, 2, 2, 2]


def test_swipes_are_due_only_once_the_taste_is_learned() -> None:
    rng = np.random.default_rng(0)
    assert all(swipes_due(LEARNED - 0.01, 5, rng) == 0 for _ in range(20))
    due = [swipes_due(LEARNED, 5, rng) for _ in range(2000)]
    assert np.mean(due) == pytest.approx(1.0, abs=0.1)  # a fifth of the cards


def test_a_batch_of_pairs_never_asks_the_same_question_twice() -> None:
    model, latents = _setup()
    cards = plan_cards(model, latents, 10, MixtureSampler(), np.random.default_rng(0))
    gaps = np.array([latents[a] - latents[b] for (a, *rest), _ in cards for b in rest])
    gaps /= np.linalg.norm(gaps, axis=1, keepdims=True)
    similarity = np.abs(gaps @ gaps.T)[np.triu_indices(len(gaps), 1)]
    assert similarity.max() < 0.99


def test_same_rng_same_cards_and_few_candidates_give_fewer_cards() -> None:
    model, latents = _setup()
    first = plan_cards(model, latents, 6, MixtureSampler(), np.random.default_rng(5))
    assert first == plan_cards(model, latents, 6, MixtureSampler(), np.random.default_rng(5))
    few = plan_cards(model, latents[:3], 6, MixtureSampler(), np.random.default_rng(5))
    assert sorted(row for card, _ in few for row in card) == [0, 1, 2]


@pytest.mark.parametrize(("n", "swipes"), [(0, 1), (2.5, 1), (3, -1), (3, True), (3, 1.5)])
def test_plan_cards_rejects_bad_input(n: int, swipes: int) -> None:
    model, latents = _setup()
    with pytest.raises(InvalidInputError, match="must be an integer"):
        plan_cards(model, latents, n, MixtureSampler(), np.random.default_rng(0), swipes=swipes)
