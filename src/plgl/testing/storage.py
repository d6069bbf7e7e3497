"""The storage contract, as tests every backend must pass (see `plgl.storage.BaseStorage`)."""

from __future__ import annotations

import numpy as np
import pytest

from plgl.errors import EventConflictError, UserDeletedError
from plgl.records import Comparison, Event, Feedback, Item
from plgl.storage import BaseStorage


def _item(item_id: str, value: float = 1.0) -> Item:
    return Item(item_id, np.full(3, value), None)


class StorageConformance:
    """Subclass and override the `storage` fixture to return a fresh, empty backend."""

    @pytest.fixture
    def storage(self) -> BaseStorage:
        raise NotImplementedError("override the storage fixture")

    def test_events_come_back_in_order(self, storage: BaseStorage) -> None:
        events: list[Event] = [Feedback(f"e{i}", "item", "like") for i in range(5)]
        events.append(Comparison("c", "item", "other"))
        for event in events:
            assert storage.append("u", event)
        assert storage.events("u") == events

    def test_same_event_twice_is_stored_once(self, storage: BaseStorage) -> None:
        event = Feedback("e1", "item", "like", 1.5)
        assert storage.append("u", event)
        assert not storage.append("u", Feedback("e1", "item", "like", 1.5))
        assert storage.events("u") == [event]

    def test_reused_event_id_for_other_event_is_rejected(self, storage: BaseStorage) -> None:
        storage.append("u", Feedback("e1", "item", "like"))
        with pytest.raises(EventConflictError, match="e1"):
            storage.append("u", Feedback("e1", "item", "dislike"))
        assert storage.events("u") == [Feedback("e1", "item", "like")]

    def test_event_ids_are_scoped_to_the_user(self, storage: BaseStorage) -> None:
        assert storage.append("u", Feedback("e1", "item", "like"))
        assert storage.append("v", Feedback("e1", "item", "dislike"))
        assert storage.events("v") == [Feedback("e1", "item", "dislike")]

    def test_items_are_kept_per_user(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item("a", 1.0), _item("b", 2.0)])
        latent = storage.item_latent("u", "b")
        assert latent is not None
        np.testing.assert_array_equal(latent, np.full(3, 2.0))
        assert storage.item_latent("v", "b") is None
        assert storage.item_latent("u", "zzz") is None
        assert [item.id for item in storage.items("u")] == ["a", "b"]

    def test_delete_removes_everything_and_leaves_a_tombstone(self, storage: BaseStorage) -> None:
        storage.put_items("u", [_item("a")])
        storage.append("u", Feedback("e1", "a", "like"))
        storage.delete_user("u")
        assert storage.is_deleted("u")
        assert storage.events("u") == []
        assert storage.item_latent("u", "a") is None
        with pytest.raises(UserDeletedError):
            storage.append("u", Feedback("e1", "a", "like"))
        with pytest.raises(UserDeletedError):
            storage.put_items("u", [_item("a")])
        assert not storage.is_deleted("v")
