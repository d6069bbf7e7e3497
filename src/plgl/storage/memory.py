"""In-process storage: fast, and gone when the process ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from plgl.records import Event, Item
from plgl.storage._base import BaseStorage


class MemoryStorage(BaseStorage):
    """Dicts behind a lock. `memory://` and `storage=None` give one of these."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._events: dict[str, dict[str, Event]] = {}
        self._items: dict[str, dict[str, Item]] = {}
        self._tombstones: set[str] = set()

    def append(self, user_id: str, event: Event) -> bool:
        with self._lock:  # check-then-write must be atomic
            return super().append(user_id, event)

    def events(self, user_id: str) -> list[Event]:
        with self._lock:
            return list(self._events.get(user_id, {}).values())

    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        with self._lock:
            item = self._items.get(user_id, {}).get(item_id)
        return None if item is None else item.latent

    def items(self, user_id: str) -> list[Item]:
        with self._lock:
            return list(self._items.get(user_id, {}).values())

    def delete_user(self, user_id: str) -> None:
        with self._lock:
            self._events.pop(user_id, None)
            self._items.pop(user_id, None)
            self._tombstones.add(user_id)

    def is_deleted(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._tombstones

    def _get_event(self, user_id: str, event_id: str) -> Event | None:
        return self._events.get(user_id, {}).get(event_id)

    def _append(self, user_id: str, event: Event) -> None:
        self._events.setdefault(user_id, {})[event.event_id] = event

    def _put_items(self, user_id: str, items: Sequence[Item]) -> None:
        with self._lock:
            bucket = self._items.setdefault(user_id, {})
            for item in items:
                bucket[item.id] = item
