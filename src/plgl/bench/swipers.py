"""Simulated swipers whose taste is a smooth function of the content itself (not of the latent,
and not one of a generator's named traits): how a real person's taste relates to a feed.

Each kind draws a hidden taste from its seed:

* faces
  - "blur-linear": a random smooth weight map applied to the blurred RGB image (likes some
    colours in some places: a dark background, a warm left cheek, ...).
  - "target": closeness of the 8x8 thumbnail to that of one target face (a face the user has
    in mind; by construction one the generator makes).
  - "random-features": a random direction in a fixed random-convolution embedding of the image
    (edges and textures pooled over a 4x4 grid: what a small untrained vision network sees).
* melodies (`plgl.bench.melody_swipers`)
  - "roll-linear": a smooth random weight over (time, pitch) of the sounding piano roll.
  - "target": closeness of the smoothed piano roll to that of one target melody.
  - "qualities": no piano roll: fit to a drawn key plus closeness of the share of stepwise
    motion, the range and the note density to a drawn profile.
* molecules
  - "fingerprint": a random direction in Morgan count-fingerprint space (likes some
    substructures, dislikes others).
  - "target": Tanimoto similarity (Morgan bits) to one target molecule.
  - "profile": a smooth desirability of RDKit descriptors, no fingerprint at all: drug-likeness
    (QED) plus closeness of Crippen logP, polar surface area and weight to a profile drawn from
    the seed (a medicinal chemist's "drug-like, logP near 2.5, TPSA near 70, about 350 Da";
    desirability functions after Derringer & Suich, 1980).

The answer noise is `SimulatedUser`'s (a like with probability sigmoid((s - threshold) /
noise), s the utility standardized over prior samples). The benchmark's metric, `normalized`,
is (u - mean over prior samples) / (best of the prior samples - mean): 0 for a random item,
1 for the best of `n_prior` (4,000 by default) random items; a recommendation can exceed 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from plgl.bench import melody_swipers
from plgl.bench.users import SimulatedUser, clip_to_ball
from plgl.errors import InvalidInputError
from plgl.generators import Generator

KINDS: dict[str, tuple[str, ...]] = {
    "faces": ("blur-linear", "target", "random-features"),
    "melodies": melody_swipers.KINDS,
    "molecules": ("fingerprint", "target", "profile"),
}
"""The kinds of swiper of each domain."""

Taste = Callable[[list[Any]], np.ndarray]


class ContentSwiper(SimulatedUser):
    """A simulated user with a taste `taste(contents) -> (n,)` over the generator's content.

    Args:
        generator: makes the content rated.
        taste: utility of each piece of content, higher is better.
        seed: draws the prior sample behind the normalization.
        noise, threshold: the answer model of `SimulatedUser`.
        n_prior: prior samples behind the normalization (mean and best).
        prior_values: (m,) the taste of m prior samples measured already (shared by many
            swipers): the normalization's, and nothing is decoded; None: `n_prior` are drawn.
    """

    def __init__(
        self,
        generator: Generator,
        taste: Taste,
        seed: int = 0,
        noise: float = 0.25,
        threshold: float = 0.5,
        n_prior: int = 4000,
        prior_values: np.ndarray | None = None,
    ) -> None:
        # SimulatedUser's own initialization measures 50,000 prior samples: too many to decode.
        if not np.isfinite(noise) or noise < 0 or not np.isfinite(threshold):
            raise InvalidInputError("noise must be finite and >= 0, threshold finite")
        if n_prior < 2:
            raise InvalidInputError(f"n_prior must be >= 2, got {n_prior}")
        self.generator = generator
        self.taste = taste
        self.target_latent: np.ndarray | None = None  # (d,) the target of a "target" kind
        self.d = generator.latent_dim
        self.noise = noise
        self.threshold = threshold
        if prior_values is None:
            prior = clip_to_ball(
                np.random.default_rng(30_000 + seed).standard_normal((n_prior, self.d))
            )
            prior_values = self.utility(prior)
        values = np.asarray(prior_values, dtype=np.float64)
        if values.ndim != 1 or len(values) < 2 or not np.all(np.isfinite(values)):
            raise InvalidInputError("prior_values must be a finite (m,) array with m >= 2")
        self.prior_mean = float(values.mean())
        self.prior_std = float(max(values.std(), 1e-12))
        self._best = float(values.max())

    def _init_taste(self, rng: np.random.Generator) -> None:  # the taste is given
        return None

    def utility(self, latents: np.ndarray) -> np.ndarray:
        """(n,) the taste of the content made from latents (n, d)."""
        contents: list[Any] = []
        for first in range(0, len(latents), 512):
            contents += self.generator.generate(np.asarray(latents[first : first + 512]))
        return np.asarray(self.taste(contents), dtype=np.float64)

    @property
    def best_utility(self) -> float:
        return self._best


def swiper(
    domain: str, kind: str, generator: Generator, seed: int = 0, **options: Any
) -> ContentSwiper:
    """A swiper of `kind` (see KINDS) on `domain`'s generator, its taste drawn from `seed`.

    >>> from plgl.generators import get
    >>> user = swiper("faces", "target", get("faces"), seed=1, n_prior=50)
    >>> float(user.normalized(user.target_latent[None])[0]) > 1.0
    True
    """
    if kind not in KINDS.get(domain, ()):
        raise InvalidInputError(
            f"no swiper {kind!r} for {domain!r}: expected one of "
            + ", ".join(f"{d}/{k}" for d, ks in KINDS.items() for k in ks)
        )
    rng = np.random.default_rng([7_000, seed, KINDS[domain].index(kind)])
    target = generator.project(generator.sample(1, rng))
    if domain == "faces":
        taste = _face_taste(kind, rng, generator.generate(target)[0])
    elif domain == "melodies":
        taste = melody_swipers.melody_taste(kind, rng, generator.generate(target)[0])
    else:
        taste = _molecule_taste(kind, rng, generator.generate(target)[0])
    user = ContentSwiper(generator, taste, seed=seed, **options)
    user.target_latent = target[0]
    return user


# ----------------------------------------------------------------------------------- faces
def _images(contents: Sequence[Any]) -> torch.Tensor:
    """(n, 3, 64, 64) float32 in [0, 1] from uint8 (64, 64, 3) faces."""
    batch = np.stack([np.asarray(c) for c in contents]).astype(np.float32) / 255.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2)


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (n, c, h, w) images, `sigma` in pixels, reflected edges."""
    radius = int(3 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    c = images.shape[1]
    pad = torch.nn.functional.pad(images, (radius, radius, radius, radius), mode="reflect")
    rows = torch.nn.functional.conv2d(pad, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return torch.nn.functional.conv2d(rows, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _face_taste(kind: str, rng: np.random.Generator, target: np.ndarray) -> Taste:
    if kind == "blur-linear":
        noise = torch.from_numpy(rng.standard_normal((1, 3, 64, 64)).astype(np.float32))
        weights = _blur(noise, 8.0)[0]
        weights /= weights.norm()

        def linear(contents: list[Any]) -> np.ndarray:
            return (_blur(_images(contents), 2.0) * weights).sum(dim=(1, 2, 3)).numpy()

        return linear
    if kind == "target":
        goal = torch.nn.functional.avg_pool2d(_images([target]), 8).flatten()

        def closeness(contents: list[Any]) -> np.ndarray:
            thumbs = torch.nn.functional.avg_pool2d(_images(contents), 8).flatten(1)
            return (-((thumbs - goal) ** 2).sum(dim=1)).numpy()

        return closeness
    return random_features(conv_filters(rng), rng.standard_normal(16 * 16))


def conv_filters(rng: np.random.Generator) -> torch.Tensor:
    """(16, 3, 5, 5) random zero-mean filters: edges and textures, not brightness."""
    filters = torch.from_numpy(rng.standard_normal((16, 3, 5, 5)).astype(np.float32))
    return filters - filters.mean(dim=(1, 2, 3), keepdim=True)


def conv_embedding(contents: Sequence[Any], filters: torch.Tensor) -> np.ndarray:
    """(n, 256) the faces seen by a small untrained vision network: the rectified responses
    to `filters` (16, 3, 5, 5), pooled over a 4x4 grid."""
    maps = torch.relu(torch.nn.functional.conv2d(_images(contents), filters, stride=2))
    return np.asarray(torch.nn.functional.adaptive_avg_pool2d(maps, 4).flatten(1).double())


def random_features(filters: torch.Tensor, direction: np.ndarray) -> Taste:
    """The "random-features" taste: `direction` (256,) in the embedding of `filters`."""

    def embedded(contents: list[Any]) -> np.ndarray:
        return np.asarray(conv_embedding(contents, filters) @ direction)

    return embedded


# ------------------------------------------------------------------------------- molecules
def _fingerprints(contents: Sequence[Any], counts: bool) -> np.ndarray:
    """(n, 1024) Morgan (radius 2) fingerprints of molecules: counts, or bits."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    morgan = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    rows = []
    for molecule in contents:
        mol = Chem.MolFromSmiles(molecule.smiles)
        fp = morgan.GetCountFingerprintAsNumPy(mol) if counts else morgan.GetFingerprintAsNumPy(mol)
        rows.append(np.asarray(fp, dtype=np.float64))
    return np.array(rows).reshape(len(rows), 1024)


PROFILE_RANGES = {"logp": (1.0, 4.0), "tpsa": (40.0, 110.0), "weight": (250.0, 420.0)}
"""Where a "profile" swiper's preferred logP, TPSA (square angstroms) and weight (daltons) are
drawn from (uniformly): the drug-like ranges of Lipinski's and Veber's rules."""
PROFILE_WIDTHS = {"logp": 1.0, "tpsa": 25.0, "weight": 60.0}
"""How far from the preferred value a descriptor may be before its desirability falls to
exp(-1/2) of its best."""


def _profile_taste(rng: np.random.Generator) -> Taste:
    """QED plus a Gaussian desirability of logP, TPSA and weight around a drawn profile."""
    from plgl.generators.molecules import PROPERTIES, properties

    columns = [PROPERTIES.index(name) for name in PROFILE_RANGES]
    goal = np.array([rng.uniform(*bounds) for bounds in PROFILE_RANGES.values()])
    width = np.array(list(PROFILE_WIDTHS.values()))
    qed = PROPERTIES.index("qed")

    def desirability(contents: list[Any]) -> np.ndarray:
        values = np.array([properties(c.smiles) for c in contents], dtype=np.float64)
        values = values.reshape(len(contents), len(PROPERTIES))
        close = np.exp(-0.5 * (((values[:, columns] - goal) / width) ** 2).sum(axis=1))
        return np.asarray(values[:, qed] + close)

    return desirability


def _molecule_taste(kind: str, rng: np.random.Generator, target: Any) -> Taste:
    if kind == "profile":
        return _profile_taste(rng)
    if kind == "fingerprint":
        direction = rng.standard_normal(1024)

        def linear(contents: list[Any]) -> np.ndarray:
            return np.asarray(np.sqrt(_fingerprints(contents, True)) @ direction)

        return linear
    goal = _fingerprints([target], False)[0]

    def tanimoto(contents: list[Any]) -> np.ndarray:
        bits = _fingerprints(contents, False)
        shared = bits @ goal
        return np.asarray(shared / np.maximum(bits.sum(axis=1) + goal.sum() - shared, 1.0))

    return tanimoto
