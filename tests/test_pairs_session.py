"""Session.next_cards and Session.ask_pair: pair cards served like any item, safely."""

from __future__ import annotations

import numpy as np
import pytest

import plgl
from plgl.errors import InvalidInputError


def _session(d: int = 8, seed: int = 0, **engine: object) -> plgl.Session:
    generator = plgl.generators.get("identity", latent_dim=d)
    return plgl.Engine(generator=generator, seed=seed, **engine).session("u")  # type: ignore[arg-type]


def test_cards_are_served_items_answered_with_tell_or_compare() -> None:
    session = _session()
    taste = np.eye(8)[0]
    answered = 0
    for _ in range(4):
        cards = session.next_cards(5)
        assert len(cards) == 5
        for card in cards:
            assert len(card) in (1, 2) and all(item.content is not None for item in card)
            if len(card) == 2:
                assert {item.source for item in card} == {"pair"}
                a, b = card if card[0].latent @ taste > card[1].latent @ taste else card[::-1]
                session.compare(a.id, b.id)
            else:
                liked = card[0].latent @ taste > 0
                session.tell(card[0].id, "like" if liked else "dislike")
            answered += 1
    assert session.n_ratings == answered == 20
    # A comparison teaches the taste: the direction learned points the user's way.
    assert session.model.coef_ @ taste / np.linalg.norm(session.model.coef_) > 0.5


def test_a_new_user_gets_pair_cards_and_swipes_none_gives_the_cards_of_ask() -> None:
    session = _session()
    assert all(len(card) == 2 for card in session.next_cards(3))
    twin = _session()
    swipes = twin.next_cards(4, swipes=None)
    assert [len(card) for card in swipes] == [1, 1, 1, 1]
    assert [card[0].source for card in swipes] == [item.source for item in _session().ask(4)]


def test_a_learned_feed_keeps_some_swipes() -> None:
    session = _session()
    taste = np.eye(8)[0]
    while session.confidence < 0.8:
        for card in session.next_cards(5):
            if len(card) == 2:
                a, b = card if card[0].latent @ taste > card[1].latent @ taste else card[::-1]
                session.compare(a.id, b.id)
            else:
                session.tell(card[0].id, "like" if card[0].latent @ taste > 1 else "dislike")
        assert session.n_ratings < 300
    kinds = [len(card) for _ in range(6) for card in session.next_cards(5)]
    assert 1 in kinds and 2 in kinds  # mostly pairs, with swipes to keep the threshold learned


def test_ask_pair_returns_two_likely_liked_items_compare_accepts() -> None:
    session = _session()
    for _ in range(10):
        items = session.ask(5)
        for item in items:
            session.tell(item.id, "like" if item.latent[0] > 0 else "dislike")
    first, second = session.ask_pair()
    assert first.id != second.id
    proba = session.score(np.array([first.latent, second.latent]))
    assert proba[0] >= proba[1] - 1e-6 and proba[1] > 0.5
    assert session.compare(second.id, first.id).preferred_id == second.id


def test_same_seed_same_cards() -> None:
    def latents(session: plgl.Session) -> list[np.ndarray]:
        return [item.latent for card in session.next_cards(5) for item in card]

    for a, b in zip(latents(_session(seed=3)), latents(_session(seed=3)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_no_card_lies_in_the_marked_region() -> None:
    d = 6
    negatives = np.random.default_rng(0).standard_normal((40, d)) * np.sqrt(d) / 2
    radius = 0.4 * np.sqrt(d)
    session = _session(d, safety=plgl.Safety(negatives=negatives, radius=radius))
    served = [item for _ in range(3) for card in session.next_cards(5) for item in card]
    served += session.ask_pair()
    latents = np.array([item.latent for item in served])
    distance = np.linalg.norm(latents[:, None, :] - negatives[None, :, :], axis=2)
    assert len(latents) >= 20 and (distance > radius).all()


@pytest.mark.parametrize(("n", "swipes"), [(0, 1), (1001, 1), (2.0, 1), (2, -1), (2, 1.5)])
def test_next_cards_rejects_bad_input(n: int, swipes: int) -> None:
    session = _session()
    with pytest.raises(InvalidInputError, match="must be"):
        session.next_cards(n, swipes=swipes)
    assert session.n_ratings == 0
