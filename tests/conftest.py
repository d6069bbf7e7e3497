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
