"""A population-started user's favourite is crowned by every comparison they made (noisy
answers included), and a batch of favourite cards pits it again against the item the user
chose before that is likeliest to be better."""

import numpy as np
import pytest
from helpers import champion_of, session_with_likes

import plgl
import plgl.feed_duels


def _compare(session: plgl.Session, winner: np.ndarray, loser: np.ndarray) -> None:
    """The user chose `winner` over `loser`, each shown again as a new item (as cards do)."""
    items = [
        plgl.records.Item(f"w{session.n_ratings}", winner, None, "champion"),
        plgl.records.Item(f"l{session.n_ratings}", loser, None, "challenger"),
    ]
    session.engine.storage.put_items("u", items)
    session.compare(items[0].id, items[1].id)


def test_a_favourite_that_won_often_survives_one_lost_answer() -> None:
    session, likes = session_with_likes(population=True)
    np.testing.assert_array_equal(champion_of(session), likes[2])
    for _ in range(3):
        _compare(session, likes[2], likes[1])
    _compare(session, likes[1], likes[2])  # the latest answer goes the other way
    crowned = champion_of(session)
    assert session._grounding.ladder.champion is not None
    np.testing.assert_array_equal(session._grounding.ladder.champion, likes[1])  # latest winner
    np.testing.assert_array_equal(crowned, likes[2])  # the weight of every answer


def test_answers_that_keep_preferring_another_item_crown_it() -> None:
    session, likes = session_with_likes(population=True)
    for _ in range(4):
        _compare(session, likes[0], likes[2])
    np.testing.assert_array_equal(champion_of(session), likes[0])


def test_a_batch_pits_the_favourite_once_against_a_likely_better_earlier_choice() -> None:
    session, likes = session_with_likes(population=True)
    grounding = session._grounding
    rated, labels = grounding.evidence()
    _, mean, _ = grounding.standings(session.model, rated, labels)
    assert mean[2] > mean[1] > mean[0]  # the third like leads, the second is nearest
    cards = session.next_cards(4)
    assert len(cards) == 4
    again = []
    for card in cards:
        champion = [item.latent for item in card if item.source == "champion"]
        np.testing.assert_array_equal(champion, [likes[2]])
        for item in card:
            if item.source == "challenger" and any(np.array_equal(item.latent, z) for z in likes):
                again.append(item.latent)
    assert len(again) == plgl.feed_duels.REMATCHES == 1
    np.testing.assert_array_equal(again[0], likes[1])


def test_a_single_card_brings_a_new_challenger() -> None:
    session, likes = session_with_likes(population=True)
    card = session.next_cards(1)[0]
    challenger = next(item.latent for item in card if item.source == "challenger")
    assert not any(np.array_equal(challenger, like) for like in likes)


def test_no_rematch_where_no_earlier_choice_may_be_better(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plgl.feed_duels, "REMATCH_CHANCE", 1.0)
    session, likes = session_with_likes(population=True)
    for card in session.next_cards(4):
        challenger = next(item.latent for item in card if item.source == "challenger")
        assert not any(np.array_equal(challenger, like) for like in likes)


def test_before_anything_was_chosen_there_are_no_standings() -> None:
    engine = plgl.Engine(plgl.generators.get("identity", latent_dim=4), for_you="grounded")
    grounding = engine.session("new")._grounding
    rated, labels = grounding.evidence()
    positives, mean, cov = grounding.standings(engine.model, rated, labels)
    assert positives.shape == (0, 4) and mean.shape == (0,) and cov.shape == (0, 0)


def test_no_rematch_shows_an_earlier_choice_in_the_never_show_region() -> None:
    from plgl.safety import Safety

    second = np.array([[2.0, 0.0, 0.0, 0.0]])  # the second like: the rematch otherwise
    session, likes = session_with_likes(population=True, safety=Safety(second, radius=0.1))
    np.testing.assert_array_equal(likes[1], second[0])
    for card in session.next_cards(4):
        for item in card:
            assert not np.allclose(item.latent, second[0])
