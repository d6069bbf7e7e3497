"""The storage plug point: an append-only event log and the items each user was shown.

Contract, which every backend passes in `plgl.testing.run_storage_conformance`:

- `append(user_id, event)` stores an event once. Appending an event whose id is already stored
  returns False and changes nothing when the two are equal, and raises EventConflictError when
  they differ. Event ids are scoped to the user.
- `events(user_id)` returns the user's events in the order they were first appended.
- `put_items` / `item_latent` keep the latent of every item served, so that feedback naming an
  item id can be checked (unknown and foreign ids are rejected) and turned into training data.
- `delete_user` removes everything stored about a user and leaves a tombstone: the user id can
  never be written again, so a replay of old events cannot bring the data back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from plgl.errors import EventConflictError, UserDeletedError
from plgl.records import Event, Item


class BaseStorage(ABC):
    """Where events and served items live. Backends implement the protected hooks."""

    def append(self, user_id: str, event: Event) -> bool:
        """Store `event` once; True if it was new, False if this exact event was already stored."""
        self._check_alive(user_id)
        stored = self._get_event(user_id, event.event_id)
        if stored is not None:
            if stored != event:
                raise EventConflictError(
                    f"event id {event.event_id!r} was already used for a different event "
                    f"({stored}); use a new event id for a new event"
                )
            return False
        self._append(user_id, event)
        return True

    def put_items(self, user_id: str, items: Sequence[Item]) -> None:
        """Remember the items served to a user."""
        self._check_alive(user_id)
        self._put_items(user_id, items)

    def _check_alive(self, user_id: str) -> None:
        if self.is_deleted(user_id):
            raise UserDeletedError(f"user {user_id!r} was deleted; their id cannot be reused")

    @abstractmethod
    def events(self, user_id: str) -> list[Event]:
        """The user's events, oldest first."""

    @abstractmethod
    def item_latent(self, user_id: str, item_id: str) -> np.ndarray | None:
        """(latent_dim,) latent of an item served to this user, or None if it never was."""

    @abstractmethod
    def items(self, user_id: str) -> list[Item]:
        """Every item served to the user, oldest first."""

    @abstractmethod
    def delete_user(self, user_id: str) -> None:
        """Remove the user's events and items and leave a tombstone."""

    @abstractmethod
    def is_deleted(self, user_id: str) -> bool:
        """Whether the user was deleted."""

    @abstractmethod
    def _get_event(self, user_id: str, event_id: str) -> Event | None: ...

    @abstractmethod
    def _append(self, user_id: str, event: Event) -> None: ...

    @abstractmethod
    def _put_items(self, user_id: str, items: Sequence[Item]) -> None: ...
