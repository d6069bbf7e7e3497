"""A choice among several items: one answer, one event, the chosen one over each other one."""

import numpy as np
import pytest

import plgl
from plgl.bench.users import LinearUser
from plgl.ladder import Ladder
from plgl.records import Comparison, event_from_dict


def _session(d: int = 4) -> tuple[plgl.Session, list[plgl.Item]]:
    engine = plgl.Engine(plgl.generators.get("identity", latent_dim=d), seed=0)
    session = engine.session("u")
    return session, session.ask(6)


def test_a_choice_is_one_event_that_teaches_every_pair() -> None:
    session, items = _session()
    chosen, others = items[0], items[1:4]
    before = np.asarray(session.model.coef_).copy()
    event = session.choose(chosen.id, [item.id for item in others], event_id="pick-1")
    assert event == Comparison(
        "pick-1", chosen.id, others[0].id, others=(others[1].id, others[2].id)
    )
    assert session.n_ratings == 1
    assert session.engine.storage.events("u") == [event]
    gained = np.asarray(session.model.coef_) - before
    for other in others:  # the chosen one now scores above each of the others
        assert gained @ (chosen.latent - other.latent) > 0
    assert session.choose(chosen.id, [item.id for item in others], event_id="pick-1") == event
    assert session.n_ratings == 1


def test_a_session_replays_a_choice_as_it_learned_it() -> None:
    session, items = _session()
    session.choose(items[2].id, [items[0].id, items[5].id])
    again = plgl.Engine(session.engine.generator, storage=session.engine.storage, seed=0)
    replayed = again.session("u")
    assert replayed.n_ratings == 1
    np.testing.assert_allclose(replayed.model.coef_, session.model.coef_)


@pytest.mark.parametrize(
    ("others", "message"),
    [
        ([], "1 to 15"),
        ("item", "1 to 15"),
        (None, "1 to 15"),
        (["x"] * 16, "1 to 15"),
        ([3], "string"),
        ("same", "different items"),
        ("twice", "different items"),
        ("unknown", "never shown"),
    ],
)
def test_a_bad_choice_raises_and_stores_nothing(others: object, message: str) -> None:
    session, items = _session()
    ids = [item.id for item in items]
    others = {"same": [ids[0]], "twice": [ids[1], ids[1]], "unknown": [ids[1], "nope"]}.get(
        str(others), others
    )
    with pytest.raises(plgl.PlglError, match=message):
        session.choose(ids[0], others)  # type: ignore[arg-type]
    assert session.n_ratings == 0 and session.engine.storage.events("u") == []


def test_a_plain_comparison_keeps_its_stored_form_and_a_choice_round_trips() -> None:
    pair = Comparison("e", "a", "b")
    assert "others" not in pair.to_dict()
    choice = Comparison("e", "a", "b", others=("c", "d"))
    assert choice.to_dict()["others"] == ["c", "d"]
    assert choice.losers == ("b", "c", "d")
    assert event_from_dict(choice.to_dict()) == choice
    assert event_from_dict(pair.to_dict()) == pair


def _z(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def test_a_challenger_chosen_over_the_champion_takes_over_with_no_defence() -> None:
    ladder = Ladder()
    ladder.liked(_z(1, 0))
    ladder.chose(_z(2, 0), _z(1, 0))  # the first duel crowns (2, 0)
    ladder.chose_among(_z(3, 0), [_z(2, 0), _z(0, 3), _z(0, 4)])  # the champion listed first
    assert ladder.champion is not None and ladder.champion.tolist() == [3.0, 0.0]
    assert ladder.defences == 0


def test_a_champion_chosen_over_its_challengers_defends_against_each() -> None:
    ladder = Ladder()
    ladder.liked(_z(1, 0))
    ladder.chose(_z(2, 0), _z(1, 0))
    ladder.chose_among(_z(2, 0), [_z(0, 3), _z(0, 4), _z(0, 5)])
    assert ladder.champion is not None and ladder.champion.tolist() == [2.0, 0.0]
    assert ladder.defences == 3


def test_a_simulated_choice_of_two_follows_the_law_of_a_preference() -> None:
    user = LinearUser(4, seed=0, noise=0.5)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4))
    rows = np.vstack([a, b])
    chose_a = np.mean([user.chooses(rows, rng) == 0 for _ in range(4000)])
    prefers_a = np.mean(user.prefers(np.repeat(a[None], 4000, 0), np.repeat(b[None], 4000, 0), rng))
    assert chose_a == pytest.approx(prefers_a, abs=0.04)
    exact = LinearUser(4, seed=0, noise=0.0)
    best = int(np.argmax(exact.standardized(rows)))
    assert all(exact.chooses(rows, rng) == best for _ in range(20))


def test_a_choice_on_a_criterion_teaches_that_criterion_only() -> None:
    session, items = _session()
    overall = np.asarray(session.model.coef_).copy()
    session.choose(items[0].id, [items[1].id, items[2].id], criterion="calm")
    assert session.criteria == {"calm": 1}
    np.testing.assert_array_equal(session.model.coef_, overall)
    calm = session.score([item.latent for item in items[:3]], criterion="calm")
    assert calm[0] > calm[1] and calm[0] > calm[2]
