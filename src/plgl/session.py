"""The Session: one user's loop (ask, tell or compare, recommend), behind one lock.

>>> import plgl
>>> engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=8), seed=0)
>>> s = engine.session("alice")
>>> items = s.ask(10)
>>> s.tell(items[0].id, "like").signal
'like'
>>> s.recommend(3)[0].latent.shape
(8,)
"""

from __future__ import annotations

import copy
import threading
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl import validation as check
from plgl.errors import InvalidInputError, UnknownItemError, UserDeletedError
from plgl.explain import explanation
from plgl.feed import Feed
from plgl.feedback import check_signal
from plgl.history import History, save_snapshot
from plgl.models import confidence
from plgl.models._base import BasePreferenceModel
from plgl.navigation import logit
from plgl.records import Comparison, Event, Feedback, Item
from plgl.samplers import BaseSampler

if TYPE_CHECKING:
    from plgl.engine import Engine

_MAX_BATCH = 1000
_READ_STREAM = 1  # tells the read-only random stream apart from the one `ask` draws from
_EXPLORE = "explore"  # the stored setting of adventurousness


class Session:
    """One user's loop: ask, tell or compare, and get recommendations. Use `Engine.session`.

    Randomness: `ask` draws from the session's own stream (seeded by the engine's seed and the
    user id); `recommend`, `reverse` and `explain` only read, and draw from a stream seeded per
    call by (seed, user, number of ratings), so looking never changes the next batch.
    """

    def __init__(self, engine: Engine, user_id: str) -> None:
        self.engine = engine
        self.user_id = user_id
        self._user_seed = zlib.crc32(user_id.encode())
        self._rng = np.random.default_rng([engine.seed, self._user_seed])
        self._lock = threading.RLock()
        self._deleted = False
        self._feed = Feed(engine, user_id)
        self._history = History(engine.recipe, engine.storage, user_id, engine.snapshot_key)
        self._snapshot_if_due()

    # --------------------------------------------------------------- the loop
    @property
    def n_ratings(self) -> int:
        """How many feedback and comparison events this user has given."""
        with self._lock:
            self._begin()
            return self._history.n_events

    @property
    def explore(self) -> float:
        """Adventurousness: the share of each batch spent exploring (stored; see set_explore)."""
        stored = self.engine.storage.settings(self.user_id).get(_EXPLORE)
        return float(stored) if stored is not None else self.engine.sampler.explore

    @property
    def model(self) -> BasePreferenceModel:
        """The user's preference model as last synchronized with storage (do not modify)."""
        return self._history.learner.model

    @property
    def confidence(self) -> float:
        """How well the model knows this taste, in [0, 1]: for the linear model about the
        expected squared cosine between the learned and the true taste direction."""
        with self._lock:
            self._begin()
            return confidence(self.model, self._history.n_events)

    def ask(self, n: int = 10) -> list[Item]:
        """The next `n` items to show: mostly likely likes, some that teach the model most."""
        n = check.integer("n", n, minimum=1, maximum=_MAX_BATCH)
        with self._lock:
            self._begin()
            self._history.learner.refine()
            sampler = _with_explore(self.engine.sampler, self.explore)
            return self._feed.next(self.model, n, self._history.n_events, sampler, self._rng)

    def tell(
        self,
        item_id: str,
        signal: str,
        dwell_seconds: float | None = None,
        event_id: str | None = None,
    ) -> Feedback:
        """Record a rating of a shown item and update the model; returns the stored event.

        A retry with the same `event_id` changes nothing; reusing it for another event raises.
        """
        check_signal(signal, dwell_seconds)
        with self._lock:
            self._begin()
            latent = self._latent_of(item_id)
            event = Feedback(check.event_id(event_id), item_id, signal, _float(dwell_seconds))
            if self._append(event, {item_id: latent}):
                self.engine.cache.note_feedback(self.user_id, latent, signal)
            return event

    def compare(self, preferred_id: str, other_id: str, event_id: str | None = None) -> Comparison:
        """Record that the user preferred one shown item over another; returns the stored event."""
        with self._lock:
            self._begin()
            if preferred_id == other_id:
                raise InvalidInputError("compare needs two different items")
            latents = {preferred_id: self._latent_of(preferred_id)}
            latents[other_id] = self._latent_of(other_id)
            event = Comparison(check.event_id(event_id), preferred_id, other_id)
            self._append(event, latents)
            return event

    def score(self, latents: Any) -> np.ndarray:
        """(n,) predicted probability of a like for latents (n, latent_dim) or one (latent_dim,)."""
        array = check.latents("latents", latents, self.engine.generator.latent_dim)
        with self._lock:
            self._begin()
            return np.asarray(self.model.predict_proba(array)[:, 1])

    def render(self, item_id: str, media_type: str | None = None) -> tuple[bytes, str]:
        """(bytes, media type) of an item shown to this user; None: the generator's first type."""
        with self._lock:
            self._check_alive()
            latent = self._latent_of(item_id)
        media_type = self.engine.generator.media_types[0] if media_type is None else media_type
        return self.engine.cache.render(latent, media_type, self.user_id), media_type

    def recommend(self, k: int = 10) -> list[Item]:
        """The `k` best items for this user, diverse, best first, never in the marked region."""
        k = check.integer("k", k, minimum=1, maximum=_MAX_BATCH)
        with self._lock:
            self._begin()
            latents = self._feed.safe_latents(self.model, None, k, self._read_rng())
            return self._feed.serve(latents, "recommend")

    def reverse(self, target: float, n: int = 5) -> np.ndarray:
        """(n, latent_dim) diverse latents predicted liked with probability `target` in (0, 1).

        Targets beyond what the model can reach on the prior's shell give the nearest reachable
        latents: a score is never pushed off the region the generator renders well.
        """
        target = check.probability("target", target)
        n = check.integer("n", n, minimum=1, maximum=_MAX_BATCH)
        with self._lock:
            self._begin()
            return self._feed.safe_latents(self.model, logit(target), n, self._read_rng())

    def reverse_items(self, target: float, n: int = 5) -> list[Item]:
        """`reverse` as items that can be shown and rated: with content, remembered as served."""
        with self._lock:
            latents = self.reverse(target, n)
            return self._feed.serve(latents, "reverse")

    def explain(self) -> dict[str, Any]:
        """What drives this user's taste: the strongest traits, in the generator's words."""
        with self._lock:
            self._begin()
            best = self._feed.safe_latents(self.model, None, 1, self._read_rng())
            return explanation(
                self.model, self.engine.generator, self.user_id, self._history.n_events, best
            )

    def export(self) -> dict[str, Any]:
        """Everything stored about this user, JSON-native."""
        with self._lock:
            self._check_alive()
            storage = self.engine.storage
            return {
                "format": "plgl.export/1",
                "user_id": self.user_id,
                "events": [event.to_dict() for event in storage.events(self.user_id)],
                "items": [item.to_dict() for item in storage.items(self.user_id)],
                "settings": {**storage.settings(self.user_id), _EXPLORE: self.explore},
            }

    def delete(self) -> None:
        """Remove everything stored about this user; the id cannot be used again."""
        with self._lock:
            self._check_alive()
            self.engine.writer.discard(self.user_id)
            self.engine.storage.delete_user(self.user_id)
            self.engine.cache.forget_user(self.user_id)
            self._gone()

    def set_explore(self, share: float) -> None:
        """Adventurousness: the share of each batch spent exploring, in [0, 1]. Stored: it
        survives restarts, is exported, and is deleted with the user."""
        share = check.unit_interval("share", share)
        with self._lock:
            self._check_alive()
            self.engine.storage.put_settings(self.user_id, {_EXPLORE: share})

    def snapshot(self) -> bool:
        """Save the state the stored events give (latest snapshot plus the events after it), so
        that a resume replays only what comes later; False for models without a state to save.

        A snapshot is exactly what a full replay of its events gives (the live model may differ:
        `ask` refines it), so a resumed session equals a freshly replayed one.
        """
        with self._lock:
            self._check_alive()
            self.engine.writer.discard(self.user_id)
            engine = self.engine
            return save_snapshot(engine.recipe, engine.storage, self.user_id, engine.snapshot_key)

    # -------------------------------------------------------------- internals
    def _begin(self) -> None:
        """Before serving: alive, and up to date with the events other processes stored."""
        self._check_alive()
        try:
            if self._history.sync():
                self._snapshot_if_due()
        except UserDeletedError:
            self._gone()
            raise

    def _append(self, event: Event, latents: dict[str, np.ndarray]) -> bool:
        """Store `event` and learn it; False if it was a retry of a stored event."""
        if not self.engine.storage.append(self.user_id, event):
            return False
        self._history.appended(event, latents)
        self._snapshot_if_due()
        return True

    def _snapshot_if_due(self) -> None:
        if self._history.due():
            self.engine.writer.submit(self.user_id, self._history.snapshot_job())

    def _read_rng(self) -> np.random.Generator:
        """A stream for reading calls: the same state gives the same answer, and drawing from
        it leaves the stream of `ask` untouched."""
        seed = [self.engine.seed, self._user_seed, self._history.n_events, _READ_STREAM]
        return np.random.default_rng(seed)

    def _latent_of(self, item_id: Any) -> np.ndarray:
        if not isinstance(item_id, str):
            raise InvalidInputError(f"item id must be a string, got {type(item_id).__name__}")
        latent = self.engine.storage.item_latent(self.user_id, item_id)
        if latent is None:
            raise UnknownItemError(
                f"item {item_id!r} was never shown to user {self.user_id!r}: rate only items "
                "returned by this user's ask() or recommend()"
            )
        return latent

    def _check_alive(self) -> None:
        if self._deleted:
            raise UserDeletedError(f"user {self.user_id!r} was deleted")

    def _gone(self) -> None:
        self._deleted = True
        self._feed.clear()
        self.engine.evict(self.user_id)


def _with_explore(sampler: BaseSampler, share: float) -> BaseSampler:
    """`sampler`, or a copy of it that explores a `share` of each batch."""
    if sampler.explore == share:
        return sampler
    clone = copy.copy(sampler)
    clone.explore = share
    return clone


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)
