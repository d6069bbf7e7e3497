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
from typing import Any, cast

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.generators import Generator, has_torch_features
from plgl.models._base import BasePreferenceModel
from plgl.models.confidence import is_linear
from plgl.models.feature_range import FeatureRange
from plgl.models.linear import LinearPreference
from plgl.models.mapped import MappedPreference, assign, latent_key
from plgl.models.online import OnlinePreferenceModel
from plgl.models.search import gradient_search

_TOLERANCE = 0.25  # log-odds within which a prior sample meets its target without refinement
_PENALTY = 1.0  # log-odds lost per squared unit of Mahalanobis distance beyond the content range


class FeaturePreference(MappedPreference):
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

    def _prepare(self, n_features: int) -> tuple[BasePreferenceModel, int]:
        generator = self._generator()
        self.range_ = FeatureRange(generator.feature_sample()[1])
        return self._template(), len(generator.feature_names)

    def _compute(self, latents: np.ndarray) -> np.ndarray:
        generator = self._generator()
        raw = np.asarray(generator.features(generator.generate(latents)), dtype=np.float64)
        return self.range_.standardize(raw.reshape(len(latents), -1))

    # --------------------------------------------------------------- prediction
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
            rated = np.array([latent_key(row) in self.rated_ for row in pool])
            scores = np.where(rated & (np.arange(len(pool)) >= n), np.nan, scores)
        picks = assign(scores, target_logit, n)
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
            again = np.array([latent_key(row) in self.rated_ for row in found], dtype=bool)
            found[again] = pool[:n][again]
        return np.asarray(found)

    # ---------------------------------------------------------------- internals
    def _generator(self) -> Generator:
        if self.generator is None or not getattr(self.generator, "feature_names", ()):
            raise InvalidInputError(
                "FeaturePreference needs a generator that exposes feature_names"
            )
        return self.generator

    def _template(self) -> BasePreferenceModel:
        return copy.deepcopy(self.base) if self.base is not None else LinearPreference()

    def _torch_features(self, z: torch.Tensor) -> torch.Tensor:
        """(n, k) standardized features of latents z (n, d), differentiable."""
        mean = torch.as_tensor(self.range_.mean, dtype=z.dtype)
        scale = torch.as_tensor(self.range_.scale, dtype=z.dtype)
        out: torch.Tensor = (self._generator().torch_features(z) - mean) / scale
        return out


class _InRange:
    """A model's differentiable score, penalized beyond the generator's content range: what
    the gradient search climbs."""

    def __init__(self, model: FeaturePreference) -> None:
        self.model = model

    def torch_decision(self, z: torch.Tensor) -> torch.Tensor:
        model = self.model
        scaled = model._torch_features(z)
        out: torch.Tensor = model.base_.torch_decision(scaled)
        return out - _PENALTY * model.range_.torch_excess(scaled) ** 2


__all__ = ["FeaturePreference", "FeatureRange"]
