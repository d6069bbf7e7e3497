"""Bad input raises a plgl error that names what was wrong, and changes nothing."""

from typing import Any

import numpy as np
import pytest

import plgl


def snapshot(session: plgl.Session) -> tuple[Any, ...]:
    model = session.model
    return (
        repr(session.export()),
        model.mean_.tobytes(),
        model.covariance_.tobytes(),
        session.n_ratings,
        [item.id for item in session._feed._pool],
    )


@pytest.fixture
def rated(session: plgl.Session) -> tuple[plgl.Session, list[plgl.Item]]:
    items = session.ask(10)
    for item in items[:5]:
        session.tell(item.id, "like", event_id=f"e-{item.id}")
    return session, items


BAD_CALLS = [
    ("score", lambda s, items: s.score(np.ones(7)), "shape"),
    ("score", lambda s, items: s.score(np.ones((2, 9))), "shape"),
    ("score", lambda s, items: s.score(np.full(8, np.nan)), "NaN"),
    ("score", lambda s, items: s.score(np.full(8, np.inf)), "NaN or infinity"),
    ("score", lambda s, items: s.score("abc"), "numeric"),
    ("tell", lambda s, items: s.tell("no-such-item", "like"), "never shown"),
    ("tell", lambda s, items: s.tell(items[6].id, "love"), "unknown signal"),
    ("tell", lambda s, items: s.tell(items[6].id, "like", dwell_seconds=-2), "dwell"),
    ("tell", lambda s, items: s.tell(items[6].id, "like", event_id=""), "event_id"),
    ("tell", lambda s, items: s.tell(123, "like"), "item id"),
    (
        "tell",
        lambda s, items: s.tell(items[6].id, "dislike", event_id=f"e-{items[0].id}"),
        "already used",
    ),
    ("compare", lambda s, items: s.compare(items[6].id, items[6].id), "different items"),
    ("compare", lambda s, items: s.compare(items[6].id, "nope"), "never shown"),
    ("reverse", lambda s, items: s.reverse(0.0, 3), "between 0 and 1"),
    ("reverse", lambda s, items: s.reverse(1.0, 3), "between 0 and 1"),
    ("reverse", lambda s, items: s.reverse(1.5, 3), "between 0 and 1"),
    ("reverse", lambda s, items: s.reverse(float("nan"), 3), "finite"),
    ("reverse", lambda s, items: s.reverse("0.5", 3), "number"),
    ("reverse", lambda s, items: s.reverse(0.5, 0), ">= 1"),
    ("ask", lambda s, items: s.ask(0), ">= 1"),
    ("ask", lambda s, items: s.ask(-3), ">= 1"),
    ("ask", lambda s, items: s.ask(2.5), "int"),
    ("ask", lambda s, items: s.ask(10**9), "<="),
    ("recommend", lambda s, items: s.recommend(0), ">= 1"),
    ("set_explore", lambda s, items: s.set_explore(1.5), r"\[0, 1\]"),
]


@pytest.mark.parametrize(("name", "call", "message"), BAD_CALLS, ids=[c[2] for c in BAD_CALLS])
def test_bad_input_is_named_and_changes_nothing(
    rated: tuple[plgl.Session, list[plgl.Item]], name: str, call: Any, message: str
) -> None:
    session, items = rated
    before = snapshot(session)
    with pytest.raises(plgl.PlglError, match=message):
        call(session, items)
    assert snapshot(session) == before


def test_items_of_another_user_are_foreign(engine: plgl.Engine) -> None:
    alice, bob = engine.session("alice"), engine.session("bob")
    bobs_item = bob.ask(1)[0]
    before = snapshot(alice)
    with pytest.raises(plgl.UnknownItemError, match="never shown to user 'alice'"):
        alice.tell(bobs_item.id, "like")
    assert snapshot(alice) == before


@pytest.mark.parametrize("user_id", ["", "   ", None, 7, "x" * 201])
def test_bad_user_ids(engine: plgl.Engine, user_id: Any) -> None:
    with pytest.raises(plgl.InvalidInputError, match="user_id"):
        engine.session(user_id)


def test_engine_checks_its_parts() -> None:
    gen = plgl.generators.get("identity", latent_dim=3)
    with pytest.raises(plgl.InvalidInputError, match="latent_dim"):
        plgl.Engine(generator=gen, safety=plgl.Safety(negatives=np.zeros((2, 4))))
    with pytest.raises(plgl.InvalidInputError, match="generator lacks"):
        plgl.Engine(generator=object())  # type: ignore[arg-type]
    with pytest.raises(plgl.InvalidInputError, match="seed"):
        plgl.Engine(generator=gen, seed=-1)
    with pytest.raises(plgl.InvalidInputError, match="negatives"):
        plgl.Safety(negatives=[[np.nan, 0.0]])


def test_reverse_gradient_refuses_settings_a_preference_model_ignores() -> None:
    from plgl.navigation import reverse_gradient

    rng = np.random.default_rng(0)
    model = plgl.models.LinearPreference().fit(rng.standard_normal((20, 4)), np.arange(20) % 2)
    starts = rng.standard_normal((3, 4))
    with pytest.raises(plgl.InvalidInputError, match="steps, learning_rate apply to other"):
        reverse_gradient(model, None, starts, 2.0, steps=5, learning_rate=0.1)
    assert reverse_gradient(model, None, starts, 2.0).shape == (3, 4)
