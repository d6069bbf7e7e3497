"""The front objects: an Engine per generator, a Session per user.

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
import math
import threading
import uuid
import zlib
from typing import Any

import numpy as np

from plgl import validation as check
from plgl.cache import BaseCache, ContentCache
from plgl.errors import InvalidInputError, UnknownItemError, UnsafeRegionError, UserDeletedError
from plgl.feedback import FeedbackPolicy, check_signal
from plgl.generators import Generator
from plgl.models import LinearPreference, confidence
from plgl.models._base import BasePreferenceModel
from plgl.navigation import (
    farthest_points,
    is_linear,
    logit,
    reverse_gradient,
    reverse_linear,
    shell_top,
)
from plgl.records import Comparison, Event, Feedback, Item
from plgl.safety import Safety
from plgl.samplers import BaseSampler, MixtureSampler, next_candidates
from plgl.storage import BaseStorage, from_url
from plgl.storage.snapshot import decode_snapshot, encode_snapshot, snapshot_key

_MAX_BATCH = 1000
_SAFE_TRIES = 20
_SNAPSHOT_EVERY = 50  # events between snapshots of an online model's state


class Engine:
    """Everything users share: the generator, storage, model template, sampler and safety.

    Args:
        generator: makes content from latents (see `plgl.generators`).
        storage: a URL ("memory://") or a BaseStorage; None keeps everything in memory.
        seed: makes every session's choices reproducible.
        model: the preference model template, cloned per user; None is LinearPreference().
        sampler: None is MixtureSampler() (70% exploit, 30% explore).
        safety: never-show region; None shows anything the generator makes.
        feedback: how signals become labels and weights; None is FeedbackPolicy().
        cache: content cache and candidate pools: a URL ("memory://", "sqlite:///path",
            "redis://host:port/db"), a store or a `plgl.cache.ContentCache`; None is in memory.
    """

    def __init__(
        self,
        generator: Generator,
        storage: str | BaseStorage | None = None,
        seed: int = 0,
        *,
        model: BasePreferenceModel | None = None,
        sampler: BaseSampler | None = None,
        safety: Safety | None = None,
        feedback: FeedbackPolicy | None = None,
        cache: str | BaseCache | ContentCache | None = None,
    ) -> None:
        for name in ("latent_dim", "generate", "sample", "project"):
            if not hasattr(generator, name):
                raise InvalidInputError(f"generator lacks {name!r}; see plgl.Generator")
        self.generator = generator
        self.storage = from_url(storage)
        self.seed = check.integer("seed", seed, minimum=0)
        self.model = model if model is not None else LinearPreference()
        self.sampler = sampler if sampler is not None else MixtureSampler()
        self.safety = safety if safety is not None else Safety()
        self.safety.check_dim(generator.latent_dim)
        self.feedback = feedback if feedback is not None else FeedbackPolicy()
        self.cache = (cache if isinstance(cache, ContentCache) else ContentCache(cache)).attach(
            generator
        )
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def session(self, user_id: str) -> Session:
        """The session of `user_id`, created or resumed from storage."""
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
            raise InvalidInputError(
                f"user_id must be a non-empty string of <= 200 chars: {user_id!r}"
            )
        if self.storage.is_deleted(user_id):
            raise UserDeletedError(f"user {user_id!r} was deleted; their id cannot be reused")
        with self._lock:
            if user_id not in self._sessions:
                self._sessions[user_id] = Session(self, user_id)
            return self._sessions[user_id]

    def _forget(self, user_id: str) -> None:
        with self._lock:
            self._sessions.pop(user_id, None)


class Session:
    """One user's loop: ask, tell or compare, and get recommendations. Use `Engine.session`."""

    def __init__(self, engine: Engine, user_id: str) -> None:
        self.engine = engine
        self.user_id = user_id
        self.explore = getattr(engine.sampler, "explore", 0.3)
        self._rng = np.random.default_rng([engine.seed, zlib.crc32(user_id.encode())])
        self._lock = threading.RLock()
        self._pool: list[Item] = []
        self._pool_rating = 0
        self._deleted = False
        self._rebuild()

    # --------------------------------------------------------------- the loop
    @property
    def n_ratings(self) -> int:
        """How many feedback and comparison events this user has given."""
        return self._n_events

    @property
    def confidence(self) -> float:
        """How well the model knows this taste, in [0, 1]: for the linear model about the
        expected squared cosine between the learned and the true taste direction."""
        with self._lock:
            return confidence(self.model, self._n_events)

    def ask(self, n: int = 10) -> list[Item]:
        """The next `n` items to show: mostly likely likes, some that teach the model most."""
        n = check.integer("n", n, minimum=1, maximum=_MAX_BATCH)
        with self._lock:
            self._check_alive()
            if self._online:
                self.model.refine()
            if len(self._pool) < n or self._sampler.is_stale(
                self._n_events - self._pool_rating, self._n_events
            ):
                self._pool = self._fresh_candidates()
                self._pool_rating = self._n_events
            latents = np.array([item.latent for item in self._pool])
            picks, sources = self._sampler.select(self.model, latents, n, self._rng)
            chosen = self._made(
                [_with_source(self._pool[i], s) for i, s in zip(picks, sources, strict=True)]
            )
            taken = set(picks.tolist())
            self._pool = [item for i, item in enumerate(self._pool) if i not in taken]
            self.engine.storage.put_items(self.user_id, chosen)
            return chosen

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
            self._check_alive()
            latent = self._latent_of(item_id)
            event = Feedback(check.event_id(event_id), item_id, signal, _float(dwell_seconds))
            if self.engine.storage.append(self.user_id, event):
                label, weight = self.engine.feedback.label(signal, event.dwell_seconds)
                self._learn_label(latent, label, weight)
                self.engine.cache.note_feedback(self.user_id, latent, signal)
            return event

    def compare(self, preferred_id: str, other_id: str, event_id: str | None = None) -> Comparison:
        """Record that the user preferred one shown item over another; returns the stored event."""
        with self._lock:
            self._check_alive()
            if preferred_id == other_id:
                raise InvalidInputError("compare needs two different items")
            preferred, other = self._latent_of(preferred_id), self._latent_of(other_id)
            event = Comparison(check.event_id(event_id), preferred_id, other_id)
            if self.engine.storage.append(self.user_id, event):
                self._learn_pair(preferred, other)
            return event

    def score(self, latents: Any) -> np.ndarray:
        """(n,) predicted probability of a like for latents (n, latent_dim) or one (latent_dim,)."""
        array = check.latents("latents", latents, self.engine.generator.latent_dim)
        with self._lock:
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
            self._check_alive()
            latents = self._safe_latents(None, k)
            return self._serve(latents, "recommend")

    def reverse(self, target: float, n: int = 5) -> np.ndarray:
        """(n, latent_dim) diverse latents predicted liked with probability `target` in (0, 1).

        Targets beyond what the model can reach on the prior's shell give the nearest reachable
        latents: a score is never pushed off the region the generator renders well.
        """
        target = check.probability("target", target)
        n = check.integer("n", n, minimum=1, maximum=_MAX_BATCH)
        with self._lock:
            self._check_alive()
            return self._safe_latents(logit(target), n)

    def reverse_items(self, target: float, n: int = 5) -> list[Item]:
        """`reverse` as items that can be shown and rated: with content, remembered as served."""
        latents = self.reverse(target, n)
        with self._lock:
            self._check_alive()
            return self._serve(latents, "reverse")

    def explain(self) -> dict[str, Any]:
        """What drives this user's taste: the strongest traits, in the generator's words."""
        with self._lock:
            self._check_alive()
            traits: list[dict[str, Any]] = []
            if hasattr(self.model, "feature_weights"):  # a taste over named content features
                named = self.model.feature_weights()[:5]
                traits = [{"trait": t, "weight": round(w, 4)} for t, w in named]
            elif is_linear(self.model):
                coef = np.asarray(self.model.coef_)
                norm = float(np.linalg.norm(coef))
                if norm > 0:
                    named = self.engine.generator.describe(coef / norm)[:5]
                    traits = [{"trait": t, "weight": round(w, 4)} for t, w in named]
            best = self._safe_latents(None, 1)
            confidence = float(self.model.predict_proba(best)[0, 1])
            return {
                "user_id": self.user_id,
                "ratings": self._n_events,
                "traits": traits,
                "best_predicted_like": round(confidence, 4),
                "changes_of_taste": int(getattr(self.model, "changes_detected_", 0)),
                "summary": _summary(traits, self._n_events),
            }

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
                "settings": {"explore": self.explore},
            }

    def delete(self) -> None:
        """Remove everything stored about this user; the id cannot be used again."""
        with self._lock:
            self._check_alive()
            self.engine.storage.delete_user(self.user_id)
            self.engine.cache.forget_user(self.user_id)
            self._deleted = True
            self._pool = []
            self.engine._forget(self.user_id)

    def set_explore(self, share: float) -> None:
        """Adventurousness: the share of each batch spent exploring, in [0, 1]."""
        share = check.unit_interval("share", share)
        with self._lock:
            self.explore = share
            self._sampler = _with_explore(self.engine.sampler, share)

    # -------------------------------------------------------------- internals
    def _rebuild(self) -> None:
        """Derive the model from the engine's negatives and this user's stored events: the
        latest snapshot of an online model's state plus the events after it, else all events."""
        self._sampler = _with_explore(self.engine.sampler, self.explore)
        self._labels: list[tuple[np.ndarray, int, float]] = []
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []
        replayed = self._replay()
        if not self._online:
            self._refit()  # once for the whole history, not once per event
        elif replayed >= _SNAPSHOT_EVERY and self._stateful:
            self._save_snapshot()  # so that the next resume starts here

    def _replay(self) -> int:
        """Set the model and counts from storage (snapshot + later events); returns how many
        events were replayed."""
        self.model = _prior_model(self.engine)
        self._n_events = 0
        storage = self.engine.storage
        start = self._load_snapshot()
        events = storage.events(self.user_id, start)
        latents = storage.item_latents(self.user_id, _item_ids(events))
        for event in events:
            if isinstance(event, Feedback):
                latent = latents.get(event.item_id)
                if latent is not None:
                    label, weight = self.engine.feedback.label(event.signal, event.dwell_seconds)
                    self._learn_label(latent, label, weight, refit=False)
            else:
                a, b = latents.get(event.preferred_id), latents.get(event.other_id)
                if a is not None and b is not None:
                    self._learn_pair(a, b, refit=False)
        self._snapshot_position = start + len(events)
        return len(events)

    def _load_snapshot(self) -> int:
        """Start from the user's latest snapshot if it fits this engine; returns the events it
        covers (0 without one)."""
        snapshot = self.engine.storage.snapshot(self.user_id) if self._stateful else None
        decoded = None if snapshot is None else decode_snapshot(snapshot.blob, self._snapshot_key)
        if snapshot is None or decoded is None:
            return 0
        state, self._n_events = decoded
        self.model = copy.deepcopy(self.engine.model).set_state(state)
        return snapshot.position

    def snapshot(self) -> bool:
        """Save the state the stored events give (latest snapshot plus the events after it), so
        that a resume replays only what comes later; False for models without state methods.

        A snapshot is exactly what a full replay of its events gives (the live model may differ:
        `ask` refines it), so a resumed session equals a freshly replayed one.
        """
        with self._lock:
            self._check_alive()
            if not self._stateful:
                return False
            live = (self.model, self._n_events, self._labels, self._pairs)
            try:
                self._replay()
                self._save_snapshot()
            finally:
                self.model, self._n_events, self._labels, self._pairs = live
            return True

    def _save_snapshot(self) -> None:
        """Store the model as just replayed (before any `refine`) at the position it covers."""
        blob = encode_snapshot(self.model.get_state(), self._snapshot_key, self._n_events)
        self.engine.storage.put_snapshot(self.user_id, self._snapshot_position, blob)

    def _appended(self) -> None:
        """An event of this session was stored: snapshot every `_SNAPSHOT_EVERY` events."""
        if self._stateful and self._n_events % _SNAPSHOT_EVERY == 0:
            self.snapshot()

    @property
    def _stateful(self) -> bool:
        """Whether the model learns online and can save and restore its state (snapshots)."""
        return self._online and hasattr(self.engine.model, "get_state")

    @property
    def _snapshot_key(self) -> str:
        engine = self.engine
        return snapshot_key(
            engine.model, engine.feedback, engine.generator.latent_dim, engine.safety.negatives
        )

    @property
    def _online(self) -> bool:
        """Whether the model learns rating by rating (else it refits on everything)."""
        return _learns_online(self.engine.model)

    def _learn_label(
        self, latent: np.ndarray, label: int, weight: float, refit: bool = True
    ) -> None:
        self._n_events += 1
        if self._online:
            self.model.learn(latent, label, weight)
            if refit:  # a new event, not a replayed one
                self._appended()
            return
        self._labels.append((latent, label, weight))
        if refit:
            self._refit()

    def _learn_pair(self, preferred: np.ndarray, other: np.ndarray, refit: bool = True) -> None:
        self._n_events += 1
        if self._online:
            self.model.learn_pair(preferred, other)
            if refit:  # a new event, not a replayed one
                self._appended()
            return
        self._pairs.append((preferred, other))
        if refit:
            self._refit()

    def _refit(self) -> None:
        """Batch models learn from everything: the engine's negatives plus this user's events."""
        negatives = self.engine.safety.negatives
        X = [row for row, _, _ in self._labels] + list(negatives)
        y = [label for _, label, _ in self._labels] + [0] * len(negatives)
        w = [weight for _, _, weight in self._labels] + [1.0] * len(negatives)
        if len(set(y)) < 2:
            return  # a classifier needs both a like and a dislike; until then keep the prior
        pairs = None
        if self._pairs:
            pairs = (np.array([a for a, _ in self._pairs]), np.array([b for _, b in self._pairs]))
        self.model = copy.deepcopy(self.engine.model).fit(np.array(X), y, w, pairs=pairs)

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

    def _fresh_candidates(self) -> list[Item]:
        """Pool items for this model plus fresh proposals (their share rising with the model's
        confidence), filtered for safety. Content is made when an item is chosen (`_made`),
        except where the safety check must see it first."""
        generator = self.engine.generator
        for _ in range(_SAFE_TRIES):
            latents = next_candidates(
                self._sampler,
                self.model,
                generator,
                self.engine.cache,
                self.user_id,
                self._rng,
                safety=self.engine.safety,
                served=lambda: self.engine.storage.items(self.user_id),
                confidence=confidence(self.model, self._n_events),
            )
            contents = self._contents(latents) if self.engine.safety.needs_content else None
            safe = ~self.engine.safety.unsafe_mask(latents, contents)
            if safe.any():
                return [
                    Item(self._new_id(), latents[i], None if contents is None else contents[i])
                    for i in np.flatnonzero(safe)
                ]
        raise UnsafeRegionError("every candidate proposed lies in the marked never-show region")

    def _safe_latents(self, target_logit: float | None, n: int) -> np.ndarray:
        """(n, d) diverse shell latents at a target log-odds (None: the best reachable)."""
        generator = self.engine.generator
        radius = math.sqrt(generator.latent_dim)
        found: list[np.ndarray] = []
        for attempt in range(_SAFE_TRIES):
            want = 4 * n * (attempt + 1)
            if is_linear(self.model):
                target = target_logit if target_logit is not None else self._top_logit(radius)
                latents = reverse_linear(
                    self.model, target, want, radius, self._rng, reach=generator.reach
                )
                if target_logit is None and attempt == 0:
                    latents[0] = self._top_latent(radius)
            else:
                starts = generator.project(generator.sample(want, self._rng))
                latents = reverse_gradient(self.model, target_logit, starts, radius)
            contents = self._contents(latents) if self.engine.safety.needs_content else None
            found.extend(latents[~self.engine.safety.unsafe_mask(latents, contents)])
            if len(found) >= n:
                break
        if len(found) < n:
            raise UnsafeRegionError(
                f"only {len(found)} of {n} latents at this score lie outside the marked region"
            )
        pool = np.array(found)
        if target_logit is None:
            pool = pool[np.argsort(-self.model.decision_function(pool), kind="stable")]
        return pool[farthest_points(pool, n)] if n > 1 else pool[:1]

    def _top_latent(self, radius: float) -> np.ndarray:
        best = shell_top(self.model, radius, self.engine.generator.reach, self._rng)
        if best is None:  # no direction learned yet: any shell point is as good
            return np.asarray(
                self.engine.generator.project(self.engine.generator.sample(1, self._rng))[0]
            )
        return best

    def _top_logit(self, radius: float) -> float:
        """A target just below the best reachable log-odds: the top of the range, diverse."""
        best = float(self.model.decision_function(self._top_latent(radius)[None, :])[0])
        return best - 0.05 * abs(best)

    def _serve(self, latents: np.ndarray, source: str) -> list[Item]:
        contents = self._contents(latents)
        items = [
            Item(self._new_id(), latent, c, source)
            for latent, c in zip(latents, contents, strict=True)
        ]
        self.engine.storage.put_items(self.user_id, items)
        return items

    def _made(self, items: list[Item]) -> list[Item]:
        """`items` with content, made in one batch (or found in the cache) where it is None."""
        todo = [i for i, item in enumerate(items) if item.content is None]
        if not todo:
            return items
        made = iter(self._contents(np.array([items[i].latent for i in todo])))
        return [
            Item(item.id, item.latent, next(made), item.source) if item.content is None else item
            for item in items
        ]

    def _contents(self, latents: np.ndarray) -> list[Any]:
        """Content of latents (n, d) from the cache; only what it lacks is generated."""
        return self.engine.cache.contents(latents, self.user_id)

    def _new_id(self) -> str:
        # From the OS, not the session's seeded stream: a resumed session replays that stream
        # and would issue the ids of items served before the restart to different latents.
        return uuid.uuid4().hex


def _prior_model(engine: Engine) -> BasePreferenceModel:
    """A fresh model that has already learned the engine's negatives as dislikes.

    Batch models start as the linear prior until their first fit (they need a like and a dislike).
    """
    template = engine.model if _learns_online(engine.model) else LinearPreference()
    model: BasePreferenceModel = copy.deepcopy(template).start(engine.generator.latent_dim)
    negatives = engine.safety.negatives
    if len(negatives):
        model.partial_fit(negatives, np.zeros(len(negatives), dtype=int))
    return model


def _learns_online(model: BasePreferenceModel) -> bool:
    """LinearPreference, or a model that says it learns rating by rating (FeaturePreference)."""
    return isinstance(model, LinearPreference) or bool(getattr(model, "online", False))


def _item_ids(events: list[Event]) -> list[str]:
    """Every item id the events name."""
    ids: list[str] = []
    for event in events:
        if isinstance(event, Feedback):
            ids.append(event.item_id)
        else:
            ids += [event.preferred_id, event.other_id]
    return ids


def _with_explore(sampler: BaseSampler, share: float) -> BaseSampler:
    if not hasattr(sampler, "explore"):
        return sampler
    clone = copy.copy(sampler)
    clone.explore = share
    return clone


def _with_source(item: Item, source: str) -> Item:
    return Item(item.id, item.latent, item.content, source)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def _summary(traits: list[dict[str, Any]], ratings: int) -> str:
    if not traits:
        return f"Not enough to go on yet ({ratings} ratings)."
    parts = [f"{'more' if t['weight'] > 0 else 'less'} {t['trait']}" for t in traits[:3]]
    return f"After {ratings} ratings, this taste leans towards " + ", ".join(parts) + "."
