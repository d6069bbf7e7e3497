"""A real generator whose content is the latent vector itself."""

from __future__ import annotations

import numpy as np

from plgl.errors import InvalidInputError
from plgl.generators._base import Generator


class IdentityGenerator(Generator):
    """Content = latent. Used where the question is the learning, not the pictures.

    >>> gen = IdentityGenerator(latent_dim=3)
    >>> gen.generate(np.ones((1, 3)))[0].tolist()
    [1.0, 1.0, 1.0]
    """

    name = "identity"
    modality = "vector"

    def __init__(self, latent_dim: int = 16) -> None:
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise InvalidInputError(f"latent_dim must be a positive int, got {latent_dim!r}")
        self.latent_dim = latent_dim

    def generate(self, latents: np.ndarray) -> list[np.ndarray]:
        return [row.copy() for row in np.asarray(latents, dtype=np.float64)]
