"""The geometry of a generator's latent space: the pull-back metric of its perceptual map.

A user can only prefer what they can see. If a taste is (locally) a linear functional of what
the content looks like, u(z) ~ a . p(z) with p the generator's `perceptual` map, then its
gradient in the latent is w = J(z)^T a; with a isotropic, E[w w^T] is proportional to the
pull-back metric

    G = E_z[J(z)^T J(z)],    J(z) = dp/dz (m, d),  z ~ N(0, I),

so G is the natural prior covariance of a taste vector over latents: much weight on directions
that change the content a lot, little on those that barely change it. Wang & Ponce ("The
geometry of deep generative image models and its applications", ICLR 2021) found such metrics
of GAN latent spaces highly anisotropic (a few eigen-directions carry most of the change), and
searches in their top eigenspace far faster.

G is computed once per generator configuration (a few hundred prior samples, forward-mode
autodiff), cached on disk keyed by the generator's `config()` digest, and shipped for the
built-in domains (`plgl/weights/geometry-<digest>.npy`, made by scripts/compute_geometry.py).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from plgl.errors import InvalidInputError
from plgl.generators._base import (
    Generator,
    cache_folder,
    config_digest,
    has_perceptual,
    shipped_folder,
)

SAMPLES = 256
"""Prior samples behind a metric (its relative error is a few percent at this count)."""
SEED = 0
_CHUNK = 16  # latents per forward-mode pass: bounds memory (chunk x m x d Jacobian)


def pullback_metric(generator: Generator, n_samples: int = SAMPLES, seed: int = SEED) -> np.ndarray:
    """(d, d) float64 E[J^T J] of `generator.perceptual` over `n_samples` prior latents on the
    shell (drawn with `seed`).

    Each chunk of latents Z gets its Jacobians in one forward-mode pass: the map x -> p(Z + x)
    with one shared shift x (d,) has, row by row, the Jacobian of each latent (rows of a batch
    do not interact in a generator's forward pass).

    >>> from plgl.generators import IdentityGenerator
    >>> pullback_metric(IdentityGenerator(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    plgl.errors.InvalidInputError: identity has no differentiable perceptual map ...
    """
    if not has_perceptual(generator):
        raise InvalidInputError(
            f"{generator.name} has no differentiable perceptual map (Generator.perceptual)"
        )
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise InvalidInputError(f"n_samples must be a positive int, got {n_samples!r}")
    d = generator.latent_dim
    latents = generator.project(generator.sample(n_samples, np.random.default_rng(seed)))
    total = np.zeros((d, d))
    for first in range(0, n_samples, _CHUNK):
        chunk = torch.as_tensor(latents[first : first + _CHUNK], dtype=torch.float32)

        def shifted(shift: torch.Tensor, chunk: torch.Tensor = chunk) -> torch.Tensor:
            return generator.perceptual(chunk + shift)

        with warnings.catch_warnings():
            # torch.func's first forward-mode call scripts its decompositions with the
            # deprecated torch.jit.script; the warning is torch's own, about torch's code.
            warnings.filterwarnings("ignore", "`torch.jit.script`", DeprecationWarning)
            jac = torch.func.jacfwd(shifted)(torch.zeros(d)).detach().double()  # (n, m, d)
        total += torch.einsum("nmi,nmj->ij", jac, jac).numpy()
    metric = 0.5 * (total + total.T) / n_samples
    if not np.all(np.isfinite(metric)):
        raise InvalidInputError(f"{generator.name}'s perceptual map has non-finite Jacobians")
    return metric


def shipped_path(generator: Generator) -> Path:
    """Where the package keeps (or would keep) the metric of this generator configuration."""
    folder = shipped_folder()
    return folder / f"geometry-{config_digest(generator)}.npy"


def default_cache_dir() -> Path:
    """$PLGL_CACHE_DIR/geometry, else $XDG_CACHE_HOME/plgl/geometry, else ~/.cache/plgl/..."""
    return cache_folder("geometry")


def generator_metric(
    generator: Generator, cache_dir: str | os.PathLike[str] | None = None, *, compute: bool = True
) -> np.ndarray | None:
    """(d, d) the generator's pull-back metric, or None where it has no perceptual map.

    Looked up in the package (shipped for the built-in domains), then in `cache_dir` (None:
    `default_cache_dir()`), both keyed by the `config()` digest; otherwise computed (a few
    seconds to minutes on a CPU) and saved there, unless `compute` is False (then None).
    """
    if not has_perceptual(generator):
        return None
    d = generator.latent_dim
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    for path in (shipped_path(generator), folder / shipped_path(generator).name):
        if path.is_file():
            metric = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
            if metric.shape == (d, d) and np.all(np.isfinite(metric)):
                return metric
    if not compute:
        return None
    metric = pullback_metric(generator)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / shipped_path(generator).name
    partial = target.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(partial, metric.astype(np.float32), allow_pickle=False)
    partial.replace(target)  # atomic: a reader never sees half a file
    return metric
