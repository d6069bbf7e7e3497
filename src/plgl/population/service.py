"""A `Population` bound to an engine: refreshed from the users in its storage, persisted there,
pinned per user (the prior a user started from), and queried for matches.

Stored state (engine-wide, `BaseStorage.put_shared`), released values only:

- `population/state`: the population's fitted state (`Population.get_state`) and its refresh id;
- `population/current`: the latest refresh id and its prior's id (one small read to notice
  that another process refreshed);
- `population/prior/<id>`: every prior ever released (the single Gaussian, or the mixture of
  `Population.mixture_prior` with `Population(mixture=True)`), by the digest of its values,
  kept so that a user who started from it replays to the same model after later refreshes;
- `population/secret`: the key of the pseudonymous match handles (stable across restarts).

Per user (their settings, exported and deleted with them): `population_prior`, the id of the
population prior their model started from, written before their first event is stored (a user
with events and no pin started from scratch), and `matching`, their opt-in.

Pinning users to their prior is the method group `plgl.population.pinned.PinnedPriors`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError, StorageError, UserDeletedError
from plgl.history import Job, latest_taste
from plgl.learner import Recipe
from plgl.models import LinearPreference
from plgl.models.mixture import MixturePrior
from plgl.models.priors import GaussianPrior
from plgl.population.limits import BaseMatchLimiter, MatchLimiter
from plgl.population.pinned import PRIOR_SETTING, PinnedPriors, store_prior
from plgl.population.population import Population
from plgl.population.records import Cluster, Match, PopulationSummary, UserTaste
from plgl.storage import BaseStorage

if TYPE_CHECKING:
    from plgl.engine import Engine

MATCHING_SETTING = "matching"
MATCHING_OUT_SETTING = "matching_out"  # the refresh a user opted out of matching under
PAGE = 500  # users read per storage page during a refresh
GROUP_AFTER = 10  # ratings (a first batch) before a user is placed in their taste cluster
_STATE, _CURRENT, _SECRET = ("population/state", "population/current", "population/secret")


class EnginePopulation(PinnedPriors):
    """`engine.population`: the engine's `Population`, fed from and kept in its storage.

    Args:
        population: the population's settings (epsilon, delta, min_users, ...); its fitted
            state is loaded from storage when there is one.
        engine: the engine whose users and storage it reads.
        limiter: how often a user may ask for matches (None: 10 per minute).

    Attributes:
        population: the bound `Population` (its fitted state is the stored one).
        refresh_id: id of the refresh the loaded state comes from (None before any).
    """

    def __init__(
        self, population: Population, engine: Engine, limiter: BaseMatchLimiter | None = None
    ) -> None:
        if not isinstance(population, Population):
            raise InvalidInputError(
                f"population must be a plgl.Population, got {type(population).__name__}"
            )
        if not isinstance(engine.model, LinearPreference):
            raise InvalidInputError(
                "a population prior needs a LinearPreference model (its prior= parameter), "
                f"got {type(engine.model).__name__}"
            )
        self.population = population
        self.limiter: BaseMatchLimiter = limiter if limiter is not None else MatchLimiter()
        self.refresh_id: str | None = None
        self._engine = engine
        self._storage: BaseStorage = engine.storage
        self._prior_id: str | None = None  # of the loaded state; None: no prior released
        self._recipes: dict[str, tuple[Recipe, str]] = {"": (engine.recipe, engine.snapshot_key)}
        self._lock = threading.RLock()
        self._refreshing = threading.Lock()  # one refresh at a time; readers go on meanwhile
        self.population.secret = self._secret()
        self.sync()

    # ------------------------------------------------------------------ refresh
    def refresh(self, now: dt.datetime | None = None) -> PopulationSummary:
        """Fit the population again from every live user with events, streamed from storage
        page by page (twice; memory stays bounded), and store the result; returns the summary
        (users used, prior kind, clusters, epsilon spent, when).

        Each user contributes their model's posterior (as their events and pinned prior make
        it), read from their latest snapshot when it covers every event (`taste`); deleted
        users are no longer in storage, so nothing refreshed depends on them.
        """
        with self._refreshing:
            self.sync()  # continue the accountant's totals of every earlier refresh
            # Fitted on a copy: sessions keep reading the current state until it is swapped.
            fresh = copy.deepcopy(self.population)
            summary = fresh.refresh(self.tastes, now)
            prior_id = store_prior(self._storage, fresh.new_user_prior())
            refresh_id = uuid.uuid4().hex
            record = {"refresh": refresh_id, "prior": prior_id, "state": fresh.get_state()}
            self._storage.put_shared(_STATE, json.dumps(record).encode())
            current = {"refresh": refresh_id, "prior": prior_id}
            self._storage.put_shared(_CURRENT, json.dumps(current).encode())
            with self._lock:
                self.population = fresh
                self.refresh_id, self._prior_id = refresh_id, prior_id
            return summary

    def tastes(self) -> Iterator[UserTaste]:
        """Every live user's fitted taste, page by page (users without events are skipped)."""
        after: str | None = None
        while page := self._storage.users(after, PAGE):
            for user_id in page:
                taste = self.taste(user_id)
                if taste is not None:
                    yield taste
            after = page[-1]

    def taste(self, user_id: str) -> UserTaste | None:
        """The user's fitted taste as their stored events make it (None without events).

        Read from the taste section of their latest snapshot when it covers every event;
        otherwise replayed from that snapshot, and a snapshot of the result saved (through
        the engine's writer, in order with the user's other snapshots), so the next refresh
        reads it directly: a refresh replays only what users rated since the one before.
        """
        storage = self._storage
        settings = storage.settings(user_id)
        version = storage.version(user_id)
        if version == 0:
            return None
        recipe, key = self._recipe_from(settings.get(PRIOR_SETTING), version)
        try:
            posterior = latest_taste(recipe, storage, user_id, key, self._save(user_id), version)
        except UserDeletedError:
            return None  # deleted meanwhile: no longer part of the population
        if posterior is None:
            return None
        opted = settings.get(MATCHING_SETTING, False) is True
        return UserTaste(user_id, posterior[0], posterior[1], opted)

    def _save(self, user_id: str) -> Callable[[Job], None]:
        writer = self._engine.writer

        def save(job: Job) -> None:
            # Deleted meanwhile: nothing of theirs may be written, and nothing is lost.
            with contextlib.suppress(UserDeletedError):
                writer.run(user_id, job)

        return save

    # -------------------------------------------------------------- state
    def sync(self) -> bool:
        """Load the stored state if another process (or a restart) refreshed since; True if
        it did. One small read when nothing changed."""
        blob = self._storage.shared(_CURRENT)
        if blob is None:
            return False
        current = json.loads(blob)
        with self._lock:
            if current["refresh"] == self.refresh_id:
                return False
            stored = self._storage.shared(_STATE)
            if stored is None:
                raise StorageError("the stored population state is missing its body")
            record = json.loads(stored)
            self.population.set_state(record["state"])
            self.refresh_id, self._prior_id = record["refresh"], record["prior"]
            return True

    def summary(self) -> PopulationSummary | None:
        """The summary of the latest refresh (None before any)."""
        self.sync()
        return self.population.summary_

    def clusters(self) -> list[Cluster]:
        """The taste clusters of the latest refresh, largest first."""
        self.sync()
        return self.population.clusters()

    def prior(self) -> GaussianPrior | MixturePrior | None:
        """The prior a new user starts from now (None: from scratch): the mixture with
        `Population(mixture=True)`, else the single Gaussian."""
        self.sync()
        return self.population.new_user_prior()

    def group_of(self, taste: np.ndarray, ratings: int) -> str | None:
        """The cluster of a user's taste (d,) after `ratings` ratings, as "<refresh id>:<cluster
        id>"; None without clusters, and before `GROUP_AFTER` ratings: until then the taste is
        mostly the prior's mean, which would name the same cluster for every new user."""
        if self.refresh_id is None or not self.population.clusters_ or ratings < GROUP_AFTER:
            return None
        cluster = int(self.population.assign(np.asarray(taste, dtype=float)[None, :])[0])
        return None if cluster < 0 else f"{self.refresh_id}:{cluster}"

    # -------------------------------------------------------------- matching
    def matches(self, user_id: str, taste: np.ndarray, k: int) -> list[Match]:
        """Up to `k` other users who are opted in now, closest to `taste` (d,) first.

        The released index is filtered live: anyone deleted or opted out since the refresh
        (in any process) is left out at once. RateLimitedError when asked too often."""
        self.limiter.take(user_id)
        self.sync()
        found: list[Match] = []
        for other, match in self.population.ranked(user_id, taste):
            if not self._opted_in(other):
                # Storage already says so, and every process checks it: forget them here only.
                self.population.exclude(other)
                continue
            found.append(match)
            if len(found) == k:
                break
        return found

    def _opted_in(self, user_id: str) -> bool:
        """Opted in now, and not opted out since the loaded refresh (opting in again counts
        from the next refresh)."""
        storage = self._storage
        if storage.is_deleted(user_id):
            return False
        settings = storage.settings(user_id)
        return (
            settings.get(MATCHING_SETTING, False) is True
            and settings.get(MATCHING_OUT_SETTING) != self.refresh_id
        )

    def exclude(self, user_id: str) -> None:
        """Take the user out of matching now (opt-out, deletion). The stored index is left as
        it is (rewriting it costs the whole state): every process checks each candidate
        against storage before answering, and the next refresh leaves the user out."""
        with self._lock:
            self.sync()
            self.population.exclude(user_id)

    def _secret(self) -> bytes:
        stored = self._storage.shared(_SECRET)
        if stored is None:
            self._storage.put_shared(_SECRET, self.population.secret)
            return self.population.secret
        return stored
