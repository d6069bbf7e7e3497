"""Shared test helpers."""

import numpy as np

import plgl


def rate(session: plgl.Session, direction: np.ndarray, n: int, batch: int = 10) -> None:
    """Noiseless user: likes items on the positive side of `direction`."""
    while session.n_ratings < n:
        for item in session.ask(batch):
            session.tell(item.id, "like" if item.latent @ direction > 0 else "dislike")
