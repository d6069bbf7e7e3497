"""The generator contract, as tests every generator must pass (see `plgl.Generator`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from plgl.errors import InvalidInputError
from plgl.generators import Generator, has_torch_features


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

    def test_different_latents_give_different_content(self, generator: Generator) -> None:
        contents = generator.generate(generator.sample(8, np.random.default_rng(7)))
        distinct: list[object] = []
        for content in contents:
            if not any(_same(content, seen) for seen in distinct):
                distinct.append(content)
        # A generator may map nearby latents to one piece of content, but not most of the prior.
        assert len(distinct) >= 6, f"8 prior samples gave only {len(distinct)} distinct contents"

    def test_a_batch_of_64_matches_its_rows(self, generator: Generator) -> None:
        latents = generator.sample(64, np.random.default_rng(8))
        batch = generator.generate(latents)
        assert len(batch) == 64
        for i in (0, 63):  # the last row sits past any internal batch boundary below 64
            assert _same(batch[i], generator.generate(latents[i : i + 1])[0])

    def test_config_is_stable(self, generator: Generator) -> None:
        before = generator.config()
        generator.generate(generator.sample(2, np.random.default_rng(9)))
        assert generator.config() == before
        assert before["latent_dim"] == generator.latent_dim

    def test_features_match_feature_names(self, generator: Generator) -> None:
        if not generator.feature_names:
            pytest.skip(f"{generator.name} exposes no content features")
        contents = generator.generate(generator.sample(3, np.random.default_rng(10)))
        features = np.asarray(generator.features(contents))
        assert features.shape == (3, len(generator.feature_names))
        assert np.all(np.isfinite(features))
        assert generator.features(contents[:0]).shape == (0, len(generator.feature_names))

    def test_torch_features_are_differentiable(self, generator: Generator) -> None:
        if not generator.feature_names or not has_torch_features(generator):
            pytest.skip(f"{generator.name} has no differentiable path to its features")
        import torch

        sample = generator.sample(2, np.random.default_rng(11))
        latents = torch.tensor(sample, requires_grad=True)
        values = generator.torch_features(latents)
        assert values.shape == (2, len(generator.feature_names))
        (grad,) = torch.autograd.grad(values.sum(), latents)
        assert bool(torch.isfinite(grad).all())
        # The differentiable path measures the content `generate` makes.
        np.testing.assert_allclose(
            values.detach().numpy(),
            generator.features(generator.generate(sample)),
            rtol=0.05,
            atol=0.05 * (1.0 + np.abs(values.detach().numpy())).max(),
        )


def _same(a: object, b: object) -> bool:
    """Equal content, up to the float rounding that differs between batch sizes."""
    if isinstance(a, np.ndarray):
        b = np.asarray(b)
        if a.shape != b.shape:
            return False
        if np.issubdtype(a.dtype, np.integer):  # e.g. pixels rounded from floats
            diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
            return bool(diff.max(initial=0) <= 1 and np.mean(diff > 0) <= 0.01)
        return bool(np.allclose(a, b, rtol=1e-5, atol=1e-5))
    return a == b
