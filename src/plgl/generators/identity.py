"""A real generator whose content is the latent vector itself."""

from __future__ import annotations

from typing import Any

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

    def _render(self, content: np.ndarray, media_type: str) -> bytes:
        """An SVG bar chart of the vector: one bar per coordinate, up for positive values."""
        values = np.clip(np.asarray(content, dtype=np.float64) / 3.0, -1.0, 1.0)
        width = 240 / len(values)
        bars = "".join(
            f'<rect x="{i * width:.2f}" y="{min(60, 60 - 55 * v):.2f}" width="{0.8 * width:.2f}" '
            f'height="{abs(55 * v):.2f}" fill="{"#2a9d8f" if v >= 0 else "#e76f51"}"/>'
            for i, v in enumerate(values)
        )
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 120" role="img">'
            f"<title>a {len(values)}-d latent vector</title>"
            f'<line x1="0" y1="60" x2="240" y2="60" stroke="#999"/>{bars}</svg>'
        ).encode()

    def metadata(self, content: np.ndarray) -> dict[str, Any]:
        return {"vector": [round(float(v), 4) for v in content]}
