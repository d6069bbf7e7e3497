"""The Session's bond with the user's stored events: keeping in step with them, storing and
learning new ones, snapshots, replays of the past, and the deletion tombstone.

A method group of `plgl.session.Session` (which inherits it), kept apart so that the session
file holds the swipe loop. It declares the session state it keeps; `Session.__init__` sets it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl import validation as check
from plgl.errors import UnknownItemError, UserDeletedError
from plgl.history import History, item_ids, replay, save_snapshot
from plgl.learner import Recipe
from plgl.models import BasePreferenceModel
from plgl.records import Event

if TYPE_CHECKING:
    from plgl.engine import Engine
    from plgl.feed import Feed


class EventLog:
    """Sync before serving, append and learn, snapshot and replay one user's events; a user
    deleted here or by another process stays gone."""

    engine: Engine
    user_id: str
    context: str | None
    _lock: threading.RLock
    _deleted: bool
    _settings: dict[str, Any]
    _refined: int
    _feed: Feed
    _recipe: Recipe
    _key: str
    _history: History

    @property
    def model(self) -> BasePreferenceModel:
        """The user's preference model as last synchronized with storage (do not modify)."""
        return self._history.learner.model

    def snapshot(self) -> bool:
        """Save the state the stored events give (latest snapshot plus the events after it), so
        that a resume replays only what comes later; False for models without a state to save.

        A snapshot is exactly what a full replay of its events gives (the live model may differ:
        `ask` refines it), so a resumed session equals a freshly replayed one.
        """
        with self._lock:
            self._check_alive()
            engine, user_id, recipe, key = self.engine, self.user_id, self._recipe, self._key
            return engine.writer.run(
                user_id, lambda: save_snapshot(recipe, engine.storage, user_id, key)
            )

    def _begin(self) -> None:
        """Before serving: alive, and up to date with the events (and settings) other processes
        stored: one read of storage (`BaseStorage.state`) when nothing changed."""
        if self._deleted:
            raise self._deleted_error()
        state = self.engine.storage.state(self.user_id)
        try:
            if state.deleted:
                raise self._deleted_error()
            self._settings = state.settings
            if state.version == self._history.position:
                return
            fresh = self._history.position == 0
            if self._history.sync():
                if fresh:  # another process stored the first event: follow its pinned prior
                    self._follow(*self.engine.recipe_for(self.user_id))
                self._snapshot_if_due()
        except UserDeletedError:
            self._gone()
            raise

    def _append(self, event: Event, latents: dict[str, np.ndarray]) -> bool:
        """Store `event` and learn it; False if it was a retry of a stored event."""
        population = self.engine.population
        if population is not None and self._history.position == 0:
            # Pinned before the first event is stored, so every replay starts where this did.
            self._follow(*population.pin(self.user_id, self._recipe))
        if not self.engine.storage.append(self.user_id, event):
            return False
        self._history.appended(event, latents)
        self._snapshot_if_due()
        return True

    def _follow(self, recipe: Recipe, key: str) -> None:
        """Rebuild the model from `recipe` (the user's pinned prior) if it is not the one used."""
        if recipe is not self._recipe:
            self._recipe, self._key = recipe, key
            self._history = History(recipe, self.engine.storage, self.user_id, key, self.context)

    def _refine(self) -> None:
        """Make the model's posterior exact (before `ask`): a change For-you's memory notes."""
        self._history.learner.refine()
        self._refined += 1

    def _snapshot_if_due(self) -> None:
        if self._history.due():
            self.engine.writer.submit(self.user_id, self._history.snapshot_job())

    def _model_before(self, context: str | None, position: int) -> BasePreferenceModel:
        """The model of this user's `context` profile as it was after `position` events."""
        storage, user_id = self.engine.storage, self.user_id
        return replay(self._recipe, storage, user_id, self._key, position, context)[0].model

    def _event_latents(self, events: Sequence[Event]) -> dict[str, np.ndarray]:
        """Item id -> latent (latent_dim,) of every item the events name."""
        return self.engine.storage.item_latents(self.user_id, item_ids(events))

    def _latent_of(self, item_id: Any) -> np.ndarray:
        latent = self.engine.storage.item_latent(self.user_id, check.item_id(item_id))
        if latent is None:
            raise UnknownItemError(
                f"item {item_id!r} was never shown to user {self.user_id!r}: rate only items "
                "returned by this user's ask() or recommend()"
            )
        return latent

    def _check_alive(self) -> None:
        """UserDeletedError if this user was deleted, here or by another process."""
        if not self._deleted and self.engine.storage.is_deleted(self.user_id):
            self._gone()
        if self._deleted:
            raise self._deleted_error()

    def _deleted_error(self) -> UserDeletedError:
        return UserDeletedError(f"user {self.user_id!r} was deleted")

    def _gone(self) -> None:
        self._deleted = True
        self._feed.clear()
        self.engine.evict(self.user_id)
