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
from plgl.criteria.profile import SeveralTastes
from plgl.errors import (
    InvalidInputError,
    UnknownItemError,
    UnsafeRegionError,
    UserDeletedError,
)
from plgl.explain import explanation
from plgl.feed import Feed
from plgl.feedback import check_signal
from plgl.grounding import Grounding
from plgl.history import History, item_ids, replay, save_snapshot
from plgl.learner import Recipe
from plgl.models import BasePreferenceModel, confidence
from plgl.navigation import logit
from plgl.population.opt_in import Matching
from plgl.records import MAX_OTHERS, Comparison, Event, Feedback, Item
from plgl.samplers import BaseSampler
from plgl.samplers.cards import SWIPES_PER_PAIR

if TYPE_CHECKING:
    from plgl.engine import Engine

_MAX_BATCH = 1000
_READ_STREAM = 1  # tells the read-only random stream apart from the one `ask` draws from
_EXPLORE = "explore"  # the stored setting of adventurousness


class Session(SeveralTastes, Matching):
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
        n = check.integer("n", n, minimum=1, maximum=_MAX_BATCH)
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
        ids = [_checked_id(item_id) for item_id in [chosen_id, *other_ids]]
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

    def score(self, latents: Any, criterion: str | None = None) -> np.ndarray:
        """(n,) predicted probability of a like for latents (n, latent_dim) or one (latent_dim,)
        (of a like on `criterion` if given; UnknownCriterionError if it has no ratings)."""
        array = check.latents("latents", latents, self.engine.generator.latent_dim)
        with self._lock:
            self._begin()
            model = self.model if criterion is None else self._criteria.model(criterion)
            return np.asarray(model.predict_proba(array)[:, 1])

    def render(self, item_id: str, media_type: str | None = None) -> tuple[bytes, str]:
        """(bytes, media type) of an item shown to this user; None: the generator's first type."""
        with self._lock:
            if self._deleted:
                raise self._deleted_error()
            # Deleting a user removes their items with the tombstone, in one atomic step: an
            # item found proves the user alive, so only a missing one needs the tombstone read.
            latent = self.engine.storage.item_latent(self.user_id, _checked_id(item_id))
            if latent is None:
                self._check_alive()
                latent = self._latent_of(item_id)
        media_type = self.engine.generator.media_types[0] if media_type is None else media_type
        return self.engine.cache.render(latent, media_type, self.user_id), media_type

    def recommend(
        self,
        k: int = 10,
        maximize: str | None = None,
        at_least: Mapping[str, float] | None = None,
    ) -> list[Item]:
        """The `k` best items for this user, diverse, best first, never in the marked region.

        Without criteria they are grounded in the user's best-rated items (`plgl.grounding`):
        new content the model is confident beats the favourite, or, when nothing is, a
        variation on it (where the generator has a content judge) and then the favourite itself
        (its Item's `source` says "favourite"; other rated items "liked").

        Asked again with the same `k` before anything changed the model (an answer, here or in
        another process, the refinement `ask` makes, or a new prior pinned for the user),
        For-you gives the same items again,
        remembered: the answer is a function of the events, which the stream it draws from
        is seeded by, so computing it again would give the same latents.

        `maximize="calm"` ranks by a criterion instead of the overall taste; `at_least=
        {"energy": 0.8}` keeps only latents predicted at least that likely liked on each
        criterion, with posterior probability 0.9 (InfeasibleConstraintsError when no latent
        the generator renders well meets them together).
        """
        k = check.integer("k", k, minimum=1, maximum=_MAX_BATCH)
        with self._lock:
            self._begin()
            if maximize is None and at_least is None:
                version = (self._key, self._history.position, self._refined)  # key: the prior
                n_ratings = self._history.n_events
                return self._feed.recommend(self.model, k, n_ratings, self._read_rng(), version)
            latents = self._constrained(k, maximize, at_least, None)
            return self._feed.serve(latents, "recommend")

    def reverse(
        self,
        target: float | None = None,
        n: int = 5,
        targets: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """(n, latent_dim) diverse latents predicted liked with probability `target` in (0, 1),
        or with probability `targets[c]` on each criterion c.

        A single target beyond what the model can reach on the prior's shell gives the nearest
        reachable latents (a score is never pushed off the region the generator renders well);
        a target above the favourite's stays within the trust region of the best-rated items
        (`plgl.grounding`);
        criteria targets that cannot be met together raise InfeasibleConstraintsError.
        """
        if (target is None) == (targets is None):
            raise InvalidInputError(
                "reverse takes a target or targets (criterion -> probability), exactly one"
            )
        n = check.integer("n", n, minimum=1, maximum=_MAX_BATCH)
        if targets is not None:
            with self._lock:
                self._begin()
                return self._constrained(n, None, None, targets)
        target = check.probability("target", target)
        with self._lock:
            self._begin()
            rng, n_events = self._read_rng(), self._history.n_events
            return self._feed.safe_latents(self.model, logit(target), n, rng, n_events)

    def reverse_items(
        self,
        target: float | None = None,
        n: int = 5,
        targets: Mapping[str, float] | None = None,
    ) -> list[Item]:
        """`reverse` as items that can be shown and rated: with content, remembered as served."""
        with self._lock:
            latents = self.reverse(target, n, targets)
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

    # -------------------------------------------------------------- internals
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

    def _join(self) -> None:
        """Place the user in their taste cluster's group of the content cache (cluster caches)."""
        population = self.engine.population
        if population is not None:
            group = population.group_of(self.model.coef_, self._history.n_events)
            self.engine.cache.join(self.user_id, group)

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

    def _read_rng(self) -> np.random.Generator:
        """A stream for reading calls: the same state gives the same answer, and drawing from
        it leaves the stream of `ask` untouched."""
        seed = [self.engine.seed, self._user_seed, self._history.n_events, _READ_STREAM]
        return np.random.default_rng(seed)

    def _model_before(self, context: str | None, position: int) -> BasePreferenceModel:
        """The model of this user's `context` profile as it was after `position` events."""
        storage, user_id = self.engine.storage, self.user_id
        return replay(self._recipe, storage, user_id, self._key, position, context)[0].model

    def _event_latents(self, events: Sequence[Event]) -> dict[str, np.ndarray]:
        """Item id -> latent of every item the events name."""
        return self.engine.storage.item_latents(self.user_id, item_ids(events))

    def _latent_of(self, item_id: Any) -> np.ndarray:
        latent = self.engine.storage.item_latent(self.user_id, _checked_id(item_id))
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

    def _explore_in(self, settings: Mapping[str, Any]) -> float:
        stored = settings.get(_EXPLORE)
        return float(stored) if stored is not None else self.engine.sampler.explore

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


def _checked_id(item_id: Any) -> str:
    if not isinstance(item_id, str):
        raise InvalidInputError(f"item id must be a string, got {type(item_id).__name__}")
    return item_id


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)
