"""Favourite cards: a user whose prior is a population's compares their favourite with the
challenger of largest expected improvement, card after card."""

import numpy as np
import pytest
from helpers import champion_of, session_with_likes

import plgl
import plgl.feed_duels
from plgl.duels import DUEL_CARD
from plgl.safety import Safety
from plgl.samplers.incumbent import challengers


def test_every_card_pits_the_favourite_against_a_new_challenger() -> None:
    session, likes = session_with_likes(population=True)
    champion = champion_of(session)
    np.testing.assert_array_equal(champion, likes[2])  # the posterior's best like
    cards = session.next_cards(4)
    assert len(cards) == 4
    for card in cards:
        sources = sorted(item.source for item in card)
        assert sources == ["challenger"] * (DUEL_CARD - 1) + ["champion"]
        for item in card:
            assert np.array_equal(item.latent, champion) == (item.source == "champion")
    challengers = np.array(
        [item.latent for card in cards for item in card if item.source == "challenger"]
    )
    assert len(np.unique(challengers, axis=0)) == 4 * (DUEL_CARD - 1)


def test_a_favourite_card_is_answered_like_any_comparison() -> None:
    session, _ = session_with_likes(population=True)
    card = session.next_cards(1)[0]
    challenger = next(item for item in card if item.source == "challenger")
    session.choose(challenger.id, [item.id for item in card if item is not challenger])
    assert session.n_ratings == 7  # six ratings before, and one choice
    np.testing.assert_array_equal(champion_of(session), challenger.latent)


def test_a_user_starting_from_scratch_gets_the_usual_cards() -> None:
    session, _ = session_with_likes(population=False)
    champion = champion_of(session)
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


def _marker() -> np.ndarray:
    """A latent the posterior rates far above the favourite: the challenger to pick."""
    return np.array([10.0, 0.0, 0.0, 0.0])


def test_challengers_include_latents_around_the_favourite(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[np.ndarray] = []

    def around(model: object, incumbent: np.ndarray, n: int, *args: object) -> np.ndarray:
        drawn.append(incumbent)
        return np.tile(_marker(), (n, 1))

    monkeypatch.setattr(plgl.feed_duels, "neighbours", around)
    session, likes = session_with_likes(population=True)
    # A latent domain without a shell, so the marker is shown as drawn.
    monkeypatch.setattr(session.engine.generator, "project", lambda latents: latents)
    cards = session.next_cards(2)
    np.testing.assert_array_equal(drawn[0], likes[2])  # drawn around the favourite
    shown = [item.latent for card in cards for item in card if item.source == "challenger"]
    assert any(np.array_equal(latent, _marker()) for latent in shown)


def test_latents_around_the_favourite_are_moved_into_the_generators_domain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        plgl.feed_duels, "neighbours", lambda model, incumbent, n, *args: np.tile(_marker(), (n, 1))
    )
    session, _ = session_with_likes(population=True)
    for card in session.next_cards(3):
        for item in card:
            assert not np.allclose(item.latent, _marker())  # projected onto the shell first


def test_no_latent_around_the_favourite_in_the_never_show_region_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        plgl.feed_duels, "neighbours", lambda model, incumbent, n, *args: np.tile(_marker(), (n, 1))
    )
    considered: list[np.ndarray] = []

    def spy(model: object, incumbent: np.ndarray, latents: np.ndarray, n: int) -> np.ndarray:
        considered.append(latents)
        return challengers(model, incumbent, latents, n)

    monkeypatch.setattr(plgl.feed_duels, "challengers", spy)
    safety = Safety(negatives=_marker()[None], radius=0.1)
    session, _ = session_with_likes(population=True, safety=safety)
    monkeypatch.setattr(session.engine.generator, "project", lambda latents: latents)
    cards = session.next_cards(3)
    assert cards and considered
    # Never even a candidate: the model may rate the region low, but the filter decides.
    assert not np.any(np.all(np.isclose(np.vstack(considered), _marker()), axis=1))
