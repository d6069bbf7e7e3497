"""In-process storage: fast, and gone when the process ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from plgl.records import Event, Item, event_item_ids
from plgl.storage._base import BaseStorage, Snapshot


class MemoryStorage(BaseStorage):
    """Dicts behind a lock. `memory://` and `storage=None` give one of these.

    >>> from plgl.records import Feedback
    >>> storage = MemoryStorage()
    >>> storage.append("u", Feedback("e1", "item", "like")), storage.n_events("u")
    (True, 1)
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._events: dict[str, list[Event]] = {}
        self._event_ids: dict[str, dict[str, Event]] = {}
        self._items: dict[str, dict[str, Item]] = {}
        # Per user: the ids any event names, and the served items none names, oldest first
        # (a dict keeps insertion order), so that expiring never reads the events.
        self._named: dict[str, set[str]] = {}
        self._unrated: dict[str, dict[str, None]] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._settings_of: dict[str, dict[str, str]] = {}
        self._tombstones: set[str] = set()
        self._shared_of: dict[str, bytes] = {}

    def events(self, user_id: str, start: int = 0) -> list[Event]:
        with self._lock:
            return self._events.get(user_id, [])[start:]

    def n_events(self, user_id: str) -> int:
        with self._lock:
            return len(self._events.get(user_id, []))

    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        with self._lock:
            item = self._items.get(user_id, {}).get(item_id)
        return None if item is None else item.latent

    def items(self, user_id: str) -> list[Item]:
        with self._lock:
            return list(self._items.get(user_id, {}).values())

    def snapshot(self, user_id: str) -> Snapshot | None:
        with self._lock:
            return self._snapshots.get(user_id)

    def delete_user(self, user_id: str) -> None:
        with self._lock:
            for table in self._tables():
                table.pop(user_id, None)
            self._tombstones.add(user_id)

    def is_deleted(self, user_id: str) -> bool:
        with self._lock:
            return user_id in self._tombstones

    def _settings(self, user_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._settings_of.get(user_id, {}))

    def _shared(self, name: str) -> bytes | None:
        with self._lock:
            return self._shared_of.get(name)

    def _put_shared(self, name: str, data: bytes) -> None:
        with self._lock:
            self._shared_of[name] = data

    def _users(self, after: str | None, limit: int) -> list[str]:
        with self._lock:
            users = {user for table in self._tables() for user, held in table.items() if held}
        return sorted(user for user in users if after is None or user > after)[:limit]

    def _tables(self) -> tuple[dict[str, Any], ...]:
        return (
            self._events,
            self._event_ids,
            self._items,
            self._named,
            self._unrated,
            self._snapshots,
            self._settings_of,
        )

    def _append_new(self, user_id: str, event: Event) -> Event | None:
        with self._lock:
            if user_id in self._tombstones:
                raise self._deleted(user_id)
            ids = self._event_ids.setdefault(user_id, {})
            if event.event_id in ids:
                return ids[event.event_id]
            ids[event.event_id] = event
            self._events.setdefault(user_id, []).append(event)
            unrated = self._unrated.get(user_id, {})
            for item_id in event_item_ids(event):
                self._named.setdefault(user_id, set()).add(item_id)
                unrated.pop(item_id, None)
            return None

    def _put_items(self, user_id: str, items: Sequence[Item]) -> None:
        with self._lock:
            if user_id in self._tombstones:
                raise self._deleted(user_id)
            bucket = self._items.setdefault(user_id, {})
            named = self._named.get(user_id, set())
            unrated = self._unrated.setdefault(user_id, {})
            for item in items:
                if item.id not in bucket:
                    bucket[item.id] = item
                    if item.id not in named:
                        unrated[item.id] = None

    def _expire_unrated(self, user_id: str, keep: int) -> int:
        with self._lock:
            unrated = self._unrated.get(user_id, {})
            if len(unrated) <= keep:
                return 0
            expired = list(unrated)[: len(unrated) - keep]
            bucket = self._items[user_id]
            for item_id in expired:
                del bucket[item_id]
                del unrated[item_id]
            return len(expired)

    def _put_snapshot(self, user_id: str, position: int, blob: bytes) -> None:
        with self._lock:
            if user_id in self._tombstones:
                raise self._deleted(user_id)
            self._snapshots[user_id] = Snapshot(position, blob)

    def _put_settings(self, user_id: str, changes: dict[str, str | None]) -> None:
        with self._lock:
            if user_id in self._tombstones:
                raise self._deleted(user_id)
            stored = self._settings_of.setdefault(user_id, {})
            for key, text in changes.items():
                if text is None:
                    stored.pop(key, None)
                else:
                    stored[key] = text
