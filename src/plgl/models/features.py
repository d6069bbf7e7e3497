"""Preferences on content: a preference model over what the generator's content measurably is.

`FeaturePreference` takes latents like every plgl model, decodes them with its generator, measures
the content (`generator.features`: a face's brightness and warmth, a molecule's QED), standardizes
the measurements over the generator's fixed prior sample, and learns with a base model over
those few standardized features. A taste then reads in the domain's own words
(`feature_weights`), and it is learned from fewer ratings when the features are what the user
cares about.

Navigation climbs the learned score through the generator: `torch_decision` differentiates the
base model's log-odds through `generator.torch_features` (decode + differentiable measurements),
and `reverse_search` (what `plgl.navigation.reverse_gradient` calls for any model) starts from
the best-matching of many scored prior samples, then runs the gradient search (torch Adam with
the shell penalty) from the first few. The search also stays inside the range of content the
generator makes (`FeatureRange`): the shell alone does not keep a GAN's content realistic; a
face DCGAN pushed along "brighter, warmer" to the top of the shell paints yellow ghosts.
Decoding is costly (a DCGAN forward and backward pass per step), so only `gradient_starts`
latents are refined by gradient; the others, and every latent of a generator without a
differentiable path (`torch_features`), come from scoring prior samples: the caller's starts
plus the generator's 256-sample `feature_sample`.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from typing import Any, cast

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.generators import Generator, has_torch_features
from plgl.models._base import BasePreferenceModel
from plgl.models.confidence import is_linear
from plgl.models.linear import LinearPreference
from plgl.models.online import REFINE_BUDGET, OnlinePreferenceModel
from plgl.models.search import gradient_search

_CACHE_SIZE = 50_000  # latents whose features are remembered (8 floats each for faces)
_TOLERANCE = 0.25  # log-odds within which a prior sample meets its target without refinement
_PENALTY = 1.0  # log-odds lost per squared unit of Mahalanobis distance beyond the content range


class FeaturePreference(OnlinePreferenceModel):
    """A preference model over a generator's standardized content features.

    Args:
        generator: makes and measures the content; must expose `feature_names` and `features`.
        base: the model over features; None is LinearPreference() (online, calibrated).
        gradient_starts: latents per search refined by gradient through the generator.
        gradient_steps: Adam steps of that refinement.
        max_move: about how far (latent norm) the refinement moves from a prior sample: near
            real samples a GAN's content stays realistic (Adam moves each coordinate at most
            about its learning rate per step, set to max_move / (gradient_steps * sqrt(d))).

    >>> from plgl.generators import get
    >>> gen = get("faces")
    >>> z = gen.feature_sample()[0][:40]
    >>> bright = gen.features(gen.generate(z))[:, 0]
    >>> model = FeaturePreference(gen).fit(z, (bright > np.median(bright)).astype(int))
    >>> name, weight = model.feature_weights()[0]
    >>> "brightness" in name, weight > 0
    (True, True)
    """

    base_: BasePreferenceModel  # the fitted model over standardized features
    rated_: set[bytes]  # the latents learned from, so that proposals never repeat them
    range_: FeatureRange  # standardization and range of the generator's prior content

    def __init__(
        self,
        generator: Generator | None = None,
        base: BasePreferenceModel | None = None,
        gradient_starts: int = 4,
        gradient_steps: int = 30,
        max_move: float = 3.0,
    ) -> None:
        self.generator = generator
        self.base = base
        self.gradient_starts = gradient_starts
        self.gradient_steps = gradient_steps
        self.max_move = max_move

    # ------------------------------------------------------------------ fitting
    @property
    def online(self) -> bool:
        """Whether the base learns rating by rating (then so does this model)."""
        return isinstance(self._template(), OnlinePreferenceModel)

    def start(self, n_features: int) -> FeaturePreference:
        """The prior over latents of dimension `n_features`, ready for online updates."""
        generator = self._generator()
        if n_features != generator.latent_dim:
            raise InvalidInputError(
                f"{generator.name} latents have {generator.latent_dim} dimensions"
            )
        template = self._template()
        if not isinstance(template, OnlinePreferenceModel):
            raise InvalidInputError(f"{type(template).__name__} cannot learn online")
        self._standardize_from(generator)
        self.n_features_in_ = n_features
        self.classes_ = np.array([0, 1])
        self.base_ = template.start(len(generator.feature_names))
        self.rated_ = set()
        return self

    def _fit(
        self,
        X: np.ndarray,
        y01: np.ndarray,
        weights: np.ndarray,
        preferred: np.ndarray,
        other: np.ndarray,
    ) -> None:
        self._standardize_from(self._generator())
        pairs = (self._features(preferred), self._features(other)) if len(preferred) else None
        self.base_ = self._template().fit(self._features(X), y01, weights, pairs=pairs)
        self.rated_ = {_key(row) for row in np.vstack([X, preferred, other])}

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """Online update with labelled latents X (n, d), y (n,), in order."""
        if "base_" not in vars(self):
            self.start(np.shape(X)[1])
        X = self._check_x(X)
        self.base_.partial_fit(self._features(X), y, classes=classes, sample_weight=sample_weight)
        self.rated_.update(_key(row) for row in X)
        return self

    def learn(self, latent: np.ndarray, label: float, weight: float = 1.0) -> None:
        """Online update with one labelled latent (d,)."""
        self._online_base().learn(self._features(latent[None, :])[0], label, weight)
        self.rated_.add(_key(latent))

    def learn_pair(self, preferred: np.ndarray, other: np.ndarray, weight: float = 1.0) -> None:
        """Online update with one comparison: latent `preferred` (d,) won over `other` (d,)."""
        both = self._features(np.stack([preferred, other]))
        self._online_base().learn_pair(both[0], both[1], weight)
        self.rated_.update((_key(preferred), _key(other)))

    def refine(self, budget: float | None = REFINE_BUDGET) -> bool:
        """Let the base recompute its posterior exactly (see LinearPreference.refine)."""
        return self._online_base().refine(budget)

    def weight_covariance(self) -> None:
        """None: the model is linear in content features, not in latents."""
        return None

    def get_state(self) -> dict[str, np.ndarray]:
        """The base model's state (keys prefixed "base.") and the latents learned from."""
        check_is_fitted(self, "base_")
        state = {f"base.{key}": value for key, value in self._online_base().get_state().items()}
        rated = [np.frombuffer(key, dtype=np.float64) for key in sorted(self.rated_)]
        state["rated"] = np.array(rated).reshape(len(rated), self.n_features_in_)
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> FeaturePreference:
        """Restore what `get_state` returned (feature standardization comes from the generator)."""
        if "rated" not in state:
            raise InvalidInputError("state lacks the rated latents ('rated')")
        rated = np.asarray(state["rated"], dtype=np.float64)
        self.start(rated.shape[1])
        base = {key[5:]: value for key, value in state.items() if key.startswith("base.")}
        unknown = set(state) - {"rated"} - {f"base.{key}" for key in base}
        if unknown:
            raise InvalidInputError(f"state keys {sorted(unknown)} are not FeaturePreference's")
        self._online_base().set_state(base)
        self.rated_ = {_key(row) for row in rated}
        return self

    # --------------------------------------------------------------- prediction
    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(self.base_.decision_function(self._features(self._check_x(X))))

    def predictive_covariance(self, X: Any) -> np.ndarray:
        return np.asarray(self.base_.predictive_covariance(self._features(self._check_x(X))))

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        """Log-odds (n,) of latents z (n, d), differentiable through the generator."""
        check_is_fitted(self, "base_")
        out: torch.Tensor = self.base_.torch_decision(self._torch_scaled(z))
        return out

    def feature_weights(self) -> list[tuple[str, float]]:
        """(feature name, weight) of a linear base, strongest first, weights of unit norm."""
        check_is_fitted(self, "base_")
        if not is_linear(self.base_):
            return []
        coef = np.asarray(cast(Any, self.base_).coef_)
        norm = float(np.linalg.norm(coef))
        if norm == 0:
            return []
        names = self._generator().feature_names
        order = np.argsort(-np.abs(coef), kind="stable")
        return [(names[i], float(coef[i] / norm)) for i in order]

    # --------------------------------------------------------------- navigation
    def reverse_search(
        self, target_logit: float | np.ndarray | None, starts: np.ndarray, radius: float
    ) -> np.ndarray:
        """(n, d) shell latents near `target_logit` (a number, (n,) targets, or None: the best),
        one per row of `starts` (n, d).

        Each target gets the closest-scoring unused latent of the starts and the generator's
        prior sample; up to `gradient_starts` of them (the best when climbing, else those more
        than 0.25 log-odds off their target) are then refined by gradient through the generator
        when it has `torch_features`.
        """
        generator = self._generator()
        n = len(starts)
        pool = np.vstack([generator.project(starts), generator.feature_sample()[0]])
        scaled = self._features(pool)
        scores = self.base_.decision_function(scaled) - _PENALTY * self.range_.excess(scaled) ** 2
        if target_logit is not None:  # proposals to rate: never an item rated before
            rated = np.array([_key(row) in self.rated_ for row in pool])
            scores = np.where(rated & (np.arange(len(pool)) >= n), np.nan, scores)
        picks = _assign(scores, target_logit, n)
        found = pool[picks]
        if target_logit is None:  # climbing: refine the best picks
            refine = np.arange(n)[: self.gradient_starts]
            goal: float | np.ndarray | None = None
        else:  # refine only the picks that miss their target
            targets = np.broadcast_to(np.asarray(target_logit, dtype=np.float64), (n,))
            refine = np.flatnonzero(np.abs(scores[picks] - targets) > _TOLERANCE)
            refine = refine[: self.gradient_starts]
            goal = targets[refine].copy()
        if len(refine) and has_torch_features(generator):
            rate = self.max_move / (self.gradient_steps * math.sqrt(generator.latent_dim))
            found[refine] = gradient_search(
                _InRange(self),
                goal,
                found[refine],
                radius,
                steps=self.gradient_steps,
                learning_rate=rate,
            )
        found *= radius / np.linalg.norm(found, axis=1, keepdims=True)
        if target_logit is not None:
            # A refinement from a prior sample picked before may retrace an item already rated
            # (Adam's steps barely depend on a far target): such a row takes its fresh start.
            again = np.array([_key(row) in self.rated_ for row in found], dtype=bool)
            found[again] = pool[:n][again]
        return np.asarray(found)

    # ---------------------------------------------------------------- internals
    def _generator(self) -> Generator:
        if self.generator is None or not getattr(self.generator, "feature_names", ()):
            raise InvalidInputError(
                "FeaturePreference needs a generator that exposes feature_names"
            )
        return self.generator

    def _online_base(self) -> OnlinePreferenceModel:
        """The fitted base, which must learn online for the online methods."""
        check_is_fitted(self, "base_")
        if not isinstance(self.base_, OnlinePreferenceModel):
            raise InvalidInputError(f"{type(self.base_).__name__} cannot learn online")
        return self.base_

    def _template(self) -> BasePreferenceModel:
        return copy.deepcopy(self.base) if self.base is not None else LinearPreference()

    def _standardize_from(self, generator: Generator) -> None:
        self.range_ = FeatureRange(generator.feature_sample()[1])

    def _torch_scaled(self, z: torch.Tensor) -> torch.Tensor:
        """(n, k) standardized features of latents z (n, d), differentiable."""
        mean = torch.as_tensor(self.range_.mean, dtype=z.dtype)
        scale = torch.as_tensor(self.range_.scale, dtype=z.dtype)
        out: torch.Tensor = (self._generator().torch_features(z) - mean) / scale
        return out

    def _features(self, latents: np.ndarray) -> np.ndarray:
        """(n, k) standardized features of latents (n, d), decoded once per distinct latent."""
        cache = self._cache()
        keys = [_key(row) for row in latents]
        rows = cache.get(keys)
        missing = [i for i, key in enumerate(keys) if key not in rows]
        if missing:
            generator = self._generator()
            values = np.asarray(generator.features(generator.generate(latents[missing])), float)
            fresh = {keys[i]: row for i, row in zip(missing, values, strict=True)}
            cache.put(fresh)
            rows.update(fresh)
        raw = np.array([rows[key] for key in keys]).reshape(len(keys), -1)
        return self.range_.standardize(raw)

    def _cache(self) -> _FeatureCache:
        cache: _FeatureCache = self.__dict__.setdefault("_feature_cache", _FeatureCache())
        return cache

    def __deepcopy__(self, memo: dict[int, Any]) -> FeaturePreference:
        # Content is a pure function of the latent: copies (every user's model is one of the
        # engine's template) share the generator (its weights) and one feature cache, and copy
        # only what they learn.
        self._cache()
        clone = copy.copy(self)
        for name, value in self.__dict__.items():
            if name not in ("generator", "_feature_cache"):
                setattr(clone, name, copy.deepcopy(value, memo))
        return clone


class _FeatureCache:
    """Features by latent bytes, the oldest dropped beyond `_CACHE_SIZE`; thread-safe."""

    def __init__(self) -> None:
        self._rows: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        with self._lock:
            return {key: self._rows[key] for key in keys if key in self._rows}

    def put(self, rows: dict[bytes, np.ndarray]) -> None:
        with self._lock:
            self._rows.update(rows)
            while len(self._rows) > _CACHE_SIZE:
                self._rows.popitem(last=False)


class FeatureRange:
    """The range of content a generator makes, measured on its features.

    Features are standardized over a prior sample (n, k); the Mahalanobis distance of a
    standardized row under the sample's correlation says how unusual the content is, and
    `excess` is how far beyond the sample's 95th percentile of that distance it lies (0 inside).
    Pushing a score past that range gives content the generator does not make well (for the
    face DCGAN: washed-out yellow ghosts instead of faces).

    >>> rng = np.random.default_rng(0)
    >>> bounds = FeatureRange(rng.standard_normal((500, 3)))
    >>> float(bounds.excess(bounds.standardize(np.zeros((1, 3))))[0])
    0.0
    >>> bool(bounds.excess(np.full((1, 3), 10.0))[0] > 10)
    True
    """

    def __init__(self, sample: np.ndarray, quantile: float = 0.95) -> None:
        self.mean = sample.mean(axis=0)
        self.scale = np.maximum(sample.std(axis=0), 1e-12)
        scaled = (sample - self.mean) / self.scale
        k = scaled.shape[1]
        self.precision = np.linalg.inv(np.cov(scaled.T).reshape(k, k) + 1e-6 * np.eye(k))
        self.limit = float(np.quantile(self._distance(scaled), quantile))

    def standardize(self, features: np.ndarray) -> np.ndarray:
        """(n, k) features in standard deviations of the sample."""
        return np.asarray((features - self.mean) / self.scale)

    def excess(self, scaled: np.ndarray) -> np.ndarray:
        """(n,) Mahalanobis distance of standardized rows beyond the limit (0 inside)."""
        return np.asarray(np.maximum(self._distance(scaled) - self.limit, 0.0))

    def torch_excess(self, scaled: torch.Tensor) -> torch.Tensor:
        """(n,) `excess`, differentiable."""
        precision = torch.as_tensor(self.precision, dtype=scaled.dtype)
        distance = torch.sqrt(((scaled @ precision) * scaled).sum(dim=1) + 1e-12)
        return torch.relu(distance - self.limit)

    def _distance(self, scaled: np.ndarray) -> np.ndarray:
        return np.asarray(np.sqrt(np.maximum(((scaled @ self.precision) * scaled).sum(axis=1), 0)))


class _InRange:
    """A model's differentiable score, penalized beyond the generator's content range: what
    the gradient search climbs."""

    def __init__(self, model: FeaturePreference) -> None:
        self.model = model

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        model = self.model
        scaled = model._torch_scaled(z)
        out: torch.Tensor = model.base_.torch_decision(scaled)
        return out - _PENALTY * model.range_.torch_excess(scaled) ** 2


def _key(latent: np.ndarray) -> bytes:
    return np.ascontiguousarray(latent, dtype=np.float64).tobytes()


def _assign(scores: np.ndarray, target: float | np.ndarray | None, n: int) -> np.ndarray:
    """(n,) distinct indices into `scores`: the n best (target None) or, per target, the
    unused score closest to it (never a NaN score)."""
    if target is None:
        return np.argsort(-scores, kind="stable")[:n]
    targets = np.broadcast_to(np.asarray(target, dtype=np.float64), (n,))
    free = ~np.isnan(scores)
    picks = np.empty(n, dtype=int)
    for i, t in enumerate(targets):
        pick = int(np.argmin(np.where(free, np.abs(scores - t), np.inf)))
        picks[i] = pick
        free[pick] = False
    return picks
