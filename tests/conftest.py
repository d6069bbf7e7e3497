import numpy as np
import pytest
import torch

import plgl

torch.set_num_threads(1)


@pytest.fixture
def engine() -> plgl.Engine:
    return plgl.Engine(generator=plgl.generators.get("identity", latent_dim=8), seed=0)


@pytest.fixture
def session(engine: plgl.Engine) -> plgl.Session:
    return engine.session("alice")


def rate(session: plgl.Session, direction: np.ndarray, n: int, batch: int = 10) -> None:
    """Noiseless user: likes items on the positive side of `direction`."""
    while session.n_ratings < n:
        for item in session.ask(batch):
            session.tell(item.id, "like" if item.latent @ direction > 0 else "dislike")
