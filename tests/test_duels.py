"""Champion duels: the ladder replayed from events, duel cards in the feed, For-you at the
champion, and the content judge learning from comparisons."""

from typing import Any

import numpy as np
import pytest
from helpers import choose_best, rate

import plgl
import plgl.duels
from plgl.duels import (
    DUEL_CARD,
    DUEL_RADII,
    DUEL_RADIUS,
    DUELS_FROM,
    EVERY_RIVAL,
    duel,
    duels_due,
    rivals,
)
from plgl.ladder import MAX_SHRINK, SHRINK, Ladder
from plgl.models import confidence
from plgl.navigation import ContentJudge, trust_candidates, trust_radius


def _z(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_the_first_duel_crowns_its_winner_and_later_ones_need_the_champion_to_lose() -> None:
    ladder = Ladder()
    liked, a, b, c = _z(1, 0), _z(0, 1), _z(2, 0), _z(0, 2)
    ladder.chose(a, b)  # two new items: a pair card, not a duel
    assert ladder.champion is None and ladder.positives[0] is a
    ladder.liked(liked)
    ladder.chose(c, liked)  # a duel against a liked item: its winner is the champion
    np.testing.assert_array_equal(ladder.champion, c)
    ladder.chose(c, _z(3, 3))  # the champion defends
    assert ladder.defences == 1
    ladder.chose(b, a)  # a duel (a was chosen before) the champion took no part in
    np.testing.assert_array_equal(ladder.champion, c)
    ladder.chose(_z(4, 4), liked)  # beats a former champion (the stand-in the batch was made for)
    np.testing.assert_array_equal(ladder.champion, _z(4, 4))
    assert ladder.defences == 0
    assert ladder.radius(2.0) == 2.0


def test_challengers_that_beat_the_same_champion_are_its_crowd_until_one_defends() -> None:
    ladder = Ladder()
    champion, x1, x2, y, z, w = (_z(k, 0) for k in range(1, 7))
    ladder.liked(champion)
    ladder.chose(champion, _z(0, 9))  # the first duel crowns the liked item
    # One batch against the champion, answered in any order: two challengers beat it.
    ladder.chose(x1, champion)
    ladder.chose(champion, y)  # a win of the dethroned champion changes nothing
    ladder.chose(x2, champion)
    assert [c.tolist() for c in ladder.crowd] == [x1.tolist(), x2.tolist()]
    np.testing.assert_array_equal(ladder.champion, x2)  # the latest winner
    # The crowd's member made champion (by the judge, `plgl.grounding`) defends: it alone.
    ladder.chose(x1, z)
    assert [c.tolist() for c in ladder.crowd] == [x1.tolist()]
    np.testing.assert_array_equal(ladder.champion, x1)
    assert ladder.defences == 1
    ladder.chose(w, x1)  # a new champion: a crowd of one
    assert [c.tolist() for c in ladder.crowd] == [w.tolist()] and ladder.defences == 0


def test_the_radius_shrinks_while_the_champion_keeps_winning() -> None:
    ladder = Ladder()
    ladder.liked(_z(1, 0))
    ladder.chose(_z(1, 0), _z(0, 1))
    for i in range(MAX_SHRINK + 3):
        ladder.chose(_z(1, 0), _z(5, i))
    assert ladder.defences == MAX_SHRINK + 3
    assert ladder.radius(1.0) == pytest.approx(SHRINK**MAX_SHRINK)


def test_contenders_are_positives_that_never_lost_a_duel() -> None:
    ladder = Ladder()
    ladder.liked(_z(1, 0))
    ladder.liked(_z(0, 1))
    ladder.chose(_z(2, 2), _z(1, 0))
    assert [z.tolist() for z in ladder.contenders()] == [[0.0, 1.0], [2.0, 2.0]]
    assert ladder.is_positive(_z(2, 2)) and not ladder.is_positive(_z(9, 9))


def test_a_crowd_member_the_judge_did_not_crown_stays_a_contender_until_it_loses() -> None:
    ladder = Ladder()
    ladder.liked(_z(1, 0))
    ladder.chose(_z(1, 0), _z(5, 5))  # the first champion
    ladder.chose(_z(2, 0), _z(1, 0))  # two challengers beat it in one batch: a crowd
    ladder.chose(_z(3, 0), _z(1, 0))
    assert [z.tolist() for z in ladder.crowd] == [[2.0, 0.0], [3.0, 0.0]]
    ladder.chose(_z(3, 0), _z(7, 7))  # the crowned one defends against a new challenger
    assert [z.tolist() for z in ladder.crowd] == [[3.0, 0.0]]
    assert [2.0, 0.0] in [z.tolist() for z in ladder.contenders()]  # never met the crowned
    ladder.chose(_z(3, 0), _z(2, 0))
    assert [z.tolist() for z in ladder.contenders()] == [[3.0, 0.0]]


@pytest.mark.parametrize("mode", ["judged", "grounded"])
def test_rivals_are_liked_items_that_never_lost_a_duel_best_first(mode: str) -> None:
    direction = np.linspace(1.0, -1.0, 6)
    session = _engine().session("u")
    rate(session, direction, 20)  # likes only: no duel yet
    grounding, model = session._grounding, session.model
    grounding.mode = mode  # "judged" needs a perceptual map, which identity has not
    rated, labels = grounding.evidence()
    champion = rated[labels > 0.5][0]
    others = [z for z in grounding.ladder.contenders() if not np.array_equal(z, champion)]
    found = rivals(grounding, model, champion, 100)
    means = found @ np.asarray(model.coef_)  # no content judge: the posterior mean ranks them
    assert np.all(np.diff(means) <= 0) and not any(np.array_equal(z, champion) for z in found)
    above = sum(float(z @ model.coef_) > float(champion @ model.coef_) for z in others)
    assert 0 < above < len(others) - 1  # some rated above the champion, some below
    assert len(found) == (len(others) if mode in EVERY_RIVAL else above)
    np.testing.assert_array_equal(rivals(grounding, model, champion, 1), found[:1])


def test_duels_due_is_a_share_of_the_batch_from_the_domains_first_duel() -> None:
    rng = np.random.default_rng(0)
    due = [duels_due(10, rng, share=0.3) for _ in range(2000)]
    assert np.mean(due) == pytest.approx(3.0, abs=0.1)
    assert duels_due(10, rng, share=0.0) == 0
    first = DUELS_FROM["faces"]
    assert duels_due(10, rng, first - 1, "faces", share=1.0) == 0
    assert duels_due(10, rng, first, "faces", share=1.0) == 10


def _engine(d: int = 6, seed: int = 0) -> plgl.Engine:
    return plgl.Engine(plgl.generators.get("identity", latent_dim=d), for_you="grounded", seed=seed)


def _answer(session: plgl.Session, direction: np.ndarray, batches: int) -> list[tuple]:
    """Answer `batches` of 10 cards as a linear user; returns every card served."""
    served = []
    for _ in range(batches):
        for card in session.next_cards(10):
            served.append(card)
            if len(card) == 1:
                like = card[0].latent @ direction > 0.5
                session.tell(card[0].id, "like" if like else "dislike")
            else:
                choose_best(session, card, direction)
    return served


def test_the_feed_duels_the_champion_and_for_you_grounds_at_the_winner() -> None:
    direction = np.linspace(1.0, -1.0, 6)
    session = _engine().session("u")
    cards = _answer(session, direction, 6)
    duels = [card for card in cards if {item.source for item in card} == {"champion", "challenger"}]
    assert duels and all(2 <= len(card) <= DUEL_CARD for card in duels)
    assert any(len(card) == DUEL_CARD for card in duels)
    for card in duels:  # a challenger is new content, never the champion's latent again
        champion = next(item for item in card if item.source == "champion")
        challengers = [item for item in card if item.source == "challenger"]
        assert len(challengers) == len(card) - 1
        assert not any(np.array_equal(champion.latent, item.latent) for item in challengers)
    ladder = session._grounding.ladder
    assert ladder.champion is not None
    # The champion is an item of a duel that the user chose.
    assert ladder.is_positive(ladder.champion)
    assert any(np.array_equal(ladder.champion, item.latent) for card in duels for item in card)
    grounding = session._grounding
    rated, labels = grounding.evidence()
    crowned = grounding.champion(session.model, rated, labels, None)
    assert crowned is not None and any(np.array_equal(crowned, z) for z in ladder.crowd)
    picks = session.recommend(2)
    for pick in picks:
        if pick.source == "favourite":
            np.testing.assert_array_equal(pick.latent, crowned)
        else:
            assert pick.source in {"recommend", "liked"}


def test_duels_replay_the_same_champion() -> None:
    direction = np.linspace(1.0, -1.0, 6)
    engine = _engine(seed=4)
    first = engine.session("u")
    _answer(first, direction, 5)
    first._grounding.evidence()
    again = plgl.Engine(engine.generator, storage=engine.storage, for_you="grounded", seed=4)
    replayed = again.session("u")
    replayed._grounding.evidence()
    np.testing.assert_array_equal(
        replayed._grounding.ladder.champion, first._grounding.ladder.champion
    )
    np.testing.assert_array_equal(replayed._grounding.ladder.crowd, first._grounding.ladder.crowd)


def test_a_new_user_gets_no_duel_before_anything_is_rated_positively() -> None:
    session = _engine().session("new")
    cards = session.next_cards(10)
    assert not any(item.source in {"champion", "challenger"} for card in cards for item in card)


def test_the_content_judge_learns_from_comparisons_alone() -> None:
    faces = plgl.generators.get("faces")
    rng = np.random.default_rng(0)
    latents = faces.project(faces.sample(40, rng))
    light = np.array([float(np.asarray(c).mean()) for c in faces.generate(latents)])
    a, b = latents[:20], latents[20:]
    brighter = light[:20] > light[20:]
    won = np.where(brighter[:, None], a, b)
    lost = np.where(brighter[:, None], b, a)
    judge = ContentJudge(faces)
    empty = np.empty((0, faces.latent_dim))
    _, judged = judge.compare(empty, np.empty(0), latents, (won, lost))
    assert np.corrcoef(judged, light)[0, 1] > 0.5  # it learned "brighter" from which won
    _, none = judge.compare(empty, np.empty(0), latents)
    assert not np.any(none)  # no swipes, no comparisons: no opinion


@pytest.mark.parametrize("domain", ["melodies", "molecules"])
def test_challengers_are_made_within_the_domains_share_of_the_trust_radius(
    domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = plgl.generators.get(domain)
    session = plgl.Engine(generator, seed=0).session("u")
    direction = np.random.default_rng(0).standard_normal(generator.latent_dim)
    rate(session, direction, 20)
    radii: list[float] = []

    def spied(model: Any, anchors: np.ndarray, gen: Any, rng: Any, radius: float) -> np.ndarray:
        radii.append(radius)
        return trust_candidates(model, anchors, gen, rng, radius)

    monkeypatch.setattr(plgl.duels, "trust_candidates", spied)
    grounding = session._grounding
    champion, _ = duel(grounding, session.model, 4, 20, np.random.default_rng(1))
    assert champion is not None
    share = DUEL_RADII.get(domain, DUEL_RADIUS)
    full = share * trust_radius(generator.latent_dim, confidence(session.model, 20))
    assert radii == [pytest.approx(grounding.ladder.radius(full))]
    assert DUEL_RADII["melodies"] == 2 * DUEL_RADIUS  # melodies step further (README)
