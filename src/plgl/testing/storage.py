"""The storage contract, as tests every backend must pass (see `plgl.storage.BaseStorage`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from plgl.errors import EventConflictError, InvalidInputError, UserDeletedError
from plgl.records import Comparison, Event, Feedback, Item
from plgl.storage import BaseStorage, UserState


def _item(item_id: str, value: float = 1.0) -> Item:
    return Item(item_id, np.full(3, value), None)


def _in_threads(n: int, work: Callable[[int], None]) -> None:
    """Run work(0..n-1) in n threads that start together; re-raise the first failure."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class StorageConformance:
    """Subclass and override the `storage` fixture to return a fresh, empty backend."""

    @pytest.fixture
    def storage(self) -> BaseStorage:
        raise NotImplementedError("override the storage fixture")

    # ----------------------------------------------------------------- events
    def test_events_come_back_in_order(self, storage: BaseStorage) -> None:
        events: list[Event] = [Feedback(f"e{i}", "item", "like") for i in range(5)]
        events.append(Comparison("c", "item", "other"))
        for event in events:
            assert storage.append("u", event)
        assert storage.events("u") == events
        assert storage.n_events("u") == 6

    def test_many_events_keep_their_order_per_user(self, storage: BaseStorage) -> None:
        signals = ("like", "dislike", "skip", "superlike")
        expected: dict[str, list[Event]] = {"u": [], "v": []}
        for i in range(400):
            user = "u" if i % 3 else "v"
            event = Feedback(f"e{i}", f"item{i % 7}", signals[i % 4], i / 10 if i % 2 else None)
            expected[user].append(event)
            assert storage.append(user, event)
        for user, events in expected.items():
            assert storage.events(user) == events
            assert storage.n_events(user) == len(events)
            assert storage.events(user, 100) == events[100:]
        assert storage.events("u", 10_000) == []

    def test_unknown_user_has_nothing(self, storage: BaseStorage) -> None:
        assert storage.events("nobody") == []
        assert storage.n_events("nobody") == 0
        assert storage.items("nobody") == []
        assert storage.snapshot("nobody") is None
        assert not storage.is_deleted("nobody")

    def test_same_event_twice_is_stored_once(self, storage: BaseStorage) -> None:
        event = Feedback("e1", "item", "like", 1.5)
        assert storage.append("u", event)
        assert not storage.append("u", Feedback("e1", "item", "like", 1.5))
        assert storage.events("u") == [event]

    def test_reused_event_id_for_other_event_is_rejected(self, storage: BaseStorage) -> None:
        storage.append("u", Feedback("e1", "item", "like"))
        with pytest.raises(EventConflictError, match="e1"):
            storage.append("u", Feedback("e1", "item", "dislike"))
        with pytest.raises(EventConflictError, match="e1"):
            storage.append("u", Comparison("e1", "item", "other"))
        assert storage.events("u") == [Feedback("e1", "item", "like")]

    def test_event_ids_are_scoped_to_the_user(self, storage: BaseStorage) -> None:
        assert storage.append("u", Feedback("e1", "item", "like"))
        assert storage.append("v", Feedback("e1", "item", "dislike"))
        assert storage.events("v") == [Feedback("e1", "item", "dislike")]

    def test_values_survive_exactly(self, storage: BaseStorage) -> None:
        event = Feedback("e1", "item", "skip", 0.1 + 0.2)  # not a short decimal
        storage.append("u", event)
        stored = storage.events("u")[0]
        assert isinstance(stored, Feedback) and stored.dwell_seconds == 0.1 + 0.2
        latent = np.array([np.pi, -1e-300, 1e300, 0.1 + 0.2])
        storage.put_items("u", [Item("x", latent, None, "exploit")])
        item = storage.items("u")[0]
        assert item.source == "exploit"
        np.testing.assert_array_equal(item.latent, latent)

    def test_unicode_and_separator_ids(self, storage: BaseStorage) -> None:
        users = ["ユーザー🙂", "a:events", "a", "spaces and\nnewlines", "ñ" * 200]
        for n, user in enumerate(users):
            storage.put_items(user, [_item("элемент·1", float(n))])
            assert storage.append(user, Feedback("é-1 🙂", "элемент·1", "like"))
        for n, user in enumerate(users):
            assert storage.events(user) == [Feedback("é-1 🙂", "элемент·1", "like")]
            latent = storage.item_latent(user, "элемент·1")
            assert latent is not None and latent[0] == n
        storage.delete_user("a")
        assert storage.n_events("a:events") == 1

    def test_bad_input_is_rejected_and_changes_nothing(self, storage: BaseStorage) -> None:
        with pytest.raises(InvalidInputError):
            storage.append("u", {"event_id": "e1"})  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            storage.append("", Feedback("e1", "item", "like"))
        with pytest.raises(InvalidInputError, match="Unicode"):
            storage.append("\ud800", Feedback("e1", "item", "like"))
        with pytest.raises(InvalidInputError):
            storage.put_items("u", [_item("")])
        with pytest.raises(InvalidInputError):
            storage.put_snapshot("u", -1, b"x")
        with pytest.raises(InvalidInputError):
            storage.put_snapshot("u", 0, "text")  # type: ignore[arg-type]
        assert storage.events("u") == [] and storage.items("u") == []
        assert storage.snapshot("u") is None

    def test_version_counts_the_events_stored(self, storage: BaseStorage) -> None:
        assert storage.version("u") == 0
        for i in range(3):
            storage.append("u", Feedback(f"e{i}", "item", "like"))
            assert storage.version("u") == i + 1
        storage.append("u", Feedback("e0", "item", "like"))  # a retry adds nothing
        storage.put_items("u", [_item("a")])
        storage.put_settings("u", {"explore": 0.5})
        assert storage.version("u") == storage.n_events("u") == 3
        assert storage.version("v") == 0
        storage.delete_user("u")
        assert storage.version("u") == 0

    def test_state_is_version_tombstone_and_settings_together(self, storage: BaseStorage) -> None:
        assert storage.state("u") == UserState(0, False, {})
        nested = {"weights": [0.5], "name": "ünï 🙂"}
        storage.put_items("u", [_item("a")])
        storage.append("u", Feedback("e1", "a", "like"))
        storage.put_settings("u", {"explore": 0.5, "profile": nested})
        assert storage.state("u") == UserState(1, False, {"explore": 0.5, "profile": nested})
        storage.delete_user("u")
        assert storage.state("u") == UserState(0, True, {})
        assert storage.state("v") == UserState(0, False, {})

    # --------------------------------------------------------------- settings
    def test_settings_are_kept_and_merged(self, storage: BaseStorage) -> None:
        assert storage.settings("u") == {}
        nested = {"weights": [0.1 + 0.2, -1e-300], "name": "ünï 🙂", "on": True, "none": {}}
        storage.put_settings("u", {"explore": 0.8, "profile": nested})
        assert storage.settings("u") == {"explore": 0.8, "profile": nested}
        storage.put_settings("u", {"explore": 0.25, "matching": False})
        assert storage.settings("u") == {"explore": 0.25, "profile": nested, "matching": False}
        storage.put_settings("u", {"profile": None, "absent": None})  # None removes a key
        assert storage.settings("u") == {"explore": 0.25, "matching": False}
        assert storage.settings("v") == {}
        settings = storage.settings("u")
        settings["explore"] = 1.0  # a copy: changing it changes nothing stored
        assert storage.settings("u")["explore"] == 0.25

    def test_bad_settings_are_rejected_and_change_nothing(self, storage: BaseStorage) -> None:
        storage.put_settings("u", {"explore": 0.5})
        bad: list[object] = [
            ["explore", 0.1],
            {"": 1},
            {1: 2},
            {"x": float("nan")},
            {"x": {1, 2}},
            {"x": (1, 2)},
            {"x": {3: "non-string key"}},
            {"x": np.zeros(2)},
        ]
        for settings in bad:
            with pytest.raises(InvalidInputError):
                storage.put_settings("u", settings)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            storage.put_settings("", {"explore": 0.1})
        assert storage.settings("u") == {"explore": 0.5}

    def test_settings_go_with_the_user(self, storage: BaseStorage) -> None:
        storage.put_settings("u", {"explore": 0.9})
        storage.put_settings("v", {"explore": 0.1})
        storage.delete_user("u")
        assert storage.settings("u") == {}
        with pytest.raises(UserDeletedError):
            storage.put_settings("u", {"explore": 0.9})
        assert storage.settings("u") == {}
        assert storage.settings("v") == {"explore": 0.1}

    # ----------------------------------------------------------------- shared
    def test_shared_state_is_kept_replaced_and_belongs_to_no_user(
        self, storage: BaseStorage
    ) -> None:
        assert storage.shared("population/state") is None
        blob = bytes(range(256)) * 3  # any bytes, NUL included
        storage.put_shared("population/state", blob)
        storage.put_shared("ünï/🙂", b"")
        assert storage.shared("population/state") == blob
        assert storage.shared("ünï/🙂") == b""
        storage.put_shared("population/state", b"newer")
        assert storage.shared("population/state") == b"newer"
        assert storage.users() == []  # no user is made live by shared state
        storage.delete_user("population/state")  # a user of that name is another thing
        assert storage.shared("population/state") == b"newer"

    def test_bad_shared_state_is_rejected_and_changes_nothing(self, storage: BaseStorage) -> None:
        storage.put_shared("x", b"kept")
        for name, data in (("", b"a"), (3, b"a"), ("x", "text"), ("x", None)):
            with pytest.raises(InvalidInputError):
                storage.put_shared(name, data)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            storage.shared("")
        assert storage.shared("x") == b"kept"

    # ------------------------------------------------------------------ users
    def test_users_pages_through_live_users_in_order(self, storage: BaseStorage) -> None:
        assert storage.users() == []
        storage.append("b", Feedback("e1", "item", "like"))
        storage.put_items("a", [_item("x")])
        storage.put_settings("é", {"explore": 0.1})
        storage.put_snapshot("Z", 0, b"state")
        storage.append("c", Feedback("e1", "item", "like"))
        storage.append("🙂", Feedback("e1", "item", "like"))
        storage.append("b", Feedback("e2", "item", "like"))  # listed once
        storage.delete_user("c")
        storage.delete_user("never-written")
        expected = ["Z", "a", "b", "é", "🙂"]  # code point order
        assert storage.users() == expected
        assert storage.users(limit=2) == expected[:2]
        assert storage.users(after="a", limit=2) == ["b", "é"]
        assert storage.users(after="é") == ["🙂"]
        assert storage.users(after="🙂") == []
        assert storage.users(after="aa") == ["b", "é", "🙂"]  # any string works as a cursor

    def test_many_users_page_completely(self, storage: BaseStorage) -> None:
        names = {f"user-{i:04d}" for i in range(250)}
        for name in names:
            storage.append(name, Feedback("e1", "item", "like"))
        seen: list[str] = []
        after = None
        while page := storage.users(after=after, limit=40):
            seen += page
            after = page[-1]
        assert seen == sorted(names)

    def test_bad_paging_is_rejected(self, storage: BaseStorage) -> None:
        for limit in (0, -1, 1.5, True, "10"):
            with pytest.raises(InvalidInputError):
                storage.users(limit=limit)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            storage.users(after=3)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ items
    def test_items_are_kept_per_user(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item("a", 1.0), _item("b", 2.0)])
        latent = storage.item_latent("u", "b")
        assert latent is not None
        np.testing.assert_array_equal(latent, np.full(3, 2.0))
        assert storage.item_latent("v", "b") is None
        assert storage.item_latent("u", "zzz") is None
        assert [item.id for item in storage.items("u")] == ["a", "b"]

    def test_an_item_id_keeps_its_first_latent(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item("a", 1.0)])
        storage.put_items("u", [_item("b", 2.0), _item("a", 9.0)])
        assert [item.id for item in storage.items("u")] == ["a", "b"]
        latent = storage.item_latent("u", "a")
        assert latent is not None and latent[0] == 1.0

    def test_item_latents_in_bulk(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item(f"i{n}", float(n)) for n in range(600)])
        found = storage.item_latents("u", ["i3", "i599", "i3", "missing"])
        assert sorted(found) == ["i3", "i599"]
        assert found["i599"][0] == 599.0
        assert storage.item_latents("v", ["i3"]) == {}
        assert len(storage.item_latents("u", [f"i{n}" for n in range(600)])) == 600

    # -------------------------------------------------------- unrated items
    def test_expire_unrated_forgets_the_oldest_unrated_items(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item(f"i{n}", float(n)) for n in range(8)])
        storage.put_items("v", [_item("i0")])
        storage.append("u", Feedback("e1", "i0", "like"))
        storage.append("u", Comparison("c1", "i3", "i1"))
        assert storage.expire_unrated("u", 10) == 0
        assert storage.expire_unrated("u", 3) == 2  # i2, i4 (i0, i1, i3 are named)
        assert [item.id for item in storage.items("u")] == ["i0", "i1", "i3", "i5", "i6", "i7"]
        assert storage.item_latent("u", "i2") is None
        latent = storage.item_latent("u", "i5")
        assert latent is not None and latent[0] == 5.0
        assert storage.expire_unrated("u", 3) == 0
        assert storage.expire_unrated("u", 0) == 3
        assert [item.id for item in storage.items("u")] == ["i0", "i1", "i3"]
        assert [item.id for item in storage.items("v")] == ["i0"]
        storage.put_items("u", [_item("i2"), _item("i9")])  # an expired id may be served again
        assert [item.id for item in storage.items("u")] == ["i0", "i1", "i3", "i2", "i9"]

    def test_expire_unrated_never_forgets_a_rated_item(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item(f"i{n}") for n in range(300)])
        for n in range(0, 300, 3):
            storage.append("u", Feedback(f"e{n}", f"i{n}", "dislike"))
        assert storage.expire_unrated("u", 0) == 200
        assert [item.id for item in storage.items("u")] == [f"i{n}" for n in range(0, 300, 3)]
        assert len(storage.item_latents("u", [f"i{n}" for n in range(300)])) == 100

    def test_an_item_named_before_it_is_stored_never_expires(self, storage: BaseStorage) -> None:
        storage.append("u", Feedback("e1", "late", "like"))  # its latent arrives afterwards
        storage.append("u", Comparison("c1", "p", "q"))
        storage.put_items("u", [_item("a"), _item("late"), _item("q"), _item("b")])
        assert storage.expire_unrated("u", 0) == 2
        assert [item.id for item in storage.items("u")] == ["late", "q"]

    def test_a_choice_keeps_every_item_it_names(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item(f"i{n}", float(n)) for n in range(6)])
        choice = Comparison("c1", "i1", "i2", others=("i4", "i5"))
        assert storage.append("u", choice)
        assert not storage.append("u", Comparison("c1", "i1", "i2", others=("i4", "i5")))
        assert storage.events("u") == [choice]
        assert storage.expire_unrated("u", 0) == 2  # i0 and i3: the others were named
        assert [item.id for item in storage.items("u")] == ["i1", "i2", "i4", "i5"]
        with pytest.raises(EventConflictError):
            storage.append("u", Comparison("c1", "i1", "i2", others=("i4",)))

    def test_expire_unrated_follows_ratings_as_they_come(self, storage: BaseStorage) -> None:
        for batch in range(30):  # a feed: 10 served, 7 rated, the cap at 20 unrated
            storage.put_items("u", [_item(f"i{batch}-{k}") for k in range(10)])
            for k in range(7):
                storage.append("u", Feedback(f"e{batch}-{k}", f"i{batch}-{k}", "like"))
            storage.expire_unrated("u", 20)
        ids = [item.id for item in storage.items("u")]
        assert len(ids) == 30 * 7 + 20
        unrated = [i for i in ids if int(i.rpartition("-")[2]) >= 7]
        assert unrated == [f"i{b}-{k}" for b in range(30) for k in range(7, 10)][-20:]
        assert storage.expire_unrated("u", 0) == 20
        assert storage.expire_unrated("u", 0) == 0

    def test_expire_unrated_of_nobody_is_nothing(self, storage: BaseStorage) -> None:
        assert storage.expire_unrated("nobody", 0) == 0
        storage.put_items("u", [_item("a")])
        storage.delete_user("u")
        assert storage.expire_unrated("u", 0) == 0
        with pytest.raises(InvalidInputError, match="keep"):
            storage.expire_unrated("u", -1)

    def test_expire_unrated_while_items_are_served(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item(f"r{n}") for n in range(20)])
        for n in range(20):
            storage.append("u", Feedback(f"e{n}", f"r{n}", "like"))

        def work(index: int) -> None:
            for batch in range(10):
                storage.put_items("u", [_item(f"t{index}-{batch}-{k}") for k in range(3)])
                storage.expire_unrated("u", 10)

        _in_threads(4, work)
        storage.expire_unrated("u", 10)
        ids = [item.id for item in storage.items("u")]
        assert ids[:20] == [f"r{n}" for n in range(20)]  # rated: never forgotten
        assert len(ids) == 30 and len(set(ids)) == 30
        assert len(storage.item_latents("u", ids)) == 30

    # -------------------------------------------------------------- snapshots
    def test_snapshot_keeps_the_latest(self, storage: BaseStorage) -> None:
        blob = bytes(range(256)) * 100  # binary, not text
        storage.put_snapshot("u", 50, blob)
        snapshot = storage.snapshot("u")
        assert snapshot is not None and (snapshot.position, snapshot.blob) == (50, blob)
        storage.put_snapshot("u", 100, b"newer")
        snapshot = storage.snapshot("u")
        assert snapshot is not None and (snapshot.position, snapshot.blob) == (100, b"newer")
        assert storage.snapshot("v") is None

    # --------------------------------------------------------------- deletion
    def test_delete_removes_everything_and_leaves_a_tombstone(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item("a")])
        storage.append("u", Feedback("e1", "a", "like"))
        storage.put_snapshot("u", 1, b"state")
        storage.put_settings("u", {"explore": 0.7})
        storage.append("v", Feedback("e1", "a", "like"))
        storage.delete_user("u")
        assert storage.is_deleted("u")
        assert storage.events("u") == []
        assert storage.n_events("u") == 0
        assert storage.items("u") == []
        assert storage.item_latent("u", "a") is None
        assert storage.snapshot("u") is None
        assert storage.settings("u") == {}
        assert storage.users() == ["v"]
        assert not storage.is_deleted("v")
        assert storage.n_events("v") == 1

    def test_deleted_user_stays_deleted(self, storage: BaseStorage) -> None:
        old = [Feedback(f"e{i}", "a", "like") for i in range(3)]
        storage.put_items("u", [_item("a")])
        for event in old:
            storage.append("u", event)
        storage.delete_user("u")
        for event in old:  # a replay of the old log
            with pytest.raises(UserDeletedError, match="deleted"):
                storage.append("u", event)
        with pytest.raises(UserDeletedError):
            storage.put_items("u", [_item("a")])
        with pytest.raises(UserDeletedError):
            storage.put_snapshot("u", 3, b"state")
        storage.delete_user("u")  # deleting again is harmless
        assert storage.is_deleted("u")
        assert storage.events("u") == [] and storage.items("u") == []
        assert storage.snapshot("u") is None

    # ------------------------------------------------------------ concurrency
    def test_concurrent_appends_store_each_event_once(self, storage: BaseStorage) -> None:
        """Eight threads append 40 events each: half their own, half the same shared ones."""
        new_counts = [0] * 8

        def work(index: int) -> None:
            for i in range(40):
                event_id = f"shared{i}" if i % 2 else f"t{index}-{i}"
                if storage.append("u", Feedback(event_id, "item", "like")):
                    new_counts[index] += 1

        _in_threads(8, work)
        ids = [event.event_id for event in storage.events("u")]
        assert len(ids) == len(set(ids)) == 8 * 20 + 20
        assert sum(new_counts) == len(ids)
        assert storage.n_events("u") == len(ids)

    def test_concurrent_conflicting_appends_keep_one(self, storage: BaseStorage) -> None:
        conflicts = [0] * 6

        def work(index: int) -> None:
            for i in range(20):
                try:
                    storage.append("u", Feedback(f"e{i}", f"item{index}", "like"))
                except EventConflictError:
                    conflicts[index] += 1

        _in_threads(6, work)
        ids = [event.event_id for event in storage.events("u")]
        assert sorted(ids) == sorted(f"e{i}" for i in range(20))
        assert sum(conflicts) == 5 * 20  # every id was won by exactly one thread

    def test_delete_racing_writes_leaves_nothing(self, storage: BaseStorage) -> None:
        def work(index: int) -> None:
            if index == 0:
                storage.delete_user("u")
                return
            for i in range(30):
                try:
                    storage.put_items("u", [_item(f"i{index}-{i}")])
                    storage.append("u", Feedback(f"e{index}-{i}", f"i{index}-{i}", "like"))
                    storage.put_settings("u", {f"k{index}": i})
                except UserDeletedError:
                    return

        storage.append("u", Feedback("first", "x", "like"))
        _in_threads(4, work)
        assert storage.is_deleted("u")
        assert storage.events("u") == [] and storage.items("u") == []
        assert storage.settings("u") == {} and storage.users() == []
