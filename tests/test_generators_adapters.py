"""Adapters: any torch decoder (TorchGenerator) and a Stable Diffusion pipeline (diffusers)."""

import io
import os
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import Generator, TorchGenerator
from plgl.generators._base import has_torch_features
from plgl.testing import GeneratorConformance

# Nothing in these tests may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"


def image_decoder(latent_dim: int = 6, seed: int = 0) -> nn.Module:
    """A tiny randomly initialized decoder: (n, latent_dim) -> (n, 3, 8, 8) in [-1, 1]."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(latent_dim, 3 * 4 * 4),
        nn.Unflatten(1, (3, 4, 4)),
        nn.ConvTranspose2d(3, 3, kernel_size=2, stride=2),
        nn.Tanh(),
    )


def mean_rgb(images: torch.Tensor) -> torch.Tensor:
    """(n, 3) mean of each channel of images (n, 3, H, W)."""
    return images.mean(dim=(2, 3))


class TestTorchImages(GeneratorConformance):
    @pytest.fixture
    def generator(self) -> Generator:
        return TorchGenerator(
            image_decoder(),
            6,
            name="tiny-images",
            feature_fn=mean_rgb,
            feature_names=("red", "green", "blue"),
            batch_size=16,
        )


class TestTorchVectors(GeneratorConformance):
    @pytest.fixture
    def generator(self) -> Generator:
        torch.manual_seed(1)
        return TorchGenerator(nn.Linear(4, 5), 4, name="tiny-vectors", modality="vector")


class TestTorchAudio(GeneratorConformance):
    @pytest.fixture
    def generator(self) -> Generator:
        torch.manual_seed(2)
        module = nn.Sequential(nn.Linear(3, 400), nn.Tanh())
        return TorchGenerator(module, 3, name="tiny-audio", modality="audio", sample_rate=8000)


def test_torch_generator_is_exported() -> None:
    assert plgl.generators.TorchGenerator is TorchGenerator
    assert "TorchGenerator" in plgl.generators.__all__


def test_content_is_the_module_output() -> None:
    module = image_decoder()
    gen = TorchGenerator(module, 6)
    latents = np.random.default_rng(0).standard_normal((3, 6))
    expected = module(torch.tensor(latents, dtype=torch.float32)).detach().numpy()
    contents = gen.generate(latents)
    assert all(c.dtype == np.float32 for c in contents)
    np.testing.assert_allclose(np.stack(contents), expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("output_range", "value", "pixel"), [((-1.0, 1.0), 0.0, 128), ((0, 1), 1.0, 255)]
)
def test_png_maps_the_output_range_onto_pixels(
    output_range: tuple[float, float], value: float, pixel: int
) -> None:
    class Constant(nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.full((len(z), 1, 2, 3), value)

    gen = TorchGenerator(Constant(), 2, output_range=output_range)
    image = Image.open(io.BytesIO(gen.render(gen.generate(np.zeros((1, 2)))[0])))
    assert image.size == (3, 2) and image.mode == "L"
    assert set(np.asarray(image).ravel().tolist()) == {pixel}


def test_vectors_render_as_identity_bar_charts() -> None:
    gen = TorchGenerator(nn.Identity(), 3, modality="vector")
    content = gen.generate(np.array([[1.0, -2.0, 0.5]]))[0]
    assert gen.render(content) == plgl.generators.get("identity", latent_dim=3).render(content)


def test_audio_renders_a_playable_wav() -> None:
    gen = TorchGenerator(nn.Sequential(nn.Linear(2, 100), nn.Tanh()), 2, modality="audio")
    data = gen.render(gen.generate(np.ones((1, 2)))[0])
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getnframes()) == (1, 2, 100)


def test_decode_is_differentiable_and_features_agree() -> None:
    gen = TorchGenerator(image_decoder(), 6, feature_fn=mean_rgb, feature_names=("r", "g", "b"))
    assert has_torch_features(gen)
    latents = torch.zeros((2, 6), dtype=torch.float64, requires_grad=True)
    gen.torch_features(latents).sum().backward()
    assert latents.grad is not None and float(latents.grad.abs().sum()) > 0
    values = gen.torch_features(torch.ones((1, 6), dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(values, gen.features(gen.generate(np.ones((1, 6)))), rtol=1e-5)


def test_without_feature_fn_there_are_no_features() -> None:
    gen = TorchGenerator(image_decoder(), 6)
    with pytest.raises(InvalidInputError, match="features"):
        gen.features(gen.generate(np.zeros((1, 6))))
    with pytest.raises(InvalidInputError, match="differentiable"):
        gen.torch_features(torch.zeros((1, 6)))


def test_config_follows_the_weights() -> None:
    first = TorchGenerator(image_decoder(seed=0), 6).config()
    assert TorchGenerator(image_decoder(seed=0), 6).config() == first
    assert TorchGenerator(image_decoder(seed=1), 6).config() != first


@pytest.mark.parametrize(
    ("args", "options", "match"),
    [
        (("not a module", 2), {}, "nn.Module"),
        ((nn.Identity(), 0), {}, "latent_dim"),
        ((nn.Identity(), 2), {"modality": "smell"}, "modality"),
        ((nn.Identity(), 2), {"output_range": (1.0, -1.0)}, "output_range"),
        ((nn.Identity(), 2), {"feature_fn": mean_rgb}, "feature_fn"),
        ((nn.Identity(), 2), {"name": ""}, "name"),
        ((nn.Identity(), 2), {"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_construction_is_refused(
    args: tuple[Any, ...], options: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        TorchGenerator(*args, **options)


def test_bad_latents_and_content_are_refused() -> None:
    gen = TorchGenerator(image_decoder(), 6)
    with pytest.raises(InvalidInputError, match="shape"):
        gen.generate(np.zeros((2, 5)))
    with pytest.raises(InvalidInputError, match="NaN"):
        gen.generate(np.full((1, 6), np.nan))
    with pytest.raises(InvalidInputError, match="latents"):
        gen.decode(torch.zeros((2, 5)))
    with pytest.raises(InvalidInputError, match="C, H, W"):
        gen.render(np.zeros((2, 8, 8), dtype=np.float32))
    wrong = TorchGenerator(
        image_decoder(), 6, feature_fn=lambda x: x.flatten(1), feature_names=("a",)
    )
    with pytest.raises(InvalidInputError, match="feature_fn returned"):
        wrong.features(wrong.generate(np.zeros((1, 6))))


# --- diffusers: a tiny, randomly initialized Stable Diffusion pipeline, built here ---


@pytest.fixture(scope="module")
def pipeline() -> Any:
    diffusers = pytest.importorskip("diffusers", reason="the diffusers extra is not installed")
    transformers = pytest.importorskip("transformers", reason="the diffusers extra needs it")
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=2,
        norm_num_groups=4,
    )
    vae = diffusers.AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=16,
    )
    text_config = transformers.CLIPTextConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=8,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
    )
    # DDIM with eta 0 is deterministic; the settings silence its outdated-config warnings.
    scheduler = diffusers.DDIMScheduler(num_train_timesteps=100, steps_offset=1, clip_sample=False)
    pipe = diffusers.StableDiffusionPipeline(
        vae=vae,
        text_encoder=transformers.CLIPTextModel(text_config),
        tokenizer=None,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def embeds() -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed prompt embedding (8 tokens x 16) and an unconditional one."""
    rng = torch.Generator().manual_seed(5)
    return torch.randn((8, 16), generator=rng), torch.randn((8, 16), generator=rng)


def diffusion(pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor], **options: Any) -> Any:
    from plgl.generators.diffusers_adapter import DiffusersGenerator

    settings: dict[str, Any] = {
        "prompt_embeds": embeds[0],
        "negative_prompt_embeds": embeds[1],
        "num_inference_steps": 2,
        "guidance_scale": 2.0,
        "batch_size": 32,
    }
    return DiffusersGenerator(pipeline, **(settings | options))


class TestDiffusersLatents(GeneratorConformance):
    @pytest.fixture
    def generator(self, pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor]) -> Generator:
        return diffusion(pipeline, embeds, mode="latents")  # type: ignore[no-any-return]


class TestDiffusersPromptEmbeds(GeneratorConformance):
    @pytest.fixture
    def generator(self, pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor]) -> Generator:
        return diffusion(pipeline, embeds, mode="prompt_embeds", latent_dim=12, scale=2.0)  # type: ignore[no-any-return]


def test_latents_mode_is_the_pipeline_noise(
    pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor]
) -> None:
    gen = diffusion(pipeline, embeds, mode="latents")
    assert gen.latent_dim == 4 * 8 * 8  # (channels, 16 / 2, 16 / 2) for 16x16 images
    z = np.random.default_rng(0).standard_normal((1, gen.latent_dim))
    direct = pipeline(
        prompt_embeds=embeds[0][None],
        negative_prompt_embeds=embeds[1][None],
        latents=torch.tensor(z, dtype=torch.float32).reshape(1, 4, 8, 8),
        num_inference_steps=2,
        guidance_scale=2.0,
        output_type="np",
    ).images[0]
    image = gen.generate(z)[0]
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    np.testing.assert_allclose(image, np.rint(direct * 255), atol=1)
    assert Image.open(io.BytesIO(gen.render(image))).size == (16, 16)


def test_prompt_mode_moves_only_the_embedding(
    pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor]
) -> None:
    still = diffusion(pipeline, embeds, mode="prompt_embeds", latent_dim=12, scale=0.0)
    moved = diffusion(pipeline, embeds, mode="prompt_embeds", latent_dim=12, scale=2.0)
    z = np.random.default_rng(1).standard_normal((2, 12))
    a, b = still.generate(z)
    assert np.array_equal(a, b)  # scale 0: the latent changes nothing, the noise is fixed
    c, d = moved.generate(z)
    assert not np.array_equal(c, d)
    assert still.config() != moved.config()


def test_diffusers_bad_input(pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor]) -> None:
    with pytest.raises(InvalidInputError, match="mode"):
        diffusion(pipeline, embeds, mode="pixels")
    with pytest.raises(InvalidInputError, match="negative_prompt_embeds"):
        diffusion(pipeline, embeds, negative_prompt_embeds=None)
    with pytest.raises(InvalidInputError, match="tokenizer"):
        diffusion(pipeline, embeds, prompt="a cat", prompt_embeds=None)
    with pytest.raises(InvalidInputError, match="exactly one"):
        diffusion(pipeline, embeds, prompt="a cat")
    with pytest.raises(InvalidInputError, match="shape"):
        diffusion(pipeline, embeds, negative_prompt_embeds=torch.zeros((4, 16)))
    with pytest.raises(InvalidInputError, match="multiples"):
        diffusion(pipeline, embeds, height=15)
    with pytest.raises(InvalidInputError, match="Stable Diffusion"):
        diffusion(object(), embeds)
    gen = diffusion(pipeline, embeds)
    with pytest.raises(InvalidInputError, match="shape"):
        gen.generate(np.zeros((1, 3)))


def test_from_pretrained_loads_a_local_folder(
    pipeline: Any, embeds: tuple[torch.Tensor, torch.Tensor], tmp_path: Path
) -> None:
    from plgl.generators.diffusers_adapter import DiffusersGenerator

    pipeline.save_pretrained(tmp_path)
    options = {"prompt_embeds": embeds[0], "guidance_scale": 1.0, "num_inference_steps": 2}
    missing = {"tokenizer": None, "feature_extractor": None}  # the tiny pipeline has none
    loaded = DiffusersGenerator.from_pretrained(tmp_path, pipeline_options=missing, **options)
    original = DiffusersGenerator(pipeline, **options)
    assert loaded.config() == original.config()
    z = original.sample(1, np.random.default_rng(3))
    assert np.array_equal(loaded.generate(z)[0], original.generate(z)[0])


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from plgl.errors import MissingExtraError
    from plgl.generators.diffusers_adapter import DiffusersGenerator

    monkeypatch.setitem(sys.modules, "diffusers", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"plgl\[diffusers\]"):
        DiffusersGenerator.from_pretrained(tmp_path)


def test_a_torch_generator_without_features_has_no_feature_gradient() -> None:
    decoder = nn.Sequential(nn.Linear(4, 6), nn.Tanh())
    assert not has_torch_features(TorchGenerator(decoder, 4, modality="vector"))
