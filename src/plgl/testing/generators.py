"""The generator contract, as tests every generator must pass (see `plgl.Generator`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plgl.errors import InvalidInputError
from plgl.generators import Generator


class GeneratorConformance:
    """Subclass and override the `generator` fixture."""

    @pytest.fixture
    def generator(self) -> Generator:
        raise NotImplementedError("override the generator fixture")

    def test_declares_itself(self, generator: Generator) -> None:
        assert isinstance(generator.name, str) and generator.name
        assert isinstance(generator.latent_dim, int) and generator.latent_dim >= 1
        assert generator.modality in ("image", "audio", "molecule", "vector")

    def test_samples_have_the_prior_shape_and_are_reproducible(self, generator: Generator) -> None:
        first = generator.sample(7, np.random.default_rng(1))
        again = generator.sample(7, np.random.default_rng(1))
        assert first.shape == (7, generator.latent_dim)
        np.testing.assert_array_equal(first, again)

    def test_generates_one_content_per_latent(self, generator: Generator) -> None:
        latents = generator.sample(5, np.random.default_rng(2))
        contents = generator.generate(latents)
        assert len(contents) == 5
        assert all(content is not None for content in contents)

    def test_generation_is_deterministic_per_latent(self, generator: Generator) -> None:
        latents = generator.sample(3, np.random.default_rng(3))
        batch = generator.generate(latents)
        single = generator.generate(latents[1:2])
        assert _same(batch[1], single[0])

    def test_renders_every_media_type(self, generator: Generator) -> None:
        content = generator.generate(generator.sample(1, np.random.default_rng(5)))[0]
        assert generator.media_types
        for media_type in generator.media_types:
            data = generator.render(content, media_type)
            assert isinstance(data, bytes) and data
        assert generator.render(content) == generator.render(content, generator.media_types[0])
        with pytest.raises(InvalidInputError, match="renders"):
            generator.render(content, "application/x-nothing")

    def test_metadata_and_config_are_json_native(self, generator: Generator) -> None:
        content = generator.generate(generator.sample(1, np.random.default_rng(6)))[0]
        json.dumps(generator.metadata(content))
        config = generator.config()
        assert json.loads(json.dumps(config)) == config
        assert config["name"] == generator.name

    def test_project_lands_on_the_typical_shell(self, generator: Generator) -> None:
        latents = 3.0 * generator.sample(4, np.random.default_rng(4))
        norms = np.linalg.norm(generator.project(latents), axis=1)
        np.testing.assert_allclose(norms, np.sqrt(generator.latent_dim))


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return bool(np.allclose(a, np.asarray(b)))
    return a == b
