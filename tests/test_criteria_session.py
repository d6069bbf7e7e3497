"""Criteria and context profiles through the Session and Engine."""

import re
from pathlib import Path

import numpy as np
import pytest

import plgl
from plgl.errors import (
    InfeasibleConstraintsError,
    InvalidInputError,
    UnknownCriterionError,
    UserDeletedError,
)

D = 8
ENERGY, CALM = np.eye(D)[0], np.eye(D)[1]


def _engine(storage: str | None = None) -> plgl.Engine:
    return plgl.Engine(generator=plgl.generators.get("identity", latent_dim=D), storage=storage)


def _rate(session: plgl.Session, criterion: str | None, direction: np.ndarray, n: int) -> None:
    for _ in range(n // 10):
        for item in session.ask(10):
            signal = "like" if item.latent @ direction > 0.3 else "dislike"
            session.tell(item.id, signal, criterion=criterion)


def _rated(n: int = 60, storage: str | None = None) -> plgl.Session:
    session = _engine(storage).session("alice")
    _rate(session, "energy", ENERGY, n)
    _rate(session, "calm", CALM, n)
    return session


def test_each_criterion_learns_its_own_direction_and_the_overall_taste_none() -> None:
    session = _rated(40)
    assert session.criteria == {"calm": 40, "energy": 40}
    assert session.n_ratings == 0  # criterion ratings are not overall likes
    for name, direction in (("energy", ENERGY), ("calm", CALM)):
        high, low = session.score(np.array([2 * direction, -2 * direction]), criterion=name)
        assert high > 0.8 and low < 0.2


def test_criteria_without_ratings_are_absent_not_guessed() -> None:
    session = _rated(20)
    with pytest.raises(UnknownCriterionError, match="'mood' has no ratings") as caught:
        session.score(np.zeros(D), criterion="mood")
    assert isinstance(caught.value, KeyError)
    with pytest.raises(UnknownCriterionError):
        session.recommend(3, maximize="mood")


def test_a_bad_criterion_is_refused_and_nothing_is_stored() -> None:
    session = _engine().session("alice")
    item = session.ask(1)[0]
    for bad in ("", " lead", "x" * 41, 3, "a/b"):
        with pytest.raises(InvalidInputError, match="criterion"):
            session.tell(item.id, "like", criterion=bad)  # type: ignore[arg-type]
    assert session.export()["events"] == []


def test_recommendations_meet_the_bounds_and_push_the_maximized_criterion() -> None:
    session = _rated()
    items = session.recommend(5, maximize="calm", at_least={"energy": 0.8})
    latents = np.array([item.latent for item in items])
    assert len(items) == 5 and {item.source for item in items} == {"recommend"}
    assert np.all(session.score(latents, criterion="energy") >= 0.8)
    free = np.array([item.latent for item in session.recommend(5, maximize="calm")])
    assert session.score(free, criterion="calm").min() > 0.9
    assert np.all(latents @ ENERGY > 0)  # the bound pulled them toward energy


def test_reverse_meets_targets_on_several_criteria() -> None:
    session = _rated()
    latents = session.reverse(targets={"energy": 0.7, "calm": 0.4}, n=4)
    assert latents.shape == (4, D)
    np.testing.assert_allclose(session.score(latents, criterion="energy"), 0.7, atol=0.02)
    np.testing.assert_allclose(session.score(latents, criterion="calm"), 0.4, atol=0.02)
    with pytest.raises(InvalidInputError, match="target or targets"):
        session.reverse(0.5, targets={"energy": 0.5})


def test_constraints_that_cannot_hold_together_raise() -> None:
    session = _engine().session("alice")
    _rate(session, "energy", ENERGY, 60)
    _rate(session, "calm", -ENERGY, 60)
    with pytest.raises(InfeasibleConstraintsError, match="together") as caught:
        session.recommend(3, at_least={"energy": 0.9, "calm": 0.9})
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InvalidInputError, match="at_least"):
        session.recommend(3, at_least={"energy": 1.5})


def test_the_pareto_front_of_two_criteria() -> None:
    session = _rated()
    latents, probabilities = session.pareto("calm", "energy", points=6)
    assert latents.shape[1] == D and probabilities.shape == (len(latents), 2)
    assert np.all(np.diff(probabilities[:, 1]) >= 0)


def test_criteria_survive_a_restart_and_are_exported_and_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plgl.db'}"
    session = _rated(60, storage=url)
    probe = np.array([ENERGY, CALM])
    before = {name: session.score(probe, criterion=name) for name in ("energy", "calm")}
    resumed = _engine(url).session("alice")  # a snapshot plus later events, or a full replay
    assert resumed.criteria == session.criteria
    for name, scores in before.items():
        np.testing.assert_allclose(resumed.score(probe, criterion=name), scores, atol=1e-9)
    events = resumed.export()["events"]
    assert {e["criterion"] for e in events} == {"energy", "calm"}
    resumed.delete()
    with pytest.raises(UserDeletedError):
        _engine(url).session("alice", context="workout")


def test_a_context_starts_from_the_overall_taste_and_learns_its_own() -> None:
    engine = _engine()
    overall = engine.session("alice")
    _rate(overall, None, ENERGY, 60)
    workout = engine.session("alice", context="workout")
    assert workout.context == "workout" and workout.n_ratings == 0
    # Before any rating in it, the context leans the way the user's overall taste does.
    assert workout.score(2 * ENERGY)[0] > 0.7
    _rate(workout, None, CALM, 60)
    assert workout.score(2 * CALM)[0] > 0.8
    assert overall.context is None
    assert engine.session("alice", context="workout") is workout
    assert engine.session("alice").contexts() == ["workout"]
    exported = engine.session("alice").export()["events"]
    assert {e.get("context") for e in exported} == {None, "workout"}


def test_a_context_name_is_checked() -> None:
    with pytest.raises(InvalidInputError, match="context"):
        _engine().session("alice", context="")


def test_a_context_is_suggested_when_recent_ratings_fit_it_far_better() -> None:
    engine = _engine()
    workout = engine.session("alice", context="workout")
    _rate(workout, None, ENERGY, 40)
    evening = engine.session("alice", context="evening")
    _rate(evening, None, -ENERGY, 40)
    assert evening.suggest_context() is None  # its ratings fit its own taste
    _rate(evening, None, ENERGY, 10)  # now answering as in a workout
    assert evening.suggest_context() == "workout"
    assert engine.session("alice").suggest_context() is None  # no ratings of its own


def test_the_readme_example_of_several_tastes_runs() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"Several tastes at once[^\n]*\n\n```python\n(.*?)```", text, re.S)
    assert example is not None
    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=16), seed=0)
    exec(compile(example.group(1), "README.md", "exec"), {"engine": engine})


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_storage_keeps_criterion_and_context(tmp_path: Path, kind: str) -> None:
    from plgl.errors import EventConflictError
    from plgl.records import Comparison, Feedback
    from plgl.storage import from_url

    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'events.db'}"
    storage = from_url(url)
    events = [
        Feedback("e1", "i1", "like", None, "energy", "workout"),
        Comparison("e2", "i1", "i2", "calm", None),
        Feedback("e3", "i2", "skip", 0.5),
    ]
    for event in events:
        assert storage.append("u", event)
    assert storage.events("u") == events
    assert "criterion" not in events[2].to_dict() and "context" not in events[2].to_dict()
    with pytest.raises(EventConflictError):  # the same id, another criterion
        storage.append("u", Feedback("e1", "i1", "like", None, "calm", "workout"))
    storage.close()
