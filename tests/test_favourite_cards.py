"""Favourite cards: a user whose prior is a population's compares their favourite with the
challenger of largest expected improvement, card after card."""

import numpy as np
from helpers import session_with_likes

import plgl
from plgl.safety import Safety


def _champion(session: plgl.Session) -> np.ndarray:
    grounding = session._grounding
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    return champion


def test_every_card_pits_the_favourite_against_a_new_challenger() -> None:
    session, likes = session_with_likes(population=True)
    champion = _champion(session)
    np.testing.assert_array_equal(champion, likes[2])  # the posterior's best like
    cards = session.next_cards(4)
    assert len(cards) == 4
    for card in cards:
        assert sorted(item.source for item in card) == ["challenger", "champion"]
        shown = {item.source: item.latent for item in card}
        np.testing.assert_array_equal(shown["champion"], champion)
        assert np.any(shown["challenger"] != champion)
    challengers = np.array(
        [item.latent for card in cards for item in card if item.source == "challenger"]
    )
    assert len(np.unique(challengers, axis=0)) == 4


def test_a_favourite_card_is_answered_like_any_comparison() -> None:
    session, _ = session_with_likes(population=True)
    card = session.next_cards(1)[0]
    challenger = next(item for item in card if item.source == "challenger")
    favourite = next(item for item in card if item.source == "champion")
    session.compare(challenger.id, favourite.id)
    np.testing.assert_array_equal(_champion(session), challenger.latent)


def test_a_user_starting_from_scratch_gets_the_usual_cards() -> None:
    session, _ = session_with_likes(population=False)
    champion = _champion(session)
    cards = [card for _ in range(3) for card in session.next_cards(5)]
    with_favourite = [
        card for card in cards if any(np.array_equal(item.latent, champion) for item in card)
    ]
    assert len(with_favourite) < len(cards)  # swipes and pair cards, not favourite cards only


def test_no_favourite_card_shows_a_favourite_in_the_never_show_region() -> None:
    safety = Safety(negatives=np.array([[3.0, 0.0, 0.0, 0.0]]), radius=0.1)
    session, likes = session_with_likes(population=True, safety=safety)
    for card in session.next_cards(4):
        for item in card:
            assert not np.allclose(item.latent, likes[2])
