"""Pre-marked negatives: what must never be shown, and the filter that guarantees it.

The marked region is the union of balls of `radius` around the negative latents, and every
latent whose content the `predicate` flags. Every item served by `ask`, `recommend` and
`reverse` passes `unsafe_mask` first, so none lies in the region by construction. The negative
latents also enter every user's training set as dislikes, so models learn to steer away.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError


class Safety:
    """The never-show region.

    Args:
        negatives: (k, latent_dim) marked latents; None for none.
        predicate: content -> True when the content must not be shown; None for none.
        radius: size of the ball around each negative; None gives 0.25 * sqrt(2 * latent_dim),
            a quarter of the typical distance between two prior samples.

    >>> safety = Safety(negatives=np.zeros((1, 2)), radius=1.0)
    >>> safety.unsafe_mask(np.array([[0.5, 0.0], [2.0, 0.0]])).tolist()
    [True, False]
    """

    def __init__(
        self,
        negatives: Any = None,
        predicate: Callable[[Any], bool] | None = None,
        radius: float | None = None,
    ) -> None:
        self.negatives = _check_negatives(negatives)
        if predicate is not None and not callable(predicate):
            raise InvalidInputError("predicate must be a callable: content -> bool")
        if radius is not None and not (math.isfinite(radius) and radius >= 0):
            raise InvalidInputError(f"radius must be finite and >= 0, got {radius}")
        self.predicate = predicate
        self.radius = radius

    @property
    def needs_content(self) -> bool:
        """Whether checking a latent requires generating its content."""
        return self.predicate is not None

    def check_dim(self, latent_dim: int) -> None:
        if len(self.negatives) and self.negatives.shape[1] != latent_dim:
            raise InvalidInputError(
                f"negatives have {self.negatives.shape[1]} columns; the generator's latent_dim "
                f"is {latent_dim}"
            )

    def ball_radius(self, latent_dim: int) -> float:
        return self.radius if self.radius is not None else 0.25 * math.sqrt(2 * latent_dim)

    def unsafe_latents_mask(self, latents: np.ndarray) -> np.ndarray:
        """(n,) bool: True for each latent (n, d) inside a ball around a marked negative.

        The part of the check that needs no content, so it can screen many latents (a whole
        candidate pool) before any of them is generated; `unsafe_mask` adds the predicate.
        """
        mask = np.zeros(len(latents), dtype=bool)
        if len(self.negatives):
            radius = self.ball_radius(latents.shape[1])
            sq = (
                np.sum(latents**2, axis=1)[:, None]
                - 2 * latents @ self.negatives.T
                + np.sum(self.negatives**2, axis=1)[None, :]
            )
            # Rounding in the expansion above can hide a point on the boundary: widen by a hair.
            mask |= np.min(sq, axis=1) <= radius**2 * (1 + 1e-9) + 1e-9
        return mask

    def unsafe_mask(self, latents: np.ndarray, contents: Sequence[Any] | None = None) -> np.ndarray:
        """(n,) bool: True for each latent (n, d) that lies in the marked region: inside a ball
        (`unsafe_latents_mask`) or, with a predicate, whose content (n of them) it flags."""
        mask = self.unsafe_latents_mask(latents)
        if self.predicate is not None:
            if contents is None:
                raise InvalidInputError("this safety check needs the content of every latent")
            mask |= np.array([bool(self.predicate(c)) for c in contents], dtype=bool)
        return mask


def _check_negatives(negatives: Any) -> np.ndarray:
    if negatives is None:
        return np.empty((0, 0))
    array = np.asarray(negatives, dtype=np.float64)
    if array.ndim != 2 or not np.all(np.isfinite(array)):
        raise InvalidInputError(
            f"negatives must be a finite (k, latent_dim) array, got shape {array.shape}"
        )
    return array
