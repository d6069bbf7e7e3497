"""`PinnedPriors`: the population prior each user's model started from, pinned in their settings.

A method group of `plgl.population.service.EnginePopulation` (which inherits it): every prior ever
released is stored by the digest of its values (`population/prior/<id>`), and each user's
`population_prior` setting names the one their model started from, so that they replay to the same
model after later refreshes. It declares the service state it uses; `EnginePopulation.__init__`
sets it.
"""

from __future__ import annotations

import copy
import hashlib
import io
import threading
from typing import TYPE_CHECKING

import numpy as np

from plgl.errors import InvalidInputError, StorageError
from plgl.learner import Recipe
from plgl.models import LinearPreference
from plgl.models.mixture import MixturePreference, MixturePrior
from plgl.models.priors import GaussianPrior
from plgl.storage import BaseStorage
from plgl.storage.snapshot import snapshot_key

if TYPE_CHECKING:
    from plgl.engine import Engine

PRIOR_SETTING = "population_prior"
_PRIOR = "population/prior/"  # + the prior's id: every prior ever released


class PinnedPriors:
    """Store released priors by id and give each user the recipe of the prior they started from."""

    _engine: Engine
    _storage: BaseStorage
    _prior_id: str | None
    _recipes: dict[str, tuple[Recipe, str]]
    _lock: threading.RLock

    if TYPE_CHECKING:  # EnginePopulation's: load the stored state if another process refreshed

        def sync(self) -> bool: ...

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


def store_prior(storage: BaseStorage, prior: GaussianPrior | MixturePrior | None) -> str | None:
    """The id of a released prior (None for none), stored under it in `storage`'s shared
    records so that every user pinned to it replays from it after later refreshes."""
    if prior is None:
        return None
    found = _prior_id(prior)
    storage.put_shared(_PRIOR + found, _encode_prior(prior))
    return found


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
