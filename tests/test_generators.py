import numpy as np
import pytest

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.testing import GeneratorConformance


class TestIdentity(GeneratorConformance):
    @pytest.fixture
    def generator(self) -> Generator:
        return plgl.generators.get("identity", latent_dim=5)


def test_identity_content_is_the_latent() -> None:
    gen = plgl.generators.get("identity", latent_dim=3)
    latents = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(np.array(gen.generate(latents)), latents)


def test_unknown_generator_names_the_choices() -> None:
    with pytest.raises(InvalidInputError, match="identity"):
        plgl.generators.get("nope")


@pytest.mark.parametrize("dim", [0, -1, 2.5, True])
def test_identity_rejects_bad_dims(dim: object) -> None:
    with pytest.raises(InvalidInputError, match="latent_dim"):
        plgl.generators.get("identity", latent_dim=dim)
