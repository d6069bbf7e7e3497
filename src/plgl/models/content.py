"""A fast preference model over what the content looks like: Bayesian logistic regression on a
compact embedding of the generator's perceptual map, optionally with the latent beside it.

`ContentPreference` sees each latent z through phi(z) = [c(z), z]: c the principal components
of the generator's perceptual map and their squared norm (`plgl.models.embedding`), z the latent
itself (a hybrid, when `latent_scale` > 0). Over phi it is `LinearPreference`: a Gaussian
posterior updated per rating in O(k^2) (k = len(phi)), exact refits and folding in `refine`,
drift and change detection, its state as arrays. Features are computed once per latent and
cached; the items it proposes come from a bank of prior items embedded once per generator, so
proposing, selecting and learning never decode content on the rating path.

Navigation ranks the bank: `reverse_search` assigns each target log-odds the unrated bank item
closest to it (the best unrated items when climbing). The bank is the catalogue the feed draws
from (thousands of prior items: a random item is rarely better than the best of them).
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np
import torch
from scipy.linalg import block_diag
from sklearn.utils.validation import check_is_fitted

from plgl.errors import InvalidInputError
from plgl.generators import Generator, has_perceptual
from plgl.models._base import BasePreferenceModel
from plgl.models.embedding import ContentEmbedding
from plgl.models.laplace import moderate
from plgl.models.linear import LinearPreference
from plgl.models.mapped import MappedPreference, assign
from plgl.models.priors import GaussianPrior, geometry_prior

_NORM_SHARE = 0.5  # prior scale of the squared-norm feature, relative to `content_scale`
_LOCAL_TOPS = 8  # best bank items that climbing steps away from


class ContentPreference(MappedPreference):
    """Bayesian logistic preference over an embedding of the content (and the latent).

    Args:
        generator: has a `perceptual` map (`plgl.generators.has_perceptual`).
        n_components: principal components of the perceptual map that the model sees.
        n_bank: prior items embedded once per generator: the candidates of navigation.
        content_scale: prior standard deviation of the log-odds that the content explains (the
            bank's embeddings have mean squared norm 1, so each component's weight has this
            standard deviation).
        latent_scale: prior standard deviation of the log-odds that the latent itself explains
            (the generator's geometry prior where it is shipped or cached, else isotropic);
            0 sees the content only.
        base: the model over features, a `LinearPreference` (drift, change detection, lapse);
            its `prior` is set here. None is LinearPreference().
        cache_dir: folder where the bank's embedding is saved (None: memory only).
        local_step: when climbing (`reverse_search` without a target: "For you"), also score
            new latents this share of the shell's radius away from the best bank items, towards
            the caller's random starts (their content is decoded and embedded); 0: bank only.
            On the faces swipers 0.3 lifted For-you at 30 swipes from 0.63 to 0.78 (swipes
            only; docs/learning.md).

    >>> from plgl.generators import get
    >>> gen = get("melodies")
    >>> model = ContentPreference(gen, n_components=8, n_bank=256).start(gen.latent_dim)
    >>> z = model.embedding_.latents[:2]
    >>> model.learn(z[0], 1.0)
    >>> bool(model.decision_function(z[:1])[0] > model.decision_function(z[1:])[0])
    True
    """

    _SHARED = ("generator", "_feature_cache", "embedding_")
    embedding_: ContentEmbedding  # the generator's embedding and its bank (shared by copies)

    def __init__(
        self,
        generator: Generator | None = None,
        n_components: int = 32,
        n_bank: int = 4096,
        content_scale: float = 4.0,
        latent_scale: float = 0.0,
        base: LinearPreference | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        local_step: float = 0.3,
    ) -> None:
        self.generator = generator
        self.n_components = n_components
        self.n_bank = n_bank
        self.content_scale = content_scale
        self.latent_scale = latent_scale
        self.base = base
        self.cache_dir = cache_dir
        self.local_step = local_step

    def feature_weights(self) -> list[tuple[str, float]]:
        """(trait, weight) of the generator's named traits (`feature_names`), strongest first,
        weights of unit norm: least-squares slopes of the learned log-odds on the standardized
        traits over the generator's prior sample (`feature_sample`, the bank's first items:
        nothing is decoded again). Empty for a generator without named traits."""
        check_is_fitted(self, "base_")
        generator = self._generator()
        if not generator.feature_names:
            return []
        latents, traits = generator.feature_sample()
        scores = self.base_.decision_function(self._features(latents))
        scaled = (traits - traits.mean(axis=0)) / np.maximum(traits.std(axis=0), 1e-12)
        design = np.column_stack([scaled, np.ones(len(scaled))])
        slopes = np.linalg.lstsq(design, scores - scores.mean(), rcond=None)[0][:-1]
        norm = float(np.linalg.norm(slopes))
        if norm == 0:
            return []
        order = np.argsort(-np.abs(slopes), kind="stable")
        return [(generator.feature_names[i], float(slopes[i] / norm)) for i in order]

    # --------------------------------------------------------------- navigation
    def reverse_search(
        self, target_logit: float | np.ndarray | None, starts: np.ndarray, radius: float
    ) -> np.ndarray:
        """(n, d) bank items near `target_logit` (a number, (n,) targets, or None: the best),
        one per row of `starts` (n, d), never an item rated before while the bank has enough
        others; scaled to the shell |z| = radius."""
        n = len(starts)
        bank = self.embedding_.latents
        scores = self._bank_scores()
        rated = self.embedding_.positions(self.rated_)
        if len(bank) - len(rated) >= n:
            scores[rated] = np.nan
        found = bank[assign(scores, target_logit, n)]
        if target_logit is None and self.local_step > 0:
            found = self._climb(bank[assign(scores, None, _LOCAL_TOPS)], starts, n)
        norms = np.linalg.norm(found, axis=1, keepdims=True)
        if np.any(np.abs(norms - radius) > 1e-9 * radius):  # bank items already lie there
            found = found * (radius / norms)
        return np.asarray(found)

    # ---------------------------------------------------------------- internals
    def _generator(self) -> Generator:
        if self.generator is None or not has_perceptual(self.generator):
            raise InvalidInputError(
                "ContentPreference needs a generator with a perceptual map (Generator.perceptual)"
            )
        return self.generator

    def _prepare(self, n_features: int) -> tuple[BasePreferenceModel, int]:
        generator = self._generator()
        for name in ("content_scale", "latent_scale", "local_step"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.content_scale == 0 and self.latent_scale == 0:
            raise InvalidInputError("content_scale and latent_scale cannot both be 0")
        if "embedding_" not in vars(self):
            self.embedding_ = ContentEmbedding.of(
                generator, self.n_bank, self.n_components, self.cache_dir
            )
        k = self.embedding_.width
        content = self.content_scale**2 * np.append(np.ones(k - 1), _NORM_SHARE**2)
        blocks = [np.diag(np.maximum(content, 1e-12))]
        if self.latent_scale > 0:
            blocks.append(self._latent_prior(n_features))
        covariance = block_diag(*blocks)
        if self.base is not None and not isinstance(self.base, LinearPreference):
            raise InvalidInputError(f"base must be a LinearPreference, got {type(self.base)}")
        template = copy.deepcopy(self.base) if self.base is not None else LinearPreference()
        template.set_params(prior=GaussianPrior(np.zeros(len(covariance)), covariance))
        return template, len(covariance)

    def _latent_prior(self, d: int) -> np.ndarray:
        """(d, d) prior covariance of the latent weights: the geometry prior of the generator
        where shipped or cached (never computed here), else isotropic."""
        generator = self._generator()
        if d == generator.latent_dim:
            prior = geometry_prior(generator, scale=self.latent_scale, compute=False)
            return np.asarray(prior.covariance)
        return np.eye(d) * self.latent_scale**2 / d

    def _compute(self, latents: np.ndarray) -> np.ndarray:
        content = self.embedding_.lookup(latents)
        if self.latent_scale > 0:
            return np.hstack([content, latents])
        return content

    def _bank_features(self) -> np.ndarray:
        """(n_bank, k) features of the bank's items (computed once, shared by copies)."""
        embedding = self.embedding_
        held: dict[bool, np.ndarray] = embedding.__dict__.setdefault("_with_latents", {})
        hybrid = self.latent_scale > 0
        if hybrid not in held:
            features = embedding.features
            held[hybrid] = np.hstack([features, embedding.latents]) if hybrid else features
        return held[hybrid]

    def _climb(self, tops: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
        """(n, d) the best of the bank's top items (m, d) and of new latents a step from each
        towards each start (m * n of them, on the shell): new content, embedded (decoded) and
        scored by the model, so a pick may go past the bank's best."""
        generator = self._generator()
        d = tops.shape[1]
        unit = starts / np.maximum(np.linalg.norm(starts, axis=1, keepdims=True), 1e-12)
        steps = tops[:, None, :] + self.local_step * np.sqrt(d) * unit[None, :, :]
        pool = np.vstack([tops, generator.project(steps.reshape(-1, d))])
        scores = self.base_.decision_function(self._features(pool))
        return np.asarray(pool[np.argsort(-scores, kind="stable")[:n]])

    def _bank_scores(self) -> np.ndarray:
        """(n_bank,) moderated log-odds of the bank's items (the base's `decision_function`
        without its input checks: this runs on every proposal)."""
        base = self.base_
        assert isinstance(base, LinearPreference)
        features = self._bank_features()
        mean, cov = base.mean_, base.covariance_
        raw = features @ mean[:-1] + mean[-1]
        # phi^T S phi for phi = (features, 1), without building phi
        variance = ((features @ cov[:-1, :-1]) * features).sum(axis=1)
        variance += 2.0 * features @ cov[:-1, -1] + cov[-1, -1]
        return np.asarray(moderate(raw, variance))

    def _torch_features(self, z: torch.Tensor) -> torch.Tensor:
        content = self.embedding_.torch_transform(z)
        return torch.cat([content, z], dim=1) if self.latent_scale > 0 else content


__all__ = ["ContentPreference"]
