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
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import io
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
from plgl.models.mixture import MixturePreference, MixturePrior
from plgl.models.priors import GaussianPrior
from plgl.population.limits import BaseMatchLimiter, MatchLimiter
from plgl.population.population import Population
from plgl.population.records import Cluster, Match, PopulationSummary, UserTaste
from plgl.storage import BaseStorage
from plgl.storage.snapshot import snapshot_key

if TYPE_CHECKING:
    from plgl.engine import Engine

PRIOR_SETTING = "population_prior"
MATCHING_SETTING = "matching"
MATCHING_OUT_SETTING = "matching_out"  # the refresh a user opted out of matching under
PAGE = 500  # users read per storage page during a refresh
GROUP_AFTER = 10  # ratings (a first batch) before a user is placed in their taste cluster
_STATE, _CURRENT, _PRIOR, _SECRET = (
    "population/state",
    "population/current",
    "population/prior/",
    "population/secret",
)


class EnginePopulation:
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
            prior = fresh.new_user_prior()
            prior_id = None if prior is None else _prior_id(prior)
            if prior is not None and prior_id is not None:
                self._storage.put_shared(_PRIOR + prior_id, _encode_prior(prior))
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

    # ------------------------------------------------------------- pinned priors
    def recipe_for(self, user_id: str) -> tuple[Recipe, str]:
        """(recipe, snapshot key) of the user's model: the prior they started from, pinned in
        their settings; a user without a pin starts from the current prior when they have no
        events yet and keeps the from-scratch prior when they rated before any refresh."""
        storage = self._storage
        return self._recipe_from(
            storage.settings(user_id).get(PRIOR_SETTING), storage.version(user_id)
        )

    def _recipe_from(self, pinned: object, version: int) -> tuple[Recipe, str]:
        """`recipe_for` given the user's stored `population_prior` setting and version."""
        if not isinstance(pinned, str):
            pinned = self.current_prior_id() if version == 0 else ""
        return self.recipe_of(pinned)

    def pinned(self, user_id: str) -> str | None:
        """The id of the prior the user is pinned to ("" for scratch), None when not pinned."""
        value = self._storage.settings(user_id).get(PRIOR_SETTING)
        return value if isinstance(value, str) else None

    def current_prior_id(self) -> str:
        """The id of the prior new users start from now ("" for scratch)."""
        self.sync()
        return self._prior_id or ""

    def pin(self, user_id: str, recipe: Recipe) -> tuple[Recipe, str]:
        """Record, before the user's first event is stored, that their model starts from
        `recipe`'s prior; returns the (recipe, snapshot key) pinned (another process may have
        pinned first, or the user rated before any refresh: then theirs)."""
        pinned = self.pinned(user_id)
        if pinned is None:
            pinned = self.prior_id_of(recipe) if self._storage.version(user_id) == 0 else ""
            if pinned:  # unpinned with events already means scratch: nothing to write
                self._storage.put_settings(user_id, {PRIOR_SETTING: pinned})
        return self.recipe_of(pinned)

    def prior_id_of(self, recipe: Recipe) -> str:
        """The id of the prior `recipe`'s model starts from ("" for scratch)."""
        with self._lock:
            for prior_id, (known, _) in self._recipes.items():
                if known is recipe:
                    return prior_id
        raise InvalidInputError("this recipe was not made by the engine's population")

    def recipe_of(self, prior_id: str) -> tuple[Recipe, str]:
        """(recipe, snapshot key) of a model started from the stored prior `prior_id` ("":
        from scratch); StorageError when no such prior was stored."""
        with self._lock:
            if prior_id in self._recipes:
                return self._recipes[prior_id]
        blob = self._storage.shared(_PRIOR + prior_id)
        if blob is None:
            raise StorageError(f"the population prior {prior_id!r} a user started from is missing")
        engine = self._engine
        model = started_from(engine.model, _decode_prior(blob))
        recipe = Recipe(model, engine.feedback, engine.recipe.latent_dim, engine.recipe.negatives)
        key = snapshot_key(model, engine.feedback, recipe.latent_dim, recipe.negatives)
        with self._lock:
            return self._recipes.setdefault(prior_id, (recipe, key))

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


def started_from(template: object, prior: GaussianPrior | MixturePrior) -> LinearPreference:
    """The engine's model (its parameters) started from a released prior: a single Gaussian
    as its `prior`, a mixture as `MixturePreference(mixture=...)`."""
    if not isinstance(template, LinearPreference):  # checked when the population was bound
        raise InvalidInputError(f"a population prior needs a LinearPreference, got {template!r}")
    if isinstance(prior, GaussianPrior):
        model: LinearPreference = copy.deepcopy(template).set_params(prior=prior)
        if isinstance(model, MixturePreference):
            model.set_params(mixture=None)
        return model
    params = template.get_params()
    for name in ("prior", "mixture"):
        params.pop(name, None)
    return MixturePreference(**params, mixture=prior)


def _prior_id(prior: GaussianPrior | MixturePrior) -> str:
    """A digest of the prior's values: the same prior has the same id in every process (a
    single Gaussian's id is the digest of its mean and covariance alone, as before mixtures)."""
    data = b"".join(np.ascontiguousarray(a, "<f8").tobytes() for a in _arrays(prior).values())
    return hashlib.sha256(data).hexdigest()[:32]


def _arrays(prior: GaussianPrior | MixturePrior) -> dict[str, np.ndarray]:
    if isinstance(prior, GaussianPrior):
        return {"mean": prior.mean, "covariance": prior.covariance}
    return {
        "weights": prior.weights,
        "means": np.array([c.mean for c in prior.components]),
        "covariances": np.array([c.covariance for c in prior.components]),
    }


def _encode_prior(prior: GaussianPrior | MixturePrior) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **_arrays(prior))
    return buffer.getvalue()


def _decode_prior(blob: bytes) -> GaussianPrior | MixturePrior:
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        if "weights" not in archive:
            return GaussianPrior(archive["mean"], archive["covariance"])
        components = tuple(
            GaussianPrior(mean, cov)
            for mean, cov in zip(archive["means"], archive["covariances"], strict=True)
        )
        return MixturePrior(components, archive["weights"])
