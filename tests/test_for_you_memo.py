"""For-you remembered per session: asked again before anything changed the model, the same
items come back without being computed again; any answer (here or through another process's
session on the same storage), a refinement by `ask`, another `k` or items that expired make it
compute afresh, and what it computes is what a session without the memory gives."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import plgl
from plgl.errors import InvalidInputError, UserDeletedError
from plgl.feed import Feed


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `k` of each For-you answer computed (not remembered)."""
    calls: list[int] = []
    original = Feed._recommend

    def counted(self: Feed, model: object, n: int, *args: object) -> object:
        calls.append(n)
        return original(self, model, n, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Feed, "_recommend", counted)
    return calls


def rate(session: plgl.Session, n: int) -> None:
    """Likes items with a positive first coordinate (identity) or brighter faces."""
    while session.n_ratings < n:
        items = session.ask(10)
        values = np.array(
            [float(np.asarray(item.content, dtype=float)[..., 0].mean()) for item in items]
        )
        for item, value in zip(items, values, strict=True):
            session.tell(item.id, "like" if value > np.median(values) else "dislike")


def ids(items: list[plgl.Item]) -> list[str]:
    return [item.id for item in items]


def latents(items: list[plgl.Item]) -> np.ndarray:
    return np.array([item.latent for item in items])


def identity_engine(storage: str = "memory://") -> plgl.Engine:
    return plgl.Engine(plgl.generators.get("identity", latent_dim=4), storage=storage, seed=0)


def test_asked_again_the_same_items_come_back_uncomputed(computed: list[int]) -> None:
    session = identity_engine().session("alice")
    rate(session, 10)
    first = session.recommend(3)
    assert ids(session.recommend(3)) == ids(first) and computed == [3]
    session.tell(first[0].id, "like")
    after = session.recommend(3)
    assert computed == [3, 3] and not set(ids(after)) & set(ids(first))


def test_remembered_for_you_is_what_a_session_without_memory_computes() -> None:
    faces = plgl.generators.get("faces")
    remembered, fresh = plgl.Engine(faces, seed=0), plgl.Engine(faces, seed=0)
    with remembered, fresh:
        twins = [engine.session("bob") for engine in (remembered, fresh)]
        for n in (12, 24):
            for session in twins:  # the same answers to the same items: the same models
                rate(session, n)
            first = twins[0].recommend(4)
            again = twins[0].recommend(4)
            computed = twins[1].recommend(4)
            assert ids(again) == ids(first)
            np.testing.assert_array_equal(latents(again), latents(computed))
            assert [i.source for i in again] == [i.source for i in computed]


def test_a_rating_through_another_process_makes_it_compute_again(
    tmp_path: Path, computed: list[int]
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    here, there = identity_engine(url), identity_engine(url)
    with here, there:
        mine = here.session("carol")
        rate(mine, 10)
        shown = mine.recommend(3)
        other = there.session("carol")
        other.tell(shown[1].id, "dislike")  # another worker's session, the same storage
        assert computed == [3]
        again = mine.recommend(3)
        assert computed == [3, 3] and not set(ids(again)) & set(ids(shown))
        assert mine.n_learned == other.n_learned == 11


def test_ask_another_k_or_expired_items_make_it_compute_again(computed: list[int]) -> None:
    engine = identity_engine()
    session = engine.session("dave")
    rate(session, 10)
    first = session.recommend(3)
    assert len(session.recommend(2)) == 2 and computed == [3, 2]
    session.recommend(2)
    session.ask(1)  # refines the model in place, without an event
    session.recommend(2)
    assert computed == [3, 2, 2]
    engine.storage.expire_unrated("dave", 0)  # what the server does to make room
    again = session.recommend(2)
    assert computed == [3, 2, 2, 2]
    assert len(engine.storage.item_latents("dave", ids(again))) == 2
    assert not set(ids(again)) & set(ids(first))


@pytest.mark.parametrize("k", [0, -1, 1001, 2.5, "3", None])
def test_bad_k_is_refused_after_a_remembered_answer(k: object, computed: list[int]) -> None:
    session = identity_engine().session("erin")
    rate(session, 10)
    first = session.recommend(3)
    with pytest.raises(InvalidInputError, match="k"):
        session.recommend(k)  # type: ignore[arg-type]
    assert ids(session.recommend(3)) == ids(first) and computed == [3]


def test_a_deleted_user_gets_no_remembered_answer() -> None:
    engine = identity_engine()
    session = engine.session("frank")
    rate(session, 10)
    session.recommend(3)
    session.delete()
    with pytest.raises(UserDeletedError):
        session.recommend(3)


def test_a_new_prior_for_the_user_computes_afresh(computed: list[int]) -> None:
    engine = identity_engine()
    session = engine.session("alice")
    rate(session, 10)
    session.recommend(3)
    recipe, key = engine.recipe_for("alice")
    session._follow(dataclasses.replace(recipe), key + "-new-prior")  # as a refresh pins one
    session.recommend(3)
    assert computed == [3, 3]
