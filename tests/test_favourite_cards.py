"""Favourite cards: a user whose prior is a population's compares their favourite with the
challenger of largest expected improvement, card after card."""

import numpy as np

import plgl
from plgl.models import GaussianPrior, LinearPreference
from plgl.safety import Safety

D = 4


def _session(population: bool, safety: Safety | None = None) -> tuple[plgl.Session, np.ndarray]:
    """A session whose user liked three items along the first axis (the third best by the
    posterior) and disliked their opposites; `population`: the prior has a mean, as a
    population's does, else it is the isotropic one."""
    mean = np.zeros(D)
    mean[1] = 0.5 if population else 0.0
    model = LinearPreference(prior=GaussianPrior(mean, np.eye(D)))
    identity = plgl.generators.get("identity", latent_dim=D)
    engine = plgl.Engine(identity, for_you="grounded", model=model, safety=safety, seed=3)
    session = engine.session("u")
    likes = np.zeros((3, D))
    likes[:, 0] = [1.0, 2.0, 3.0]
    shown = [*likes, *-likes]
    items = [plgl.records.Item(f"i{k}", z, None, "explore") for k, z in enumerate(shown)]
    engine.storage.put_items("u", items)
    for k, item in enumerate(items):
        session.tell(item.id, "like" if k < 3 else "dislike")
    return session, likes


def _champion(session: plgl.Session) -> np.ndarray:
    grounding = session._grounding
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    return champion


def test_every_card_pits_the_favourite_against_a_new_challenger() -> None:
    session, likes = _session(population=True)
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
    session, _ = _session(population=True)
    card = session.next_cards(1)[0]
    challenger = next(item for item in card if item.source == "challenger")
    favourite = next(item for item in card if item.source == "champion")
    session.compare(challenger.id, favourite.id)
    np.testing.assert_array_equal(_champion(session), challenger.latent)


def test_a_user_starting_from_scratch_gets_the_usual_cards() -> None:
    session, _ = _session(population=False)
    champion = _champion(session)
    cards = [card for _ in range(3) for card in session.next_cards(5)]
    with_favourite = [
        card for card in cards if any(np.array_equal(item.latent, champion) for item in card)
    ]
    assert len(with_favourite) < len(cards)  # swipes and pair cards, not favourite cards only


def test_no_favourite_card_shows_a_favourite_in_the_never_show_region() -> None:
    safety = Safety(negatives=np.array([[3.0, 0.0, 0.0, 0.0]]), radius=0.1)
    session, likes = _session(population=True, safety=safety)
    for card in session.next_cards(4):
        for item in card:
            assert not np.allclose(item.latent, likes[2])
