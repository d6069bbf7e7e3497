"""The storage plug point: an append-only event log, the items each user was shown, snapshots.

Contract, which every backend passes in `plgl.testing.StorageConformance`:

- `append(user_id, event)` stores an event once. Appending an event whose id is already stored
  returns False and changes nothing when the two are equal, and raises EventConflictError when
  they differ. Event ids are scoped to the user. The check and the write are one atomic step,
  also across threads and processes, and `append` returns only once the event is durable.
- `events(user_id, start)` returns the user's events from position `start` on, in the order they
  were first appended; `n_events` counts them.
- `put_items` / `item_latent` keep the latent of every item served, so that feedback naming an
  item id can be checked (unknown and foreign ids are rejected) and turned into training data.
  An item id is written once: a second `put_items` with the same id keeps the first.
- `expire_unrated(user_id, keep)` forgets the oldest items served to the user that no stored
  event names, so that at most `keep` of those remain; it returns how many it forgot. An item
  named by any event (rated, compared) is never forgotten: the check and the removal are one
  atomic step, so an event stored before it keeps its item. (A rating of an item that is
  being expired at that very moment, the oldest unrated one beyond the cap, can still be
  stored without its latent; the event is kept, and replays skip it.)
- `put_snapshot(user_id, position, blob)` keeps the latest snapshot of a user's derived model
  state, covering the first `position` events; `snapshot(user_id)` returns it (or None).
- `put_settings(user_id, settings)` merges JSON-native settings (adventurousness and the like)
  into the user's: each key given replaces its stored value, a value of None removes the key;
  `settings(user_id)` returns them ({} when none).
- `version(user_id)` is the number of events stored for the user, cheaply: a process that has
  learned fewer knows that another one appended.
- `state(user_id)` is what every request of a user reads first (version, tombstone, settings),
  in one round trip where the backend can.
- `users(after, limit)` pages through every live user (one with anything stored, not deleted)
  in a stable order (by code point of the id): pass the last id of a page as `after`.
- `put_shared(name, data)` / `shared(name)` keep engine-wide state that belongs to no user
  (a population's released aggregates): the latest bytes under a name, or None.
- `delete_user` removes everything stored about a user (events, items, snapshot, settings) and
  leaves a tombstone: the user id can never be written again, so a replay of old events cannot
  bring the data back (writes raise UserDeletedError).
- A backend that cannot do its job (unreachable, locked, not a plgl database) raises
  StorageError; it never answers as if a write had succeeded.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from plgl.errors import EventConflictError, InvalidInputError, UserDeletedError
from plgl.records import Comparison, Event, Feedback, Item


@dataclass(frozen=True)
class Snapshot:
    """A user's derived model state (`blob`), valid for the first `position` events."""

    position: int
    blob: bytes


@dataclass(frozen=True)
class UserState:
    """What serving a user's request reads first: `version` (events stored), whether the user
    was `deleted`, and their `settings` (JSON-native values)."""

    version: int
    deleted: bool
    settings: dict[str, Any]


class BaseStorage(ABC):
    """Where events, served items and snapshots live. Backends implement the abstract methods.

    Backends check tombstones inside the same atomic step as every write (`_append_new`,
    `_put_items`, `_put_snapshot`, `_put_settings`), so that a write racing a deletion cannot
    survive it.
    """

    def append(self, user_id: str, event: Event) -> bool:
        """Store `event` once; True if it was new, False if this exact event was already stored."""
        _check_text("user_id", user_id)
        if not isinstance(event, Feedback | Comparison):
            raise InvalidInputError(f"event must be a Feedback or Comparison, got {event!r}")
        _check_text("event_id", event.event_id)
        stored = self._append_new(user_id, event)
        if stored is None:
            return True
        if stored != event:
            raise EventConflictError(
                f"event id {event.event_id!r} was already used for a different event "
                f"({stored}); use a new event id for a new event"
            )
        return False

    def put_items(self, user_id: str, items: Sequence[Item]) -> None:
        """Remember the items served to a user (an id already stored keeps its first item)."""
        _check_text("user_id", user_id)
        for item in items:
            _check_text("item id", item.id)
        self._put_items(user_id, items)

    def expire_unrated(self, user_id: str, keep: int) -> int:
        """Forget the oldest served items no event names, keeping the newest `keep` of them;
        returns how many were forgotten (0 for an unknown or deleted user)."""
        _check_text("user_id", user_id)
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise InvalidInputError(f"keep must be an integer >= 0, got {keep!r}")
        return self._expire_unrated(user_id, keep)

    def put_snapshot(self, user_id: str, position: int, blob: bytes) -> None:
        """Keep `blob` as the user's latest snapshot, covering their first `position` events."""
        _check_text("user_id", user_id)
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise InvalidInputError(f"position must be an integer >= 0, got {position!r}")
        if not isinstance(blob, bytes):
            raise InvalidInputError(f"snapshot must be bytes, got {type(blob).__name__}")
        self._put_snapshot(user_id, position, blob)

    def put_settings(self, user_id: str, settings: Mapping[str, Any]) -> None:
        """Merge `settings` into the user's: a key set to None is removed, others replace the
        stored value. Keys are non-empty strings, values JSON-native (finite numbers)."""
        _check_text("user_id", user_id)
        if not isinstance(settings, Mapping):
            raise InvalidInputError(f"settings must be a dict, got {type(settings).__name__}")
        changes: dict[str, str | None] = {}
        for key, value in settings.items():
            _check_text("settings key", key)
            changes[key] = None if value is None else _json(key, value)
        if changes:
            self._put_settings(user_id, changes)

    def settings(self, user_id: str) -> dict[str, Any]:
        """The user's settings ({} when none)."""
        return settings_from(self._settings(user_id))

    def users(self, after: str | None = None, limit: int = 1000) -> list[str]:
        """Up to `limit` live user ids after `after` (None: from the first), in code point order."""
        if after is not None and not isinstance(after, str):
            raise InvalidInputError(f"after must be a user id or None, got {after!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"limit must be an integer >= 1, got {limit!r}")
        return self._users(after, limit)

    def put_shared(self, name: str, data: bytes) -> None:
        """Keep `data` under `name`, replacing what was there: engine-wide state (no user's)."""
        _check_text("shared name", name)
        if not isinstance(data, bytes):
            raise InvalidInputError(f"shared data must be bytes, got {type(data).__name__}")
        self._put_shared(name, data)

    def shared(self, name: str) -> bytes | None:
        """The bytes last kept under `name`, or None."""
        _check_text("shared name", name)
        return self._shared(name)

    def item_latents(self, user_id: str, item_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """{item id: (latent_dim,) latent} for those of `item_ids` served to the user."""
        found = {}
        for item_id in set(item_ids):
            latent = self.item_latent(user_id, item_id)
            if latent is not None:
                found[item_id] = latent
        return found

    def version(self, user_id: str) -> int:
        """The number of events stored for the user: cheap, so that a process can tell that
        another one appended (backends with a faster count than `n_events` override it)."""
        return self.n_events(user_id)

    def state(self, user_id: str) -> UserState:
        """The user's version, tombstone and settings together (backends with round trips
        read them in one)."""
        return UserState(self.version(user_id), self.is_deleted(user_id), self.settings(user_id))

    def close(self) -> None:  # noqa: B027 (optional: most backends have nothing to release)
        """Release connections; the storage must not be used afterwards."""

    @staticmethod
    def _deleted(user_id: str) -> UserDeletedError:
        return UserDeletedError(f"user {user_id!r} was deleted; their id cannot be reused")

    @abstractmethod
    def events(self, user_id: str, start: int = 0) -> list[Event]:
        """The user's events from position `start` on, oldest first."""

    @abstractmethod
    def n_events(self, user_id: str) -> int:
        """How many events the user has."""

    @abstractmethod
    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        """(latent_dim,) latent of an item served to this user, or None if it never was."""

    @abstractmethod
    def items(self, user_id: str) -> list[Item]:
        """Every item served to the user, oldest first (content is not kept by every backend)."""

    @abstractmethod
    def snapshot(self, user_id: str) -> Snapshot | None:
        """The user's latest snapshot, or None."""

    @abstractmethod
    def delete_user(self, user_id: str) -> None:
        """Remove the user's events, items, snapshot and settings, and leave a tombstone."""

    @abstractmethod
    def is_deleted(self, user_id: str) -> bool:
        """Whether the user was deleted."""

    @abstractmethod
    def _append_new(self, user_id: str, event: Event) -> Event | None:
        """Atomically: raise `_deleted` if tombstoned; return the stored event with the same id
        if there is one; else store `event` durably and return None."""

    @abstractmethod
    def _put_items(self, user_id: str, items: Sequence[Item]) -> None:
        """Atomically: raise `_deleted` if tombstoned, else store the items not yet stored."""

    @abstractmethod
    def _expire_unrated(self, user_id: str, keep: int) -> int:
        """Atomically: remove the user's served items that no event names, oldest first, until
        `keep` of them remain; return how many were removed."""

    @abstractmethod
    def _put_snapshot(self, user_id: str, position: int, blob: bytes) -> None:
        """Atomically: raise `_deleted` if tombstoned, else replace the user's snapshot."""

    @abstractmethod
    def _put_settings(self, user_id: str, changes: dict[str, str | None]) -> None:
        """Atomically: raise `_deleted` if tombstoned, else set each key to its JSON text
        (None: remove the key)."""

    @abstractmethod
    def _settings(self, user_id: str) -> dict[str, str]:
        """The user's settings as {key: JSON text}."""

    @abstractmethod
    def _put_shared(self, name: str, data: bytes) -> None:
        """Replace the bytes under `name` (one atomic write)."""

    @abstractmethod
    def _shared(self, name: str) -> bytes | None:
        """The bytes under `name`, or None."""

    @abstractmethod
    def _users(self, after: str | None, limit: int) -> list[str]:
        """Up to `limit` live user ids greater than `after`, in code point order."""


def settings_from(texts: Mapping[str, str]) -> dict[str, Any]:
    """Settings from their stored JSON texts {key: text}, in key order."""
    return {key: json.loads(text) for key, text in sorted(texts.items())}


def _json(key: str, value: object) -> str:
    """Canonical JSON text of a setting; InvalidInputError unless it is JSON-native."""
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"setting {key!r} must be JSON-native (str, finite number, bool, list, dict), "
            f"got {value!r}: {error}"
        ) from None
    if json.loads(text) != value:  # tuples, non-string keys: not what would come back
        raise InvalidInputError(f"setting {key!r} would not read back as stored: {value!r}")
    return text


def _check_text(name: str, value: object) -> None:
    """Ids are non-empty strings that every backend can store (UTF-8 encodable)."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidInputError(f"{name} {value!r} is not valid Unicode text: {error}") from None
