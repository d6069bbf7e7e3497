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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl import validation as check
from plgl.errors import InvalidInputError, UnsafeRegionError
from plgl.feed import Feed
from plgl.feedback import check_signal
from plgl.grounding import Grounding
from plgl.history import History
from plgl.models import confidence
from plgl.population.opt_in import Matching
from plgl.records import MAX_OTHERS, Comparison, Feedback, Item
from plgl.samplers import BaseSampler
from plgl.samplers.cards import SWIPES_PER_PAIR
from plgl.session_core import MAX_BATCH
from plgl.session_reads import Reading

if TYPE_CHECKING:
    from plgl.engine import Engine

_EXPLORE = "explore"  # the stored setting of adventurousness


class Session(Reading, Matching):
    """One user's loop: ask, tell or compare, and get recommendations. Use `Engine.session`.

    Randomness: `ask` draws from the session's own stream (seeded by the engine's seed and the
    user id); `recommend`, `reverse` and `explain` only read, and draw from a stream seeded per
    call by (seed, user, number of ratings), so looking never changes the next batch.
    """

    def __init__(self, engine: Engine, user_id: str, context: str | None = None) -> None:
        self.engine = engine
        self.user_id = user_id
        self.context = context
        self._user_seed = zlib.crc32(user_id.encode())
        self._rng = np.random.default_rng([engine.seed, self._user_seed])
        self._lock = threading.RLock()
        self._deleted = False
        self._settings: dict[str, Any] = {}  # as `_begin` last read them
        self._refined = 0  # refinements of the model, which change it without an event
        self._grounding = Grounding(engine, user_id, context)
        self._feed = Feed(engine, user_id, self._grounding)
        self._recipe, self._key = engine.recipe_for(user_id)
        self._history = History(self._recipe, engine.storage, user_id, self._key, context)
        self._snapshot_if_due()

    # --------------------------------------------------------------- the loop
    @property
    def n_ratings(self) -> int:
        """How many feedback and comparison events this user has given (a choice among
        several items is one)."""
        with self._lock:
            self._begin()
            return self._history.n_events

    @property
    def explore(self) -> float:
        """Adventurousness: the share of each batch spent exploring (stored; see set_explore)."""
        return self._explore_in(self.engine.storage.settings(self.user_id))

    @property
    def n_learned(self) -> int:
        """`n_ratings` as of this session's latest call, without reading storage: what to
        report right after `tell` or `compare`, which learned every event stored before theirs."""
        with self._lock:
            return self._history.n_events

    @property
    def confidence(self) -> float:
        """How well the model knows this taste, in [0, 1]: for the linear model about the
        expected squared cosine between the learned and the true taste direction."""
        with self._lock:
            self._begin()
            return confidence(self.model, self._history.n_events)

    def ask(self, n: int = 10) -> list[Item]:
        """The next `n` items to show: mostly likely likes, some that teach the model most."""
        n = check.integer("n", n, minimum=1, maximum=MAX_BATCH)
        with self._lock:
            self._begin()
            self._refine()
            sampler = _with_explore(self.engine.sampler, self._explore_in(self._settings))
            self._join()
            return self._feed.next(self.model, n, self._history.n_events, sampler, self._rng)

    def next_cards(
        self, n: int = 5, *, swipes: int | None = SWIPES_PER_PAIR
    ) -> list[tuple[Item, ...]]:
        """The feed's next `n` cards, each one answer: one item to like or dislike (`tell`), two
        to choose between (`compare`), the likelier liked first, where the comparison teaches
        more than `swipes` swipes would and both are likely liked, or a champion duel: the
        champion and up to three challengers in random order, of which the user chooses one
        (`choose`; `plgl.duels`). `swipes=None`: swipes only, the cards of `ask`."""
        n = check.integer("n", n, minimum=1, maximum=MAX_BATCH)
        if swipes is None:
            return [(item,) for item in self.ask(n)]
        return self._cards(n, check.integer("swipes", swipes, minimum=0), duels=True)

    def _cards(self, n: int, swipes: int, duels: bool) -> list[tuple[Item, ...]]:
        with self._lock:
            self._begin()
            self._refine()
            sampler = _with_explore(self.engine.sampler, self._explore_in(self._settings))
            self._join()
            n_ratings = self._history.n_events
            return self._feed.cards(self.model, n, n_ratings, sampler, self._rng, swipes, duels)

    def ask_pair(self) -> tuple[Item, Item]:
        """The two items whose comparison teaches most now, both likely liked (the likelier
        first), stored as served so that `compare` accepts them (never a duel card)."""
        card = self._cards(1, swipes=0, duels=False)[0]
        if len(card) != 2:  # only when fewer than two candidates survive the never-show region
            raise UnsafeRegionError("fewer than two items to compare lie outside the marked region")
        return card[0], card[1]

    def tell(
        self,
        item_id: str,
        signal: str,
        dwell_seconds: float | None = None,
        event_id: str | None = None,
        criterion: str | None = None,
    ) -> Feedback:
        """Record a rating of a shown item and update the model; returns the stored event.

        With a `criterion` ("energy") the rating teaches that criterion's model only ("like":
        more of it), not the overall taste. A retry with the same `event_id` changes nothing;
        reusing it for another event raises.
        """
        check_signal(signal, dwell_seconds)
        criterion = self._criterion(criterion)
        with self._lock:
            self._begin()
            latent = self._latent_of(item_id)
            event = Feedback(
                check.event_id(event_id),
                item_id,
                signal,
                _float(dwell_seconds),
                criterion,
                self.context,
            )
            if self._append(event, {item_id: latent}) and criterion is None:
                self._join()
                self.engine.cache.note_feedback(self.user_id, latent, signal)
            return event

    def compare(
        self,
        preferred_id: str,
        other_id: str,
        event_id: str | None = None,
        criterion: str | None = None,
    ) -> Comparison:
        """Record that the user preferred one shown item over another (on `criterion` if given:
        "calmer"); returns the stored event."""
        return self.choose(preferred_id, [other_id], event_id, criterion)

    def choose(
        self,
        chosen_id: str,
        other_ids: Sequence[str],
        event_id: str | None = None,
        criterion: str | None = None,
    ) -> Comparison:
        """Record that the user chose one of several shown items over the others (a card of
        `next_cards` with more than two items): one answer, stored as one event; returns it."""
        criterion = self._criterion(criterion)
        listed = isinstance(other_ids, Sequence) and not isinstance(other_ids, str)
        if not listed or not 1 <= len(other_ids) <= MAX_OTHERS:
            raise InvalidInputError(
                f"other_ids must be a list of 1 to {MAX_OTHERS} item ids, got {other_ids!r:.80}"
            )
        ids = [check.item_id(item_id) for item_id in [chosen_id, *other_ids]]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("a comparison needs different items, each named once")
        with self._lock:
            self._begin()
            latents = {item_id: self._latent_of(item_id) for item_id in ids}
            event = Comparison(
                check.event_id(event_id),
                chosen_id,
                other_ids[0],
                criterion,
                self.context,
                tuple(other_ids[1:]),
            )
            self._append(event, latents)
            return event

    def render(self, item_id: str, media_type: str | None = None) -> tuple[bytes, str]:
        """(bytes, media type) of an item shown to this user; None: the generator's first type."""
        with self._lock:
            if self._deleted:
                raise self._deleted_error()
            # Deleting a user removes their items with the tombstone, in one atomic step: an
            # item found proves the user alive, so only a missing one needs the tombstone read.
            latent = self.engine.storage.item_latent(self.user_id, check.item_id(item_id))
            if latent is None:
                self._check_alive()
                latent = self._latent_of(item_id)
        media_type = self.engine.generator.media_types[0] if media_type is None else media_type
        return self.engine.cache.render(latent, media_type, self.user_id), media_type

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
            if self.engine.population is not None:
                self.engine.population.exclude(self.user_id)
            self._gone()

    def set_explore(self, share: float) -> None:
        """Adventurousness: the share of each batch spent exploring, in [0, 1]. Stored: it
        survives restarts, is exported, and is deleted with the user."""
        share = check.unit_interval("share", share)
        with self._lock:
            self._check_alive()
            self.engine.storage.put_settings(self.user_id, {_EXPLORE: share})

    # -------------------------------------------------------------- internals
    def _join(self) -> None:
        """Place the user in their taste cluster's group of the content cache (cluster caches)."""
        population = self.engine.population
        if population is not None:
            group = population.group_of(self.model.coef_, self._history.n_events)
            self.engine.cache.join(self.user_id, group)

    def _explore_in(self, settings: Mapping[str, Any]) -> float:
        stored = settings.get(_EXPLORE)
        return float(stored) if stored is not None else self.engine.sampler.explore


def _with_explore(sampler: BaseSampler, share: float) -> BaseSampler:
    """`sampler`, or a copy of it that explores a `share` of each batch."""
    if sampler.explore == share:
        return sampler
    clone = copy.copy(sampler)
    clone.explore = share
    return clone


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)
