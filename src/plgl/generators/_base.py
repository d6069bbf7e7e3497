"""The generator plug point: anything that turns latents into content."""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.errors import InvalidInputError

if TYPE_CHECKING:
    import torch

# Prior samples behind `feature_sample` (standardizing features, naming directions).
_FEATURE_SAMPLES = 256


class Generator(ABC):
    """A generative model with a standard Gaussian prior over its latent space.

    Subclasses set `name`, `latent_dim` and `modality` and implement `generate` and `_render`.
    The prior is N(0, I): its samples concentrate on the shell |z| = sqrt(latent_dim), the region
    the model renders well, and navigation keeps every latent it proposes there (`project`).

    Content is whatever `generate` returns (an array, a record); `render` turns one piece into
    bytes of one of `media_types` (the first is what a feed shows), and `metadata` into JSON-native
    facts about it (a molecule's SMILES and properties, a melody's notes).

    Optional hooks: `features` / `torch_features` (named traits of the content, for content
    models and `describe`) and `perceptual` (a differentiable summary of what the content looks
    or sounds like: it gives the generator's users a prior shaped by the generator's geometry,
    `plgl.models.priors.geometry_prior`, and lets grounded recommendations judge content,
    `plgl.navigation.content_scores`; see docs/geometry.md), and `judge_features` (what that
    content judge reads: the perceptual map unless a generator offers a better description,
    which need not be differentiable: a molecule's fingerprint).
    """

    name: str
    latent_dim: int
    modality: str  # "image" | "audio" | "molecule" | "vector"
    # How far along any one direction, in prior standard deviations, latents still render well
    # (None: anywhere on the shell). Navigation never goes further along a user's taste.
    reach: float | None = None
    media_types: tuple[str, ...] = ("image/svg+xml",)
    # Measurable traits of the content, in the domain's own words (see `features`).
    feature_names: tuple[str, ...] = ()

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, latent_dim) float64 draws from the prior."""
        return np.asarray(rng.standard_normal((n, self.latent_dim)))

    @abstractmethod
    def generate(self, latents: np.ndarray) -> list[Any]:
        """Content for each row of `latents` (n, latent_dim), in one batched call."""

    def render(self, content: Any, media_type: str | None = None) -> bytes:
        """One piece of content as bytes of `media_type` (None: the first of `media_types`)."""
        media_type = self.media_types[0] if media_type is None else media_type
        if media_type not in self.media_types:
            raise InvalidInputError(
                f"{self.name} renders {', '.join(self.media_types)}, not {media_type!r}"
            )
        return self._render(content, media_type)

    @abstractmethod
    def _render(self, content: Any, media_type: str) -> bytes:
        """Bytes of `content` as `media_type`, which is one of `media_types`."""

    def metadata(self, content: Any) -> dict[str, Any]:
        """JSON-native facts about one piece of content; none by default."""
        return {}

    def content_key(self, content: Any) -> bytes:
        """A 16-byte key equal for equal content (what a user would call the same item): by
        default a digest of an array's bytes, or of the repr of other content. Override it where
        one item has several spellings (a molecule, several SELFIES strings)."""
        raw = content.tobytes() if isinstance(content, np.ndarray) else repr(content).encode()
        return hashlib.blake2b(raw, digest_size=16).digest()

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        """(n, len(feature_names)) float64 traits of each piece of content."""
        raise InvalidInputError(f"{self.name} exposes no content features")

    def torch_features(self, latents: torch.Tensor) -> torch.Tensor:
        """(n, len(feature_names)) `features` of the content made from latents (n, latent_dim),
        differentiable in the latents: the optional path for gradient navigation through the
        generator (see `has_torch_features`)."""
        raise InvalidInputError(f"{self.name} has no differentiable path from latents to features")

    def perceptual(self, latents: torch.Tensor) -> torch.Tensor:
        """(n, m) what a person perceives of the content made from latents (n, latent_dim),
        differentiable in the latents: the optional hook behind the geometry prior.

        A small, smooth summary of the content (a blurred, downsampled image; a soft piano
        roll; a soft token sequence) in which distances mean "looks or sounds different".
        `plgl.generators.geometry` averages J^T J of this map over prior samples (its pull-back
        metric): directions that change the content a lot get much prior weight in a user's
        taste, directions that barely change it little (see `has_perceptual`). Implement it in
        a custom generator to give its users that prior; without it the prior is isotropic.
        """
        raise InvalidInputError(f"{self.name} has no differentiable perceptual map")

    def judge_features(self, latents: np.ndarray) -> np.ndarray:
        """(n, f) float64 what the content judge (`plgl.navigation.ContentJudge`) reads of the
        content made from latents (n, latent_dim): by default the `perceptual` map.

        Override it where a standard description of the content tells likes apart better than
        a smooth one (it need not be differentiable, and may decode the latents): the judge
        fits a regularized logistic regression on these rows, so they should be comparable in
        scale, and the same latent must always give the same row.
        """
        import torch

        with torch.no_grad():
            maps = self.perceptual(torch.as_tensor(np.asarray(latents), dtype=torch.float32))
        return np.asarray(maps.numpy(), dtype=np.float64)

    def feature_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """Fixed prior latents on the shell (256, latent_dim) and their features (256, k).

        Computed once per generator (seed 0): the reference for standardizing features and for
        naming latent directions.
        """
        cached: tuple[np.ndarray, np.ndarray] | None = getattr(self, "_feature_sample", None)
        if cached is None:
            latents = self.project(self.sample(_FEATURE_SAMPLES, np.random.default_rng(0)))
            features = np.asarray(self.features(self.generate(latents)), dtype=np.float64)
            cached = (latents, features)
            self._feature_sample = cached
        return cached

    def config(self) -> dict[str, Any]:
        """JSON-native settings that determine the content made from a latent (a cache key)."""
        return {"name": self.name, "latent_dim": self.latent_dim}

    def project(self, latents: np.ndarray) -> np.ndarray:
        """(n, latent_dim) latents moved radially onto the typical shell |z| = sqrt(latent_dim)."""
        norms = np.linalg.norm(latents, axis=1, keepdims=True)
        return np.asarray(latents * (np.sqrt(self.latent_dim) / np.maximum(norms, 1e-12)))

    def describe(self, direction: np.ndarray) -> list[tuple[str, float]]:
        """Name the traits a latent direction (latent_dim,) moves, strongest first.

        With `feature_names`, each trait is a feature and its weight how many of its prior
        standard deviations it changes per unit step along the direction (a least-squares fit
        of the features on the latents of `feature_sample`); otherwise latent coordinates.
        """
        if not self.feature_names:
            order = np.argsort(-np.abs(direction))
            return [(f"latent[{i}]", float(direction[i])) for i in order]
        change = np.asarray(direction, dtype=np.float64) @ self._feature_slopes()
        order = np.argsort(-np.abs(change), kind="stable")
        return [(self.feature_names[i], float(change[i])) for i in order]

    def _feature_slopes(self) -> np.ndarray:
        """(latent_dim, k) change of each standardized feature per unit latent step."""
        slopes: np.ndarray | None = getattr(self, "_slopes", None)
        if slopes is None:
            latents, features = self.feature_sample()
            scaled = (features - features.mean(axis=0)) / np.maximum(features.std(axis=0), 1e-12)
            design = np.column_stack([latents, np.ones(len(latents))])
            slopes = np.linalg.lstsq(design, scaled, rcond=None)[0][:-1]
            self._slopes = slopes
        return slopes


def has_torch_features(generator: Any) -> bool:
    """Whether `generator` implements the differentiable `torch_features` path (and has the
    features it differentiates)."""
    method = getattr(type(generator), "torch_features", None)
    implemented = method is not None and method is not Generator.torch_features
    return implemented and bool(getattr(generator, "feature_names", ()))


def has_perceptual(generator: Any) -> bool:
    """Whether `generator` implements the differentiable `perceptual` map."""
    method = getattr(type(generator), "perceptual", None)
    return method is not None and method is not Generator.perceptual


def config_digest(generator: Generator) -> str:
    """Hex digest of the generator's `config()`: what makes its content what it is."""
    text = json.dumps(generator.config(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cache_folder(kind: str) -> Path:
    """Where files of `kind` computed from a generator are cached: $PLGL_CACHE_DIR/kind, else
    $XDG_CACHE_HOME/plgl/kind, else ~/.cache/plgl/kind."""
    root = os.environ.get("PLGL_CACHE_DIR")
    if root:
        return Path(root) / kind
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "plgl" / kind


def shipped_folder() -> Path:
    """The package's folder of shipped weights and files computed from them."""
    return Path(str(resources.files("plgl") / "weights"))
