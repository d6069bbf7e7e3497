"""The Engine: what every user shares, and a bounded registry of the sessions held in memory.

>>> import plgl
>>> with plgl.Engine(generator=plgl.generators.get("identity", latent_dim=8), seed=0) as engine:
...     s = engine.session("alice")
...     items = s.ask(10)
...     s.tell(items[0].id, "like").signal
'like'
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from plgl import validation as check
from plgl.cache import BaseCache, ContentCache
from plgl.criteria import check_name
from plgl.errors import InvalidInputError, UserDeletedError
from plgl.feedback import FeedbackPolicy
from plgl.generators import Generator, has_perceptual
from plgl.grounding import for_you_mode
from plgl.hot_sessions import HotSessions
from plgl.learner import Recipe
from plgl.models import BasePreferenceModel, ContentPreference, LinearPreference
from plgl.models.embedding import default_cache_dir as content_cache_dir
from plgl.models.priors import geometry_prior
from plgl.navigation.anchors import SHARED_MAPS, PerceptualMaps
from plgl.population.population import Population
from plgl.population.service import EnginePopulation
from plgl.safety import Safety
from plgl.samplers import BaseSampler, MixtureSampler
from plgl.session import Session
from plgl.storage import BaseStorage, from_url
from plgl.storage.snapshot import snapshot_key
from plgl.writer import BackgroundWriter

_CONTEXT = "\x1f"  # user id + this + context name (or "") is a session's registry key


class Engine:
    """Everything users share: the generator, storage, model template, sampler and safety.

    Sessions are kept in memory while they are used: at most `max_sessions` of them, each for
    at most `idle_seconds` after its last use (the least recently used go first). An evicted
    session is rebuilt from storage when its user comes back (the latest snapshot plus the
    events after it), so memory stays bounded whatever the number of users.

    Any worker serves any user. Several engines (threads or processes, on one machine over a
    SQLite file or on many over Redis) may serve the same users at once: before a session
    serves a request it compares the number of events stored for its user
    (`storage.version`) with the number it has learned and learns those another engine
    appended, in stored order (optimistic: one small read when nothing changed). No routing is
    needed, and a worker's death loses nothing but its memory. Snapshots are written by one
    background thread per engine, off the rating's path; `close()` (or leaving a `with` block)
    writes those still pending.

    Args:
        generator: makes content from latents (see `plgl.generators`).
        storage: a URL ("memory://") or a BaseStorage; None keeps everything in memory.
        seed: makes every session's choices reproducible.
        model: the preference model template, cloned per user; None is the domain's
            (`DEFAULT_MODEL`, `model_named`): `LinearPreference` with the generator's geometry
            prior where its metric is shipped or cached (`plgl.models.priors.geometry_prior`),
            else with the isotropic prior, or `ContentPreference`.
        sampler: None is MixtureSampler() (70% exploit, 30% explore).
        safety: never-show region; None shows anything the generator makes.
        feedback: how signals become labels and weights; None is FeedbackPolicy().
        cache: content cache and candidate pools: a URL ("memory://", "sqlite:///path",
            "redis://host:port/db"), a store or a `plgl.cache.ContentCache`; None is in memory.
        max_sessions: sessions held in memory at most (>= 1).
        idle_seconds: a session unused this long is dropped from memory (> 0); None: never.
        criteria: the criteria the operator defines for the domain ("energy", "calm"); ratings
            may name only these. None accepts any valid name.
        population: what earlier users taught (`plgl.Population`): bound to this engine's
            storage as `engine.population` (refreshed from the stored users, its state kept in
            storage); new users start from its prior and may opt in to matching. None: every
            user starts from scratch. Needs a LinearPreference model.
        for_you: what `recommend` shows: "grounded" (near the best-rated items, never an
            extrapolation), "judged" (near the favourite, ranked by a judge of the content) or
            "top" (the model's closed-form best); None picks the generator's default
            (`plgl.grounding`).
        perceptual_maps: how many perceptual maps (the content judge's rows) the engine keeps
            for all its sessions (>= 0; `plgl.navigation.anchors.SHARED_MAPS`: about 55 MB of
            faces' rows, 128 MB of molecules' atom-pair rows); one left out is computed again.

    Attributes:
        recipe: what every user's model is made of besides their events (`plgl.learner`).
        snapshot_key: the key that snapshots made by this engine's settings carry.
        writer: the background writer of snapshots (`plgl.writer.BackgroundWriter`).
        population: the bound population (`plgl.population.service.EnginePopulation`) or None.
        perceptual_maps: the perceptual maps every session's content judge shares
            (`plgl.navigation.PerceptualMaps`), None where the generator has no perceptual map.
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
        max_sessions: int = 10_000,
        idle_seconds: float | None = 3600.0,
        criteria: Sequence[str] | None = None,
        population: Population | None = None,
        for_you: str | None = None,
        perceptual_maps: int = SHARED_MAPS,
    ) -> None:
        for name in ("latent_dim", "generate", "sample", "project"):
            if not hasattr(generator, name):
                raise InvalidInputError(f"generator lacks {name!r}; see plgl.Generator")
        max_sessions = check.integer("max_sessions", max_sessions, minimum=1)
        perceptual_maps = check.integer("perceptual_maps", perceptual_maps, minimum=0)
        if idle_seconds is not None and not (
            isinstance(idle_seconds, int | float)
            and not isinstance(idle_seconds, bool)
            and 0 < idle_seconds < float("inf")
        ):
            raise InvalidInputError(
                f"idle_seconds must be a number > 0 or None, got {idle_seconds!r}"
            )
        self.generator = generator
        self.criteria = None if criteria is None else [check_name("criterion", c) for c in criteria]
        self.seed = check.integer("seed", seed, minimum=0)
        self.model = model if model is not None else _default_model(generator, population)
        self.for_you = for_you_mode(generator, for_you)
        self.sampler = sampler if sampler is not None else MixtureSampler()
        self.safety = safety if safety is not None else Safety()
        self.safety.check_dim(generator.latent_dim)
        self.feedback = feedback if feedback is not None else FeedbackPolicy()
        self.storage = from_url(storage)
        self._owns_storage = not isinstance(storage, BaseStorage)
        self.cache = (cache if isinstance(cache, ContentCache) else ContentCache(cache)).attach(
            generator
        )
        self.recipe = Recipe(self.model, self.feedback, generator.latent_dim, self.safety.negatives)
        self.snapshot_key = snapshot_key(
            self.model, self.feedback, generator.latent_dim, self.safety.negatives
        )
        self.population = None if population is None else EnginePopulation(population, self)
        # One bounded cache of perceptual maps for every session's content judge, not one each:
        # bounded per worker whatever the number of users.
        self.perceptual_maps = (
            PerceptualMaps(perceptual_maps) if has_perceptual(generator) else None
        )
        self.writer = BackgroundWriter()
        self._hot = HotSessions(max_sessions, idle_seconds, on_evict=self._evicted)
        self._closed = False

    def session(self, user_id: str, context: str | None = None) -> Session:
        """The session of `user_id`, from memory or resumed from storage.

        `context` ("workout") names one of the user's context profiles: a taste of its own that
        starts from the user's ratings elsewhere (`plgl.criteria.contexts`); None is the default
        profile, which learns from every rating. Every profile shares the user's event log, so
        export and deletion cover them all.
        """
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
            raise InvalidInputError(
                f"user_id must be a non-empty string of <= 200 chars: {user_id!r}"
            )
        if context is not None:
            check_name("context", context)
        if self._closed:
            raise InvalidInputError("this engine was closed; make a new one")
        # Context names hold no separator, so the last one splits a key unambiguously.
        key = f"{user_id}{_CONTEXT}{context or ''}"
        session = self._hot.get(key)
        if session is None:
            # A session held in memory checks the tombstone itself on every call (in the read
            # it starts with), so only a session about to be built reads it here.
            if self.storage.is_deleted(user_id):
                self.evict(user_id)
                raise UserDeletedError(f"user {user_id!r} was deleted; their id cannot be reused")
            # Built outside the registry's lock (a resume reads storage); a session built twice
            # by racing threads is harmless, as both follow the stored events.
            session = self._hot.put(key, Session(self, user_id, context))
        return session

    def held_session(self, user_id: str, context: str | None = None) -> Session | None:
        """The session `session(user_id, context)` returns if it is held in memory, else None.
        Reads no storage, so an event loop may call it (the server does, and hands only the
        resumption of a session to a thread)."""
        return None if self._closed else self._hot.get(f"{user_id}{_CONTEXT}{context or ''}")

    def recipe_for(self, user_id: str) -> tuple[Recipe, str]:
        """(recipe, snapshot key) of the user's model: the engine's, or with the population
        prior the user started from (`plgl.population.pinned`)."""
        if self.population is None:
            return self.recipe, self.snapshot_key
        return self.population.recipe_for(user_id)

    def evict(self, user_id: str) -> None:
        """Drop a user's sessions (every context) from memory (storage keeps everything; they
        are rebuilt on use)."""
        self._hot.pop_where(lambda key: key.rpartition(_CONTEXT)[0] == user_id)

    def _evicted(self, key: str) -> None:
        """A session left memory for room or idleness: so does the cache's note of its user."""
        self.cache.release(key.rpartition(_CONTEXT)[0])

    @property
    def n_sessions(self) -> int:
        """How many sessions are held in memory."""
        return len(self._hot)

    def flush(self) -> None:
        """Return once every snapshot due so far is written."""
        self.writer.flush()

    def close(self) -> None:
        """Write the pending snapshots, stop the background thread, drop every session and
        close the storage the engine opened from a URL. The engine cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        self.writer.close()
        self._hot.clear()
        if self._owns_storage:
            self.storage.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


MODELS = ("latent", "content")
DEFAULT_MODEL: dict[str, str] = {}
"""The model of each built-in domain where it is not "latent", chosen by the `swipers`
benchmark suite (docs/learning.md)."""


def model_named(name: str, generator: Generator) -> BasePreferenceModel:
    """ "latent": the linear model with the generator's geometry prior (shipped or cached, never
    computed here: an engine starts in milliseconds; isotropic where there is none).
    "content": `ContentPreference` over the generator's perceptual map, its bank of embedded
    items saved in the plgl cache folder (made on the first user's start where not shipped)."""
    if name == "content":
        return ContentPreference(generator, cache_dir=content_cache_dir())
    if name != "latent":
        raise InvalidInputError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    return LinearPreference(prior=geometry_prior(generator, compute=False))


def _default_model(generator: Generator, population: Population | None) -> BasePreferenceModel:
    """The domain's model (`DEFAULT_MODEL`); the latent one with a population (whose prior is
    over latents) or a generator without a perceptual map."""
    name = DEFAULT_MODEL.get(str(getattr(generator, "name", "")), "latent")
    if population is not None or not has_perceptual(generator):
        name = "latent"
    return model_named(name, generator)
