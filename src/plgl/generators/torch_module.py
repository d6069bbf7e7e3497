"""Any torch decoder as a generator: `TorchGenerator(module, latent_dim)`."""

from __future__ import annotations

import hashlib
import io
import itertools
import wave
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from plgl import validation
from plgl.errors import InvalidInputError
from plgl.generators._base import Generator
from plgl.generators._device import OnDevice, full_float32, resolve_device
from plgl.generators.identity import IdentityGenerator

_MEDIA = {"image": "image/png", "vector": "image/svg+xml", "audio": "audio/wav"}


def fingerprint(*modules: nn.Module) -> str:
    """16 hex digits of a SHA-256 over the modules' parameter and buffer names and bytes."""
    digest = hashlib.sha256()
    for module in modules:
        for key, tensor in module.state_dict().items():
            digest.update(key.encode())
            raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
            digest.update(raw.numpy().tobytes())
    return digest.hexdigest()[:16]


class TorchGenerator(OnDevice, Generator):
    """Wrap a torch decoder `module`: latents (n, latent_dim) -> outputs (n, ...).

    Content is one float32 numpy array per latent, the module's output as is. It renders by
    `modality`: "image" outputs (C, H, W) with C in 1, 3, 4 as PNG, "vector" outputs (k,) as an
    SVG bar chart, "audio" outputs (samples,) as 16-bit mono WAV.

    Args:
        module: the decoder; run in eval mode, without gradients, in batches.
        latent_dim: the size of its input; its prior is taken to be N(0, I).
        name: the generator's name (part of the cache key).
        modality: "image", "vector" or "audio".
        output_range: the values the module's outputs span (tanh: (-1, 1), sigmoid: (0, 1));
            mapped onto the full pixel or sample range when rendering.
        feature_fn: optional torch function outputs (n, ...) -> (n, k) traits, differentiable;
            enables `features` and `torch_features` (gradient navigation through the decoder).
        feature_names: the k names of `feature_fn`'s columns.
        batch_size: latents per forward pass.
        sample_rate: audio samples per second.
        device: where the module runs: "cpu", "cuda" or "cuda:N" (the module is moved there);
            None leaves it where it is. Content comes back on the CPU either way.

    >>> decoder = nn.Sequential(nn.Linear(4, 3 * 8 * 8), nn.Tanh(), nn.Unflatten(1, (3, 8, 8)))
    >>> gen = TorchGenerator(decoder, 4)
    >>> gen.generate(gen.sample(2, np.random.default_rng(0)))[0].shape
    (3, 8, 8)
    >>> gen.render(gen.generate(np.zeros((1, 4)))[0])[:4]
    b'\\x89PNG'
    """

    def __init__(
        self,
        module: nn.Module,
        latent_dim: int,
        *,
        name: str = "torch",
        modality: str = "image",
        output_range: tuple[float, float] = (-1.0, 1.0),
        feature_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        feature_names: Sequence[str] = (),
        batch_size: int = 64,
        sample_rate: int = 16_000,
        device: str | None = None,
    ) -> None:
        target = None if device is None else resolve_device(device)
        if not isinstance(module, nn.Module):
            raise InvalidInputError(
                f"module must be a torch.nn.Module, got {type(module).__name__}"
            )
        if modality not in _MEDIA:
            raise InvalidInputError(
                f"modality must be one of {', '.join(_MEDIA)}, got {modality!r}"
            )
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"name must be a non-empty string, got {name!r}")
        low, high = (float(v) for v in output_range)
        if not np.isfinite([low, high]).all() or not low < high:
            raise InvalidInputError(f"output_range must be finite (low, high), got {output_range}")
        if (feature_fn is None) != (len(feature_names) == 0):
            raise InvalidInputError(
                "feature_fn and feature_names go together: give both or neither"
            )
        self.module = module.eval()
        self.latent_dim = validation.integer("latent_dim", latent_dim, 1)
        self.name = name
        self.modality = modality
        self.media_types = (_MEDIA[modality],)
        self.output_range = (low, high)
        self.feature_fn = feature_fn
        self.feature_names = tuple(str(n) for n in feature_names)
        self.batch_size = validation.integer("batch_size", batch_size, 1)
        self.sample_rate = validation.integer("sample_rate", sample_rate, 1)
        self._digest = fingerprint(module)
        if target is not None:
            module.to(target)
        self.device = target if target is not None else _device_of(module)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The module's outputs (n, ...) for latents (n, latent_dim), differentiable: gradients
        flow back to `latents` (the module's parameters stay as they are)."""
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise InvalidInputError(
                f"latents must be an (n, {self.latent_dim}) tensor, got {tuple(latents.shape)}"
            )
        return self._decode(latents).to(latents.device)

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The module's outputs (n, ...), left on `device`."""
        with full_float32(self.device):
            out: torch.Tensor = self.module(self._to_module(latents))
        return out

    def _to_module(self, tensor: torch.Tensor) -> torch.Tensor:
        """`tensor` on `device`, in the module's precision (kept for a parameterless one)."""
        param = next(self.module.parameters(), None)
        return tensor.to(device=self.device, dtype=tensor.dtype if param is None else param.dtype)

    def generate(self, latents: np.ndarray) -> list[np.ndarray]:
        """One float32 array per row of `latents` (n, latent_dim): the module's output."""
        array = validation.latents("latents", latents, self.latent_dim)
        parts = []
        with torch.no_grad():
            for i in range(0, len(array), self.batch_size):
                batch = torch.from_numpy(array[i : i + self.batch_size]).float()
                parts.append(self._decode(batch).detach().cpu().float().numpy())
        return list(np.concatenate(parts))

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        """(n, k) `feature_fn` of the contents, named by `feature_names`."""
        if self.feature_fn is None:
            return super().features(contents)
        if len(contents) == 0:
            return np.empty((0, len(self.feature_names)))
        batch = torch.from_numpy(np.stack([np.asarray(c, dtype=np.float32) for c in contents]))
        with torch.no_grad(), full_float32(self.device):
            values = self._feature_values(self.feature_fn, self._to_module(batch))
        return np.asarray(values.cpu().numpy(), dtype=np.float64)

    def torch_features(self, latents: torch.Tensor) -> torch.Tensor:
        """(n, k) `feature_fn` of the decoded latents (n, latent_dim), differentiable in them."""
        if self.feature_fn is None:
            return super().torch_features(latents)
        with full_float32(self.device):
            values = self._feature_values(self.feature_fn, self._decode(latents))
        return values.to(latents)

    def _feature_values(
        self, feature_fn: Callable[[torch.Tensor], torch.Tensor], outputs: torch.Tensor
    ) -> torch.Tensor:
        values = feature_fn(outputs)
        if values.shape != (len(outputs), len(self.feature_names)):
            raise InvalidInputError(
                f"feature_fn returned shape {tuple(values.shape)}, expected "
                f"({len(outputs)}, {len(self.feature_names)}) for {self.feature_names}"
            )
        return values

    def metadata(self, content: np.ndarray) -> dict[str, Any]:
        return {"shape": list(np.shape(content))}

    def config(self) -> dict[str, Any]:
        """Name, latent size, modality and a hash of the module's weights (taken when the
        generator was built: build a new one after changing the weights)."""
        return super().config() | {
            "modality": self.modality,
            "output_range": list(self.output_range),
            "weights_sha256": self._digest,
        }

    def _unit(self, content: np.ndarray) -> np.ndarray:
        """Content rescaled from `output_range` to [0, 1] (clipped)."""
        low, high = self.output_range
        return np.clip((np.asarray(content, dtype=np.float64) - low) / (high - low), 0.0, 1.0)

    def _render(self, content: np.ndarray, media_type: str) -> bytes:
        array = np.asarray(content)
        if media_type == "image/svg+xml":
            if array.ndim != 1 or len(array) == 0:
                raise InvalidInputError(f"vector content must be 1-D, got shape {array.shape}")
            # Identity's bar chart draws any vector; it is reused, not redrawn here.
            return IdentityGenerator(latent_dim=len(array)).render(array)
        if media_type == "audio/wav":
            if array.ndim != 1:
                raise InvalidInputError(f"audio content must be 1-D samples, got {array.shape}")
            pcm = np.rint((2.0 * self._unit(array) - 1.0) * 32767).astype("<i2")
            out = io.BytesIO()
            with wave.open(out, "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(self.sample_rate)
                wav.writeframes(pcm.tobytes())
            return out.getvalue()
        return _png(np.rint(self._unit(array) * 255.0).astype(np.uint8))


def _device_of(module: nn.Module) -> torch.device:
    """Where `module`'s first parameter or buffer lives (the CPU for one with neither)."""
    tensor = next(itertools.chain(module.parameters(), module.buffers()), None)
    return torch.device("cpu") if tensor is None else tensor.device


def _png(pixels: np.ndarray) -> bytes:
    """PNG bytes of (C, H, W) uint8 pixels, C in 1 (grey), 3 (RGB), 4 (RGBA)."""
    from PIL import Image

    if pixels.ndim != 3 or pixels.shape[0] not in (1, 3, 4):
        raise InvalidInputError(
            f"image content must be (C, H, W) with C in 1, 3, 4, got shape {pixels.shape}"
        )
    channels_last = np.ascontiguousarray(np.moveaxis(pixels, 0, -1))
    image = Image.fromarray(channels_last[..., 0] if pixels.shape[0] == 1 else channels_last)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
