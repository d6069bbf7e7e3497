"""A refresh reads each user's taste from their latest snapshot (and replays only the events
after it): the same tastes, and the same fitted population, as a full replay of every event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import rate_more

import plgl
from plgl.history import Job, latest_taste, replay
from plgl.population import Population, UserTaste
from plgl.storage import BaseStorage, MemoryStorage
from plgl.storage.snapshot import decode_snapshot, decode_taste, encode_snapshot

D = 6
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _engine(storage: BaseStorage) -> plgl.Engine:
    population = Population(epsilon=None, min_users=8, max_rank=2)
    generator = plgl.generators.get("identity", latent_dim=D)
    return plgl.Engine(generator=generator, storage=storage, seed=0, population=population)


@pytest.fixture
def eng() -> plgl.Engine:
    """12 users with 7 to 73 ratings (some past a session snapshot at 50); a refresh; then 4
    users who started from the released prior."""
    rng = np.random.default_rng(3)
    engine = _engine(MemoryStorage())
    for user in range(16):
        if user == 12:
            engine.flush()
            assert engine.population is not None
            engine.population.refresh(NOW)
        w = np.eye(D)[user % 3] + 0.2 * rng.standard_normal(D)
        rate_more(engine.session(f"u{user:02d}"), w, 7 + 6 * user)
    engine.flush()
    return engine


def _full_replay(engine: plgl.Engine, user_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The user's posterior from every event, in a copy of their data without a snapshot."""
    storage = engine.storage
    copy = MemoryStorage()
    copy.put_items(user_id, storage.items(user_id))
    for event in storage.events(user_id):
        copy.append(user_id, event)
    assert engine.population is not None
    recipe, key = engine.population.recipe_for(user_id)
    model = replay(recipe, copy, user_id, key)[0].model
    return np.asarray(model.coef_), np.asarray(model.weight_covariance())  # type: ignore[attr-defined]


def _assert_equal(a: list[UserTaste], b: list[UserTaste]) -> None:
    assert [t.user_id for t in a] == [t.user_id for t in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.mean, y.mean, err_msg=x.user_id)
        np.testing.assert_array_equal(x.covariance, y.covariance, err_msg=x.user_id)


def test_tastes_and_refresh_equal_a_full_replay(
    eng: plgl.Engine, event_reads: Callable[[Any], list[int]]
) -> None:
    bound = eng.population
    assert bound is not None
    assert eng.storage.snapshot("u08") is not None  # 55 ratings: a session snapshot at 50
    replayed = [
        UserTaste(u, *_full_replay(eng, u)) for u in eng.storage.users() if eng.storage.version(u)
    ]
    first = list(bound.tastes())  # from snapshots and the events after them
    _assert_equal(first, replayed)
    starts = event_reads(eng.storage)
    second = list(bound.tastes())  # every snapshot now covers every event
    assert starts == []
    _assert_equal(second, replayed)
    for user_id in eng.storage.users():
        snapshot = eng.storage.snapshot(user_id)
        assert snapshot is not None and snapshot.position == eng.storage.version(user_id)

    bound.refresh(NOW)
    library = Population(epsilon=None, min_users=8, max_rank=2, secret=bound.population.secret)
    library.accountant.refreshes = list(bound.population.accountant.refreshes[:-1])
    library.refresh(replayed, NOW)
    assert bound.population.get_state() == library.get_state()


def test_ratings_after_a_refresh_replay_only_the_new_events(
    eng: plgl.Engine, event_reads: Callable[[Any], list[int]]
) -> None:
    bound = eng.population
    assert bound is not None
    list(bound.tastes())
    before = eng.storage.version("u03")
    rate_more(eng.session("u03"), np.eye(D)[0], 4)
    eng.flush()
    starts = event_reads(eng.storage)
    taste = bound.taste("u03")
    assert taste is not None and starts == [before]
    mean, covariance = _full_replay(eng, "u03")
    np.testing.assert_array_equal(taste.mean, mean)
    np.testing.assert_array_equal(taste.covariance, covariance)


def test_a_user_without_events_has_no_taste(eng: plgl.Engine) -> None:
    assert eng.population is not None
    eng.session("nobody").set_matching(True)
    assert eng.population.taste("nobody") is None
    assert "nobody" not in [t.user_id for t in eng.population.tastes()]


def test_the_taste_section_is_read_only_for_its_key() -> None:
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    blob = encode_snapshot({"array:x": np.zeros(2)}, "k", 3, taste=(np.ones(2), cov))
    found = decode_taste(blob, "k")
    assert found is not None
    np.testing.assert_array_equal(found[1], cov)
    assert decode_taste(blob, "other") is None
    assert decode_taste(encode_snapshot({"array:x": np.zeros(2)}, "k", 3), "k") is None
    assert decode_taste(blob[:40], "k") is None
    assert decode_taste(b"not a snapshot", "k") is None


def test_a_saved_snapshot_never_replaces_a_newer_one(eng: plgl.Engine) -> None:
    assert eng.population is not None
    recipe, key = eng.population.recipe_for("u13")
    jobs: list[Job] = []
    assert latest_taste(recipe, eng.storage, "u13", key, jobs.append) is not None
    assert len(jobs) == 1  # 85 ratings, a snapshot at 50: replayed from it, one to save
    session = eng.session("u13")
    rate_more(session, np.eye(D)[1], 3)
    assert session.snapshot()
    jobs[0]()
    snapshot = eng.storage.snapshot("u13")
    assert snapshot is not None and snapshot.position == 88


def test_snapshot_arrays_round_trip_and_a_damaged_blob_is_unreadable() -> None:
    state = {
        "scalar": np.array(3),
        "text": np.array(["x", "yy"]),
        "empty": np.zeros((0, 3)),
        "transposed": np.arange(6.0).reshape(2, 3).T,
        "flags": np.array([True, False]),
    }
    blob = encode_snapshot(state, "k", 5, taste=(np.ones(2), np.eye(2)))
    decoded = decode_snapshot(blob, "k")
    assert decoded is not None and decoded[1] == 5 and decoded[0].keys() == state.keys()
    for name, array in state.items():
        assert decoded[0][name].dtype == array.dtype
        np.testing.assert_array_equal(decoded[0][name], array)
    assert decode_snapshot(blob[:-1], "k") is None
    assert decode_snapshot(blob, "other") is None
    with pytest.raises(ValueError, match="plain"):
        encode_snapshot({"objects": np.array([{}], dtype=object)}, "k", 1)
