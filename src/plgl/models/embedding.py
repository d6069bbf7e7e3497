"""A compact embedding of what a generator's content looks or sounds like, and a bank of prior
items already embedded: the features of `ContentPreference`.

A generator's perceptual map (`Generator.perceptual`: a face's 16x16 thumbnail, a melody's soft
piano roll, a molecule's soft token picture) has hundreds of numbers. Principal components of
the maps of a fixed prior sample (the bank) keep the few directions in which content actually
varies (Jolliffe, "Principal Component Analysis", 2002); they are scaled by one common factor
so that the bank's squared norm averages 1 (distances between items stay distances between
their maps), and a last feature is the squared norm itself, standardized: a taste for one kind
of content, -|c - c_target|^2 = 2 c_target . c - |c|^2 + const, is then linear in the features.

The bank (its latents, their features) is computed once per generator configuration: held on
the generator object, and saved in `cache_dir` (keyed by the generator's `config()` digest)
when one is given, since embedding thousands of faces takes seconds; shipped in the package
(`plgl/weights/content-<digest>-<n_bank>-<n_components>.npz`) for the domains that use it by
default. Saved files hold float32: a loaded embedding agrees with a computed one to about 1e-6.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from plgl.errors import InvalidInputError
from plgl.generators import Generator, cache_folder, config_digest, has_perceptual, shipped_folder

_CHUNK = 256  # latents per perceptual pass
_SEED = 0  # the bank's prior sample


class ContentEmbedding:
    """Principal components of a generator's perceptual map, fitted on a bank of prior items.

    Args:
        generator: has a `perceptual` map (`plgl.generators.has_perceptual`).
        n_bank: prior items in the bank (on the shell, drawn with seed 0).
        n_components: principal components kept (at most the bank's size and the map's width).
        cache_dir: folder for the bank's file; None keeps it in memory only.

    Attributes:
        latents: (n_bank, latent_dim) float64 the bank's items.
        features: (n_bank, n_components + 1) float64 their embedding (`transform`).

    >>> from plgl.generators import get
    >>> embedding = ContentEmbedding.of(get("melodies"), n_bank=64, n_components=4)
    >>> embedding.features.shape, round(float((embedding.features[:, :4] ** 2).sum(1).mean()), 6)
    ((64, 5), 1.0)
    """

    def __init__(
        self,
        generator: Generator,
        n_bank: int = 4096,
        n_components: int = 32,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if not has_perceptual(generator):
            raise InvalidInputError(f"{generator.name} has no perceptual map to embed content by")
        for name, value, low in (("n_bank", n_bank, 2), ("n_components", n_components, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidInputError(f"{name} must be an int >= {low}, got {value!r}")
        self.generator = generator
        rng = np.random.default_rng(_SEED)
        self.latents = generator.project(generator.sample(n_bank, rng))
        shipped = shipped_path(generator, n_bank, n_components)
        path = None if cache_dir is None else Path(cache_dir) / shipped.name
        found = next((p for p in (shipped, path) if p is not None and p.is_file()), None)
        if found is not None:
            with np.load(found, allow_pickle=False) as saved:
                self.mean = np.asarray(saved["mean"], dtype=np.float64)
                self.components = np.asarray(saved["components"], dtype=np.float64)
                self.features = np.asarray(saved["features"], dtype=np.float64)
        else:
            maps = self.maps(self.latents)
            self.mean = maps.mean(axis=0)
            _, values, rows = np.linalg.svd(maps - self.mean, full_matrices=False)
            k = min(n_components, len(values))
            # One scale for all components: the bank's mean squared norm is 1.
            scale = np.sqrt(float((values[:k] ** 2).sum()) / n_bank)
            self.components = rows[:k] / max(scale, 1e-12)  # (k, m)
            self.features = self._embed(maps, None)
        squared = (self.features[:, :-1] ** 2).sum(axis=1)
        self._norm = (float(squared.mean()), float(max(squared.std(), 1e-12)))
        if found is None and path is not None:
            save(self, path)

    @classmethod
    def of(
        cls,
        generator: Generator,
        n_bank: int = 4096,
        n_components: int = 32,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> ContentEmbedding:
        """The embedding of `generator` for these settings, made once per generator object
        (kept on it, like `Generator.feature_sample`)."""
        held: dict[tuple[int, int], ContentEmbedding] = generator.__dict__.setdefault(
            "_content_embeddings", {}
        )
        key = (n_bank, n_components)
        if key not in held:
            held[key] = cls(generator, n_bank, n_components, cache_dir)
        return held[key]

    @property
    def width(self) -> int:
        """Features per item: the components and the squared norm."""
        return len(self.components) + 1

    def maps(self, latents: np.ndarray) -> np.ndarray:
        """(n, m) float64 perceptual maps of latents (n, d), no gradient."""
        parts = []
        with torch.no_grad():
            for first in range(0, len(latents), _CHUNK):
                chunk = torch.as_tensor(latents[first : first + _CHUNK], dtype=torch.float32)
                parts.append(self.generator.perceptual(chunk).double().numpy())
        width = self.mean.shape[0] if hasattr(self, "mean") else 0
        return np.vstack(parts) if parts else np.empty((0, width))

    def positions(self, keys: set[bytes]) -> np.ndarray:
        """(m,) bank positions of the latents whose float64 bytes are `keys` (others ignored)."""
        index = self._index()
        return np.array([index[key] for key in keys if key in index], dtype=int)

    def lookup(self, latents: np.ndarray) -> np.ndarray:
        """(n, width) `transform` of latents (n, d), read from the bank for its own items."""
        index = self._index()
        rows = np.ascontiguousarray(latents, dtype=np.float64)
        found = [index.get(row.tobytes(), -1) for row in rows]
        out = np.empty((len(rows), self.width))
        known = np.array([i >= 0 for i in found], dtype=bool)
        out[known] = self.features[[i for i in found if i >= 0]]
        if not known.all():
            out[~known] = self.transform(rows[~known])
        return out

    def transform(self, latents: np.ndarray) -> np.ndarray:
        """(n, width) the embedding of latents (n, d): components, then the squared norm."""
        return self._embed(self.maps(latents), self._norm)

    def torch_transform(self, latents: torch.Tensor) -> torch.Tensor:
        """`transform` of latents (n, d), differentiable through the perceptual map."""
        mean = torch.as_tensor(self.mean, dtype=latents.dtype)
        components = torch.as_tensor(self.components, dtype=latents.dtype)
        coords = (self.generator.perceptual(latents).to(latents.dtype) - mean) @ components.T
        squared = (coords**2).sum(dim=1, keepdim=True)
        return torch.cat([coords, (squared - self._norm[0]) / self._norm[1]], dim=1)

    def _index(self) -> dict[bytes, int]:
        """Bank position by latent bytes (made once)."""
        index: dict[bytes, int] | None = self.__dict__.get("_positions")
        if index is None:
            index = {row.tobytes(): i for i, row in enumerate(self.latents)}
            self._positions = index
        return index

    def _embed(self, maps: np.ndarray, norm: tuple[float, float] | None) -> np.ndarray:
        coords = (maps - self.mean) @ self.components.T
        squared = (coords**2).sum(axis=1)
        if norm is None:  # the bank itself: standardize the squared norm over it
            norm = (float(squared.mean()), float(max(squared.std(), 1e-12)))
        return np.asarray(np.column_stack([coords, (squared - norm[0]) / norm[1]]))


def default_cache_dir() -> Path:
    """$PLGL_CACHE_DIR/content, else $XDG_CACHE_HOME/plgl/content, else ~/.cache/plgl/content."""
    return cache_folder("content")


def shipped_path(generator: Generator, n_bank: int, n_components: int) -> Path:
    """Where the package keeps (or would keep) the embedding of this generator configuration
    (`scripts/compute_content.py` makes it for the built-in domains)."""
    folder = shipped_folder()
    return folder / f"content-{config_digest(generator)}-{n_bank}-{n_components}.npz"


def save(embedding: ContentEmbedding, path: Path) -> None:
    """Write the embedding (its mean, components and bank features, float32) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(
        partial,
        mean=embedding.mean.astype(np.float32),
        components=embedding.components.astype(np.float32),
        features=embedding.features.astype(np.float32),
    )
    partial.replace(path)  # atomic: a reader never sees half a file


__all__ = ["ContentEmbedding", "default_cache_dir", "save", "shipped_path"]
