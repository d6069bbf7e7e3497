"""Preference models over features of the content: a base model learns over phi(latent).

`MappedPreference` is what `FeaturePreference` (named traits) and `ContentPreference` (an
embedding of the perceptual map) share: the online protocol delegated to a base model over the
features, a thread-safe cache of features by latent (content is a pure function of the latent,
so copies share it), and the set of latents rated so far, which proposals never repeat.
"""

from __future__ import annotations

import copy
import threading
from abc import abstractmethod
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.models._base import BasePreferenceModel
from plgl.models.online import REFINE_BUDGET, OnlinePreferenceModel

if TYPE_CHECKING:
    from plgl.generators import Generator

CACHE_SIZE = 50_000  # latents whose features are remembered


class MappedPreference(OnlinePreferenceModel):
    """An online preference model whose base model sees features phi(z) of latents z.

    Subclasses implement `_prepare` (set the feature map up for latents of a width; return the
    unfitted base and the number of features) and `_compute` (features of latents, uncached),
    and list in `_SHARED` the attributes every copy shares (never learned, costly to copy).
    """

    _SHARED: tuple[str, ...] = ("generator", "_feature_cache")
    base_: BasePreferenceModel  # the fitted model over features
    rated_: set[bytes]  # the latents learned from, so that proposals never repeat them

    @abstractmethod
    def _prepare(self, n_features: int) -> tuple[BasePreferenceModel, int]:
        """Set the feature map up for latents of width `n_features`; return an unfitted base
        model and the number of features it sees."""

    @abstractmethod
    def _compute(self, latents: np.ndarray) -> np.ndarray:
        """(n, k) features of latents (n, d), computed (no cache)."""

    @abstractmethod
    def _generator(self) -> Generator:
        """The generator whose latents this model reads (InvalidInputError where it lacks
        what the features need)."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # "liked" or not
        return tags

    # ------------------------------------------------------------------ fitting
    def start(self, n_features: int) -> Self:
        """The prior over latents of dimension `n_features`, ready for online updates."""
        generator = self._generator()
        if n_features != generator.latent_dim:
            raise InvalidInputError(
                f"{generator.name} latents have {generator.latent_dim} dimensions"
            )
        template, k = self._prepare(n_features)
        if not isinstance(template, OnlinePreferenceModel):
            raise InvalidInputError(f"{type(template).__name__} cannot learn online")
        self.n_features_in_ = n_features
        self.classes_ = np.array([0, 1])
        self.base_ = template.start(k)
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
        template, _ = self._prepare(X.shape[1])
        pairs = (self._features(preferred), self._features(other)) if len(preferred) else None
        self.base_ = template.fit(self._features(X), y01, weights, pairs=pairs)
        self.rated_ = {latent_key(row) for row in np.vstack([X, preferred, other])}

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """Online update with labelled latents X (n, d), y (n,), in order."""
        if "base_" not in vars(self):
            self.start(np.shape(X)[1])
        X = self._check_x(X)
        self.base_.partial_fit(self._features(X), y, classes=classes, sample_weight=sample_weight)
        self.rated_.update(latent_key(row) for row in X)
        return self

    def learn(self, latent: np.ndarray, label: float, weight: float = 1.0) -> None:
        """Online update with one labelled latent (d,)."""
        self._online_base().learn(self._features(latent[None, :])[0], label, weight)
        self.rated_.add(latent_key(latent))

    def learn_pair(self, preferred: np.ndarray, other: np.ndarray, weight: float = 1.0) -> None:
        """Online update with one comparison: latent `preferred` (d,) won over `other` (d,)."""
        both = self._features(np.stack([preferred, other]))
        self._online_base().learn_pair(both[0], both[1], weight)
        self.rated_.update((latent_key(preferred), latent_key(other)))

    def refine(self, budget: float | None = REFINE_BUDGET) -> bool:
        """Let the base recompute its posterior exactly (see LinearPreference.refine)."""
        return self._online_base().refine(budget)

    def weight_covariance(self) -> None:
        """None: the model is linear in features of the content, not in latents."""
        return None

    def get_state(self) -> dict[str, np.ndarray]:
        """The base model's state (keys prefixed "base.") and the latents learned from."""
        check_is_fitted(self, "base_")
        state = {f"base.{key}": value for key, value in self._online_base().get_state().items()}
        rated = [np.frombuffer(key, dtype=np.float64) for key in sorted(self.rated_)]
        state["rated"] = np.array(rated).reshape(len(rated), self.n_features_in_)
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> Any:
        """Restore what `get_state` returned (the feature map comes from the generator)."""
        if "rated" not in state:
            raise InvalidInputError("state lacks the rated latents ('rated')")
        rated = np.asarray(state["rated"], dtype=np.float64)
        if rated.ndim != 2:
            raise InvalidInputError(f"state's rated latents must be (n, d), got {rated.shape}")
        self.start(rated.shape[1])
        base = {key[5:]: value for key, value in state.items() if key.startswith("base.")}
        unknown = set(state) - {"rated"} - {f"base.{key}" for key in base}
        if unknown:
            raise InvalidInputError(f"state keys {sorted(unknown)} are not {type(self).__name__}'s")
        self._online_base().set_state(base)
        self.rated_ = {latent_key(row) for row in rated}
        return self

    # --------------------------------------------------------------- prediction
    def decision_function(self, X: Any) -> np.ndarray:
        features = self._features(self._check_x(X))  # checks first: fitted, shape
        return np.asarray(self.base_.decision_function(features))

    def predictive_covariance(self, X: Any) -> np.ndarray:
        features = self._features(self._check_x(X))  # checks first: fitted, shape
        return np.asarray(self.base_.predictive_covariance(features))

    def uncertainty(self, X: Any) -> np.ndarray:
        """(n,) predictive variance of the log-odds (the base's, O(n k^2))."""
        features = self._features(self._check_x(X))  # checks first: fitted, shape
        return np.asarray(self.base_.uncertainty(features))

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        """Log-odds (n,) of latents z (n, d), differentiable through the feature map."""
        check_is_fitted(self, "base_")
        out: torch.Tensor = self.base_.torch_decision(self._torch_features(z))
        return out

    def _torch_features(self, z: torch.Tensor) -> torch.Tensor:
        """(n, k) features of latents z (n, d), differentiable."""
        raise InvalidInputError(f"{type(self).__name__} has no differentiable feature map")

    # ---------------------------------------------------------------- internals
    def _online_base(self) -> OnlinePreferenceModel:
        """The fitted base, which must learn online for the online methods."""
        check_is_fitted(self, "base_")
        if not isinstance(self.base_, OnlinePreferenceModel):
            raise InvalidInputError(f"{type(self.base_).__name__} cannot learn online")
        return self.base_

    def _features(self, latents: np.ndarray) -> np.ndarray:
        """(n, k) features of latents (n, d), computed once per distinct latent."""
        cache = self._cache()
        keys = [latent_key(row) for row in latents]
        rows = cache.get(keys)
        missing = [i for i, key in enumerate(keys) if key not in rows]
        if missing:
            values = np.asarray(self._compute(latents[missing]), dtype=np.float64)
            fresh = {keys[i]: row for i, row in zip(missing, values, strict=True)}
            cache.put(fresh)
            rows.update(fresh)
        return np.array([rows[key] for key in keys]).reshape(len(keys), -1)

    def _cache(self) -> FeatureCache:
        cache: FeatureCache = self.__dict__.setdefault("_feature_cache", FeatureCache())
        return cache

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # Features are a pure function of the latent: copies (every user's model is one of the
        # engine's template) share the generator, the feature map and one cache, and copy
        # only what they learn.
        self._cache()
        clone = copy.copy(self)
        for name, value in self.__dict__.items():
            if name not in self._SHARED:
                setattr(clone, name, copy.deepcopy(value, memo))
        return clone


class FeatureCache:
    """Features by latent bytes, the oldest dropped beyond `size`; thread-safe. A pickled
    cache comes back empty (its lock cannot travel, and features are recomputed on demand)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._rows: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        with self._lock:
            return {key: self._rows[key] for key in keys if key in self._rows}

    def put(self, rows: dict[bytes, np.ndarray]) -> None:
        with self._lock:
            self._rows.update(rows)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["size"])  # type: ignore[misc]


def assign(scores: np.ndarray, target: float | np.ndarray | None, n: int) -> np.ndarray:
    """(n,) distinct indices into `scores`: the n best (target None; NaN scores last) or, per
    target, the unused score closest to it (never a NaN score)."""
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


def latent_key(latent: np.ndarray) -> bytes:
    """A latent's float64 bytes: the key of its features."""
    return np.ascontiguousarray(latent, dtype=np.float64).tobytes()


__all__ = ["CACHE_SIZE", "FeatureCache", "MappedPreference", "assign", "latent_key"]
