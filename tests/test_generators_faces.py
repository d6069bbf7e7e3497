import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import plgl
from plgl.errors import InvalidInputError, PlglError
from plgl.generators import Generator
from plgl.generators import faces as faces_module
from plgl.generators._base import has_torch_features
from plgl.testing import GeneratorConformance


@pytest.fixture(scope="module")
def faces() -> Generator:
    return plgl.generators.get("faces")


class TestFaces(GeneratorConformance):
    @pytest.fixture
    def generator(self, faces: Generator) -> Generator:
        return faces


def test_png_decodes_to_a_64x64_rgb_face(faces: Generator) -> None:
    content = faces.generate(faces.sample(1, np.random.default_rng(0)))[0]
    image = Image.open(io.BytesIO(faces.render(content)))
    assert image.format == "PNG" and image.size == (64, 64) and image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), content)


def test_64_faces_come_from_two_forward_passes_of_32(faces: Generator) -> None:
    calls: list[int] = []
    network = faces.network  # type: ignore[attr-defined]
    hook = network.register_forward_hook(lambda module, args, out: calls.append(len(out)))
    try:
        contents = faces.generate(faces.sample(64, np.random.default_rng(1)))
    finally:
        hook.remove()
    assert calls == [32, 32]
    assert len(contents) == 64
    assert all(c.shape == (64, 64, 3) and c.dtype == np.uint8 for c in contents)
    assert len({c.tobytes() for c in contents}) == 64  # different latents, different faces


def test_config_pins_the_weights(faces: Generator) -> None:
    config = faces.config()
    assert config["latent_dim"] == 100 and len(config["weights_sha256"]) == 16


def test_missing_weights_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faces_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(PlglError, match=r"pip install --no-deps gan-face-generate==1\.1\.1"):
        plgl.generators.get("faces")


def test_a_weights_file_that_is_missing_or_no_checkpoint_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not found"):
        plgl.generators.get("faces", weights=tmp_path / "weights.tar")
    (tmp_path / "junk.tar").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="not a torch checkpoint"):
        plgl.generators.get("faces", weights=tmp_path / "junk.tar")
    torch.save({"other": 1}, tmp_path / "other.tar")
    with pytest.raises(InvalidInputError, match="netG_state_dict"):
        plgl.generators.get("faces", weights=tmp_path / "other.tar")


@pytest.mark.parametrize("shape", [(2, 99), (100,), (1, 100, 1)])
def test_bad_latents_are_refused(faces: Generator, shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInputError, match="latents"):
        faces.generate(np.zeros(shape))


def test_non_finite_latents_are_refused(faces: Generator) -> None:
    latents = np.zeros((1, 100))
    latents[0, 3] = np.nan
    with pytest.raises(InvalidInputError, match="finite"):
        faces.generate(latents)


def test_features_measure_what_they_say(faces: Generator) -> None:
    black, white = np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 255, np.uint8)
    red, blue = black.copy(), black.copy()
    red[..., 0], blue[..., 2] = 200, 200
    values = dict(
        zip(faces.feature_names, faces.features([black, white, red, blue]).T, strict=True)
    )
    assert values["brightness"][0] == 0 and values["brightness"][1] == pytest.approx(1)
    assert values["warmth"][2] > 0 > values["warmth"][3]
    assert values["saturation"][2] > 0.9 and values["saturation"][1] == 0
    with pytest.raises(InvalidInputError, match="64, 64, 3"):
        faces.features([np.zeros((8, 8, 3))])


def test_torch_features_match_the_content_and_have_gradients(faces: Generator) -> None:
    latents = faces.sample(3, np.random.default_rng(2))
    z = torch.tensor(latents, requires_grad=True)
    differentiable = faces.torch_features(z)
    np.testing.assert_allclose(
        differentiable.detach().numpy(), faces.features(faces.generate(latents)), atol=5e-3
    )
    differentiable[:, 0].sum().backward()
    assert z.grad is not None and torch.all(torch.isfinite(z.grad)) and z.grad.abs().sum() > 0
    assert has_torch_features(faces)


def test_the_torch_features_hook_is_optional() -> None:
    identity = plgl.generators.get("identity", latent_dim=3)
    assert not has_torch_features(identity)
    with pytest.raises(InvalidInputError, match="differentiable"):
        identity.torch_features(torch.zeros(1, 3))


def test_describe_names_traits_that_really_change_along_the_direction(faces: Generator) -> None:
    rng = np.random.default_rng(3)
    direction = rng.standard_normal(100)
    direction /= np.linalg.norm(direction)
    named = faces.describe(direction)
    assert {name for name, _ in named} == set(faces.feature_names)
    trait, change = named[0]
    index = faces.feature_names.index(trait)
    starts = faces.sample(32, rng)
    before = faces.features(faces.generate(starts))[:, index]
    after = faces.features(faces.generate(starts + 2.0 * direction))[:, index]
    assert np.sign(np.mean(after - before)) == np.sign(change)
