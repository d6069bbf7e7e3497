"""Snapshots: a resumed session starts from the latest snapshot and replays only later events,
and ends up exactly where a full replay of every event would."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import rate

import plgl
from plgl.models import KernelPreference, LinearPreference
from plgl.samplers import MixtureSampler
from plgl.storage import BaseStorage, MemoryStorage, SQLiteStorage

DIM = 6


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SQLiteStorage]:
    storage = SQLiteStorage(tmp_path / "plgl.db")
    yield storage
    storage.close()


def _engine(storage: BaseStorage, model: LinearPreference | None = None) -> plgl.Engine:
    generator = plgl.generators.get("identity", latent_dim=DIM)
    return plgl.Engine(generator=generator, storage=storage, seed=3, model=model)


def _copy(source: BaseStorage, user_id: str) -> MemoryStorage:
    """The user's events and items, without any snapshot."""
    copy = MemoryStorage()
    copy.put_items(user_id, source.items(user_id))
    for event in source.events(user_id):
        copy.append(user_id, event)
    return copy


def _assert_same_model(a: plgl.Session, b: plgl.Session) -> None:
    state_a, state_b = a.model.get_state(), b.model.get_state()  # type: ignore[attr-defined]
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_array_equal(state_a[key], state_b[key], err_msg=key)
    probe = np.random.default_rng(7).standard_normal((50, DIM))
    np.testing.assert_array_equal(a.score(probe), b.score(probe))


def test_resume_from_snapshot_equals_a_full_replay(
    storage: SQLiteStorage, event_reads: Callable[[Any], list[int]]
) -> None:
    engine = _engine(storage)
    session = engine.session("u")
    rate(session, np.eye(DIM)[1], 130)  # snapshots after events 50 and 100
    engine.flush()  # snapshots are written in the background
    snapshot = storage.snapshot("u")
    assert snapshot is not None and snapshot.position == 100

    starts = event_reads(storage)
    resumed = _engine(storage).session("u")  # a new process would do the same
    assert starts == [100]  # only the 30 later events were replayed
    assert resumed.n_ratings == 130

    replayed = _engine(_copy(storage, "u")).session("u")
    assert replayed.n_ratings == 130
    _assert_same_model(resumed, replayed)
    # and they go on alike: the same next items, the same model after more ratings
    assert [i.latent.tolist() for i in resumed.ask(5)] == [
        i.latent.tolist() for i in replayed.ask(5)
    ]
    _assert_same_model(resumed, replayed)


def test_a_resume_after_many_events_saves_a_snapshot(storage: SQLiteStorage) -> None:
    engine = _engine(MemoryStorage())
    rate(engine.session("u"), np.eye(DIM)[0], 80)
    copy = _copy(engine.storage, "u")
    assert copy.snapshot("u") is None
    resumed = _engine(copy)
    resumed.session("u")
    resumed.flush()
    snapshot = copy.snapshot("u")
    assert snapshot is not None and snapshot.position == 80


def test_snapshot_on_demand(
    storage: SQLiteStorage, event_reads: Callable[[Any], list[int]]
) -> None:
    session = _engine(storage).session("u")
    rate(session, np.eye(DIM)[2], 20)
    assert storage.snapshot("u") is None
    assert session.snapshot()
    snapshot = storage.snapshot("u")
    assert snapshot is not None and snapshot.position == 20
    starts = event_reads(storage)
    _assert_same_model(_engine(storage).session("u"), _engine(_copy(storage, "u")).session("u"))
    assert starts[0] == 20


def test_snapshot_of_other_model_settings_is_not_used(
    storage: SQLiteStorage, event_reads: Callable[[Any], list[int]]
) -> None:
    rate(_engine(storage).session("u"), np.eye(DIM)[0], 60)
    other = LinearPreference(drift=0.01)
    starts = event_reads(storage)
    resumed = _engine(storage, other).session("u")
    assert starts[0] == 0
    _assert_same_model(resumed, _engine(_copy(storage, "u"), other).session("u"))


def test_unreadable_snapshot_is_ignored(storage: SQLiteStorage) -> None:
    rate(_engine(storage).session("u"), np.eye(DIM)[0], 30)
    storage.put_snapshot("u", 30, b"not an npz archive")
    _assert_same_model(_engine(storage).session("u"), _engine(_copy(storage, "u")).session("u"))


def test_snapshot_does_not_outlive_deletion(storage: SQLiteStorage) -> None:
    engine = _engine(storage)
    session = engine.session("u")
    rate(session, np.eye(DIM)[0], 60)
    engine.flush()
    assert storage.snapshot("u") is not None
    session.delete()
    assert storage.snapshot("u") is None
    with pytest.raises(plgl.UserDeletedError):
        session.snapshot()
    with pytest.raises(plgl.UserDeletedError):
        _engine(storage).session("u")


def test_batch_models_take_no_snapshot(storage: SQLiteStorage) -> None:
    engine = plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=4),
        storage=storage,
        model=KernelPreference(),
        sampler=MixtureSampler(n_candidates=30),
    )
    session = engine.session("u")
    rate(session, np.eye(4)[0], 10)
    assert not session.snapshot()
    assert storage.snapshot("u") is None


def test_export_is_what_storage_holds_in_the_documented_format(storage: SQLiteStorage) -> None:
    session = _engine(storage).session("u")
    items = session.ask(3)
    session.tell(items[0].id, "skip", dwell_seconds=1.25, event_id="e1")
    session.compare(items[1].id, items[2].id, event_id="e2")
    exported = json.loads(json.dumps(session.export()))  # JSON-native
    assert exported["format"] == "plgl.export/1"
    assert exported["user_id"] == "u"
    assert exported["events"] == [
        {
            "kind": "feedback",
            "event_id": "e1",
            "item_id": items[0].id,
            "signal": "skip",
            "dwell_seconds": 1.25,
        },
        {
            "kind": "comparison",
            "event_id": "e2",
            "preferred_id": items[1].id,
            "other_id": items[2].id,
        },
    ]
    assert [item["id"] for item in exported["items"]] == [item.id for item in items]
    assert exported["items"][0]["latent"] == items[0].latent.tolist()
    assert exported["items"][0]["source"] == items[0].source
    assert exported["events"] == [e.to_dict() for e in storage.events("u")]


def test_an_export_read_back_rebuilds_the_same_model(storage: SQLiteStorage) -> None:
    """The recipe in docs/export-format.md."""
    from plgl.records import Item, event_from_dict

    session = _engine(storage).session("u")
    rate(session, np.eye(DIM)[4], 70)
    export = json.loads(json.dumps(session.export()))
    target = MemoryStorage()
    target.put_items("u", [Item(i["id"], i["latent"], None, i["source"]) for i in export["items"]])
    for event in export["events"]:
        target.append("u", event_from_dict(event))
    assert target.items("u")[0].source == storage.items("u")[0].source
    _assert_same_model(_engine(target).session("u"), _engine(_copy(storage, "u")).session("u"))


def test_an_older_snapshot_never_replaces_a_newer_one(storage: SQLiteStorage) -> None:
    from plgl.history import save_snapshot

    engine = _engine(storage)
    session = engine.session("u")
    rate(session, np.eye(DIM)[0], 60)
    assert session.snapshot()
    # a job of another process, due at event 50, runs late
    assert save_snapshot(engine.recipe, storage, "u", engine.snapshot_key, upto=50)
    snapshot = storage.snapshot("u")
    assert snapshot is not None and snapshot.position == 60
