"""A Stable Diffusion pipeline as a generator, steered through its noise latents or its prompt
embeddings (the `diffusers` extra: `pip install "plgl[diffusers]"`).

mode="latents": the latent vector is the pipeline's initial noise (C, H/f, W/f) flattened; its
    prior is exactly the pipeline's own N(0, I). The prompt is fixed.
mode="prompt_embeds": the latent vector z (latent_dim,) moves the prompt embedding:
    embeds = anchor + scale * std(anchor) * reshape(z @ B), with B a fixed (latent_dim, seq * dim)
    Gaussian matrix with entries of variance 1 / latent_dim (so a prior z moves every entry by
    about scale standard deviations of the anchor). The initial noise is fixed by `seed`.
Either way the same latent gives the same image (use a deterministic scheduler: DDIM, PNDM,
Euler; ancestral schedulers draw fresh noise in every step, from `seed`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import Any

import numpy as np
import torch

from plgl import validation
from plgl.errors import InvalidInputError, MissingExtraError
from plgl.generators._base import Generator
from plgl.generators.torch_module import fingerprint

_MODES = ("latents", "prompt_embeds")
_EXTRA = 'the diffusers adapter needs the "diffusers" extra: pip install "plgl[diffusers]"'


def _require_diffusers() -> Any:
    """The diffusers module, or an error naming the extra that installs it."""
    try:
        import diffusers
        import transformers  # noqa: F401  (Stable Diffusion's text encoder)
    except ImportError as error:
        raise MissingExtraError(f"{_EXTRA} ({error})") from None
    return diffusers


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


class DiffusersGenerator(Generator):
    """Images of a Stable Diffusion (1.x / 2.x style) `pipeline`, steered by latents.

    Args:
        pipeline: a diffusers pipeline whose call accepts `latents=`, `prompt_embeds=` and
            `negative_prompt_embeds=` (StableDiffusionPipeline and its kin).
        mode: "latents" (the initial noise) or "prompt_embeds" (see the module docstring).
        prompt: text for the fixed or anchor embedding (needs the pipeline's tokenizer) ...
        prompt_embeds: ... or the embedding itself, (seq, dim) or (1, seq, dim).
        negative_prompt_embeds: the unconditional embedding for classifier-free guidance;
            required with prompt_embeds when guidance_scale > 1 (with `prompt` it is the
            embedding of "").
        latent_dim: the size of z in "prompt_embeds" mode (in "latents" mode it is C*H/f*W/f).
        scale: in "prompt_embeds" mode, how far a prior z moves the embedding.
        height, width: image size in pixels (None: the UNet's sample size times the VAE factor).
        num_inference_steps, guidance_scale: passed to the pipeline.
        seed: the fixed noise (prompt mode), the projection B, and the scheduler's generator.
        batch_size: images per pipeline call.
        name: the generator's name (part of the cache key).
    """

    modality = "image"
    media_types = ("image/png",)

    def __init__(
        self,
        pipeline: Any,
        *,
        mode: str = "latents",
        prompt: str | None = None,
        prompt_embeds: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        latent_dim: int = 64,
        scale: float = 1.0,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 25,
        guidance_scale: float = 7.5,
        seed: int = 0,
        batch_size: int = 8,
        name: str = "diffusers",
    ) -> None:
        if mode not in _MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
        for attribute in ("unet", "vae_scale_factor", "encode_prompt"):
            if not hasattr(pipeline, attribute):
                raise InvalidInputError(
                    f"pipeline must be a Stable Diffusion-style diffusers pipeline (it has no "
                    f"{attribute!r}), got {type(pipeline).__name__}"
                )
        if (prompt is None) == (prompt_embeds is None):
            raise InvalidInputError("give exactly one of prompt and prompt_embeds")
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"name must be a non-empty string, got {name!r}")
        self.pipeline = pipeline
        self.mode = mode
        self.name = name
        self.num_inference_steps = validation.integer("num_inference_steps", num_inference_steps, 1)
        self.guidance_scale = _finite("guidance_scale", guidance_scale)
        self.seed = validation.integer("seed", seed, 0)
        self.batch_size = validation.integer("batch_size", batch_size, 1)
        self.scale = _finite("scale", scale)
        factor = int(pipeline.vae_scale_factor)
        size = int(pipeline.unet.config.sample_size) * factor
        self.height = validation.integer("height", size if height is None else height, factor)
        self.width = validation.integer("width", size if width is None else width, factor)
        if self.height % factor or self.width % factor:
            raise InvalidInputError(f"height and width must be multiples of {factor}")
        self._noise_shape = (
            int(pipeline.unet.config.in_channels),
            self.height // factor,
            self.width // factor,
        )
        self._embeds, self._negative = self._prompt(prompt, prompt_embeds, negative_prompt_embeds)
        if mode == "latents":
            self.latent_dim = int(np.prod(self._noise_shape))
        else:
            self.latent_dim = validation.integer("latent_dim", latent_dim, 1)
            rng = torch.Generator().manual_seed(self.seed)
            self._noise = torch.randn((1, *self._noise_shape), generator=rng)
            basis = torch.randn((self.latent_dim, self._embeds[0].numel()), generator=rng)
            self._basis = basis / np.sqrt(self.latent_dim)
        self._digest = fingerprint(pipeline.unet, pipeline.vae)

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike[str],
        *,
        pipeline_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> DiffusersGenerator:
        """Load a Stable Diffusion pipeline from a local folder (never the network).

        `pipeline_options` go to `StableDiffusionPipeline.from_pretrained` (for example
        torch_dtype, or a component given as None); `options` to the constructor. Raises
        MissingExtraError without the diffusers extra.
        """
        diffusers = _require_diffusers()
        settings = {"safety_checker": None, "requires_safety_checker": False}
        pipeline = diffusers.StableDiffusionPipeline.from_pretrained(
            os.fspath(path), local_files_only=True, **(settings | (pipeline_options or {}))
        )
        pipeline.set_progress_bar_config(disable=True)
        return cls(pipeline, **options)

    def _prompt(
        self,
        prompt: str | None,
        embeds: torch.Tensor | None,
        negative: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The (1, seq, dim) prompt embedding and, with guidance, the negative one."""
        guided = self.guidance_scale > 1.0
        if prompt is not None:
            if getattr(self.pipeline, "tokenizer", None) is None:
                raise InvalidInputError(
                    "a text prompt needs the pipeline's tokenizer; pass prompt_embeds"
                )
            with torch.no_grad():
                embeds, negative = self.pipeline.encode_prompt(
                    prompt, self.pipeline.device, 1, guided, negative_prompt=""
                )
        embeds = _as_embedding("prompt_embeds", embeds)
        if not guided:
            return embeds, None
        if negative is None:
            raise InvalidInputError(
                "guidance_scale > 1 needs negative_prompt_embeds (the unconditional embedding) "
                "beside prompt_embeds, or guidance_scale <= 1"
            )
        negative = _as_embedding("negative_prompt_embeds", negative)
        if negative.shape != embeds.shape:
            raise InvalidInputError(
                f"negative_prompt_embeds must have the shape {tuple(embeds.shape)} of "
                f"prompt_embeds, got {tuple(negative.shape)}"
            )
        return embeds, negative

    def generate(self, latents: np.ndarray) -> list[np.ndarray]:
        """(height, width, 3) uint8 RGB images, one per row of `latents` (n, latent_dim)."""
        array = validation.latents("latents", latents, self.latent_dim)
        images = []
        for i in range(0, len(array), self.batch_size):
            batch = torch.from_numpy(array[i : i + self.batch_size]).float()
            images.append(self._call(batch))
        pixels = np.rint(np.concatenate(images) * 255.0).clip(0, 255).astype(np.uint8)
        return list(pixels)

    def _call(self, z: torch.Tensor) -> np.ndarray:
        """(b, height, width, 3) float32 images in [0, 1] for latents z (b, latent_dim)."""
        n = len(z)
        embeds = self._embeds.expand(n, -1, -1)
        if self.mode == "latents":
            noise = z.reshape(n, *self._noise_shape)
        else:
            moved = (z @ self._basis).reshape(n, *self._embeds.shape[1:])
            embeds = embeds + self.scale * self._embeds.std() * moved
            noise = self._noise.expand(n, -1, -1, -1)
        unet = self.pipeline.unet
        options: dict[str, Any] = {}
        if self._negative is not None:
            negative = self._negative.expand(n, -1, -1)
            options["negative_prompt_embeds"] = negative.to(unet.device, unet.dtype)
        with torch.no_grad():
            out = self.pipeline(
                prompt_embeds=embeds.to(unet.device, unet.dtype),
                latents=noise.to(unet.device, unet.dtype),
                height=self.height,
                width=self.width,
                num_inference_steps=self.num_inference_steps,
                guidance_scale=self.guidance_scale,
                generator=torch.Generator(unet.device).manual_seed(self.seed),
                output_type="np",
                **options,
            )
        return np.asarray(out.images, dtype=np.float32)

    def _render(self, content: np.ndarray, media_type: str) -> bytes:
        from PIL import Image

        array = np.asarray(content)
        if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise InvalidInputError("diffusers content must be (height, width, 3) uint8 images")
        out = io.BytesIO()
        Image.fromarray(array, mode="RGB").save(out, format="PNG")
        return out.getvalue()

    def metadata(self, content: np.ndarray) -> dict[str, Any]:
        return {"width": self.width, "height": self.height}

    def config(self) -> dict[str, Any]:
        """Everything that decides the image made from a latent, with a hash of the UNet and VAE
        weights and the embeddings (computed once, when the generator is built)."""
        embeds = [self._embeds] + ([] if self._negative is None else [self._negative])
        embed_digest = hashlib.sha256(b"".join(e.cpu().float().numpy().tobytes() for e in embeds))
        settings = {
            "mode": self.mode,
            "scheduler": type(self.pipeline.scheduler).__name__,
            "scheduler_config": _public(self.pipeline.scheduler.config),
            "height": self.height,
            "width": self.width,
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.guidance_scale,
            "seed": self.seed,
            "scale": self.scale,
            "weights_sha256": self._digest,
            "embeddings_sha256": embed_digest.hexdigest()[:16],
        }
        return super().config() | settings


def _public(config: Any) -> dict[str, Any]:
    """A diffusers config as JSON, without its private bookkeeping keys (load path, defaults)."""
    public = {k: v for k, v in dict(config).items() if not str(k).startswith("_")}
    return dict(json.loads(json.dumps(public, default=str)))


def _as_embedding(name: str, value: Any) -> torch.Tensor:
    """A (1, seq, dim) float32 CPU tensor from a (seq, dim) or (1, seq, dim) one."""
    if not isinstance(value, torch.Tensor):
        raise InvalidInputError(f"{name} must be a torch tensor, got {type(value).__name__}")
    tensor = value.detach().float().cpu()
    if tensor.ndim == 2:
        tensor = tensor[None]
    if tensor.ndim != 3 or tensor.shape[0] != 1 or tensor.numel() == 0:
        raise InvalidInputError(
            f"{name} must be (seq, dim) or (1, seq, dim), got {tuple(value.shape)}"
        )
    if not torch.isfinite(tensor).all():
        raise InvalidInputError(f"{name} contains NaN or infinity")
    return tensor
