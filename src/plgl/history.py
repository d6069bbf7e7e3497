"""A user's model as their stored events make it: replay, catching up, and snapshots.

The events are the truth; a snapshot (the model's state after the first `position` events) only
saves replaying them. A user's model is the latest usable snapshot plus the events after it, and
a snapshot is always what a full replay of its events gives, so a resumed session equals a
freshly replayed one.

Several processes may serve one user over one storage: `sync` compares the number of stored
events (`storage.version`) with the number applied here and applies the events another process
appended, in their stored order (cheap when nothing changed: one small read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from plgl.criteria.contexts import context_start
from plgl.errors import UserDeletedError
from plgl.learner import Learner, OnlineLearner, Recipe, new_learner, prior_model
from plgl.models import is_linear
from plgl.records import Event, Feedback, compared_pairs, event_item_ids
from plgl.storage import BaseStorage, Snapshot
from plgl.storage.snapshot import decode_snapshot, decode_taste, encode_snapshot

SNAPSHOT_EVERY = 50  # events between snapshots of an online model's state

Job = Callable[[], None]


class History:
    """One user's learner, kept in step with their stored events.

    Args:
        recipe: what the model is made of besides the events.
        storage: where the events and snapshots are.
        user_id: whose events.
        key: the snapshot key of `recipe` (see `plgl.storage.snapshot.snapshot_key`).
        context: the user's context profile (None: the default profile).
    """

    def __init__(
        self,
        recipe: Recipe,
        storage: BaseStorage,
        user_id: str,
        key: str,
        context: str | None = None,
    ) -> None:
        self.recipe = recipe
        self.storage = storage
        self.user_id = user_id
        self.key = key
        self.context = context
        self.learner, self.position, replayed = replay(recipe, storage, user_id, key, None, context)
        self.saved = self.position - replayed  # the position of the latest snapshot (or 0)

    @property
    def n_events(self) -> int:
        """How many events the model has learned (events naming unknown items are skipped)."""
        return self.learner.n_events

    def sync(self) -> bool:
        """Apply the events stored since the last `sync`; True if there were any."""
        version = self.storage.version(self.user_id)
        if version == self.position:
            return False
        if version < self.position:  # events are never removed, except with the user
            if self.storage.is_deleted(self.user_id):
                raise UserDeletedError(f"user {self.user_id!r} was deleted")
            self.learner, self.position, _ = replay(
                self.recipe, self.storage, self.user_id, self.key, None, self.context
            )
            return True
        self._apply(self.storage.events(self.user_id, self.position))
        return True

    def appended(self, event: Event, latents: dict[str, np.ndarray]) -> None:
        """This process stored `event` (its items' latents given): learn it in stored order."""
        if self.storage.version(self.user_id) == self.position + 1:
            self._apply([event], latents)
        else:  # another process appended too: learn everything in the order it was stored
            self.sync()

    def due(self) -> bool:
        """Whether enough events came in since the latest snapshot to save a new one."""
        return self.learner.stateful and self.position - self.saved >= SNAPSHOT_EVERY

    def snapshot_job(self) -> Job:
        """The work of saving a snapshot now due, to run in any thread (the caller holds the
        session's lock while this is called, not while the job runs).

        While the live model is still exactly its replay, its state is copied here; once `ask`
        has refined it, the job replays the stored events instead.
        """
        self.saved = self.position
        learner = self.learner
        if learner.exact and isinstance(learner, OnlineLearner):
            state, ratings, position = learner.get_state(), learner.n_events, self.position
            taste = taste_of(learner)
            storage, user_id, key = self.storage, self.user_id, self.key
            return lambda: storage.put_snapshot(
                user_id, position, encode_snapshot(state, key, ratings, taste)
            )
        recipe, storage, user_id, key, position = (
            self.recipe,
            self.storage,
            self.user_id,
            self.key,
            self.position,
        )

        def replay_and_save() -> None:
            save_snapshot(recipe, storage, user_id, key, position)

        return replay_and_save

    def _apply(self, events: Sequence[Event], latents: dict[str, np.ndarray] | None = None) -> None:
        if latents is None:
            latents = self.storage.item_latents(self.user_id, item_ids(events))
        learn(self.learner, self.recipe, events, latents)
        self.position += len(events)


def replay(
    recipe: Recipe,
    storage: BaseStorage,
    user_id: str,
    key: str,
    upto: int | None = None,
    context: str | None = None,
) -> tuple[Learner, int, int]:
    """(learner, position, replayed): the user's model from their latest usable snapshot plus
    the events after it (up to position `upto`; None: all); `position` events are covered,
    `replayed` of them read as events. A `context` profile is replayed from every event: its
    model starts from the other contexts' ratings (`plgl.criteria.contexts`)."""
    learner = new_learner(recipe, context)
    if context is not None:
        events = storage.events(user_id)[:upto]
        latents = storage.item_latents(user_id, item_ids(events))
        if isinstance(learner, OnlineLearner):
            learner.model = context_start(
                recipe.model,
                context,
                events,
                latents,
                recipe.feedback,
                lambda template: prior_model(recipe, template),
            )
        learn(learner, recipe, events, latents)
        return learner, len(events), len(events)
    snapshot = storage.snapshot(user_id) if learner.stateful else None
    return _replay_onto(learner, snapshot, recipe, storage, user_id, key, upto)


def save_snapshot(
    recipe: Recipe, storage: BaseStorage, user_id: str, key: str, upto: int | None = None
) -> bool:
    """Save what the stored events give (latest snapshot plus the events after it, up to
    position `upto`; None: all); False for models without a state to save. Nothing is written
    when a usable snapshot as recent is stored already (another process may have saved it)."""
    learner = new_learner(recipe)
    if not isinstance(learner, OnlineLearner) or not learner.stateful:
        return False
    snapshot = storage.snapshot(user_id)
    if (
        upto is not None
        and snapshot is not None
        and snapshot.position >= upto
        and decode_snapshot(snapshot.blob, key) is not None
    ):
        return True
    _, position, _ = _replay_onto(learner, snapshot, recipe, storage, user_id, key, upto)
    storage.put_snapshot(user_id, position, _encode(learner, key))
    return True


def latest_taste(
    recipe: Recipe,
    storage: BaseStorage,
    user_id: str,
    key: str,
    save: Callable[[Job], None] | None = None,
    version: int | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The posterior mean (d,) and covariance (d, d) of the weights of the user's linear model
    as their stored events make it (None for other models).

    Read from the taste section of the latest snapshot when it covers every stored event (no
    model is built); otherwise replayed from that snapshot (`replay`), and `save` is given the
    job that stores a snapshot of the replayed state (unless a newer one is stored by then), so
    that the next read is direct.
    `version` is the user's number of stored events if the caller has just read it.
    """
    version = storage.version(user_id) if version is None else version
    snapshot = storage.snapshot(user_id)
    if snapshot is not None and snapshot.position == version:
        taste = decode_taste(snapshot.blob, key)
        if taste is not None:
            return taste
    learner = new_learner(recipe)
    if not learner.stateful:
        snapshot = None
    _, position, replayed = _replay_onto(learner, snapshot, recipe, storage, user_id, key, None)
    taste = taste_of(learner)
    if save is not None and replayed and isinstance(learner, OnlineLearner):
        blob = _encode(learner, key)

        def put() -> None:
            stored = storage.snapshot(user_id)
            if stored is None or stored.position < position:  # never over a newer one
                storage.put_snapshot(user_id, position, blob)

        save(put)
    return taste


def taste_of(learner: Learner) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean (d,), covariance (d, d)) of a linear model's weights, else None."""
    model = learner.model
    if not is_linear(model):
        return None
    covariance = model.weight_covariance()
    if covariance is None:
        return None
    return np.array(model.coef_, dtype=float), np.array(covariance, dtype=float)


def _encode(learner: OnlineLearner, key: str) -> bytes:
    return encode_snapshot(learner.get_state(), key, learner.n_events, taste_of(learner))


def _replay_onto(
    learner: Learner,
    snapshot: Snapshot | None,
    recipe: Recipe,
    storage: BaseStorage,
    user_id: str,
    key: str,
    upto: int | None,
) -> tuple[Learner, int, int]:
    """`replay` from a fresh `learner` and the user's stored `snapshot`, already read."""
    start = 0
    if snapshot is not None and upto is not None and snapshot.position > upto:
        snapshot = None  # newer than wanted: replay from the start
    decoded = None if snapshot is None else decode_snapshot(snapshot.blob, key)
    if snapshot is not None and decoded is not None and isinstance(learner, OnlineLearner):
        state, ratings = decoded
        learner.set_state(state, ratings)
        start = snapshot.position
    events = storage.events(user_id, start)
    if upto is not None:
        events = events[: upto - start]
    learn(learner, recipe, events, storage.item_latents(user_id, item_ids(events)))
    return learner, start + len(events), len(events)


def learn(
    learner: Learner, recipe: Recipe, events: Sequence[Event], latents: dict[str, np.ndarray]
) -> None:
    """Teach `learner` the events in order; events naming items without a latent are skipped,
    those naming a criterion go to its criteria, and a context's learner skips other contexts."""
    for event in events:
        if event.criterion is not None:
            learner.criteria.learn_event(event, latents, recipe.feedback)
            continue
        if learner.context is not None and event.context != learner.context:
            continue
        if isinstance(event, Feedback):
            latent = latents.get(event.item_id)
            if latent is not None:
                label, weight = recipe.feedback.label(event.signal, event.dwell_seconds)
                learner.add_label(latent, label, weight)
        else:
            found = compared_pairs(event, latents)
            if found:
                learner.add_pairs(found)
    if events:
        learner.settle()


def item_ids(events: Sequence[Event]) -> list[str]:
    """Every item id the events name."""
    return [item_id for event in events for item_id in event_item_ids(event)]
