"""Faces: the pretrained DCGAN generator shipped in the `gan-face-generate` wheel.

The wheel (MIT, code and weights) holds `gan_face_generate/weights.tar`, a torch checkpoint with
`netG_state_dict` for the PyTorch-tutorial DCGAN (100-d N(0, I) latent, 64x64 RGB). Its training
data, Microsoft's DigiFace-1M (synthetic rendered faces), is licensed for research only, so treat
the faces as research / non-commercial. The package's own `__init__` imports dependencies we do
not install, so the weights are found without importing it; the network is rebuilt here.

Content is a (64, 64, 3) uint8 RGB array; `features` measures plain traits of it (brightness,
warmth, ...) and `torch_features` computes the same traits differentiably from latents, so a
preference learned on the traits can be climbed by gradient through the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from plgl.errors import InvalidInputError, MissingWeightsError
from plgl.generators._base import Generator
from plgl.generators._decodes import RECENT, RecentDecodes, RecentlyDecoded, decode_key
from plgl.generators._device import OnDevice, full_float32, resolve_device

_PACKAGE = "gan_face_generate"
_INSTALL = "pip install --no-deps gan-face-generate==1.1.1"
_SIDE = 64
# Latents per forward pass: bounds memory; on one CPU thread a face costs about 1.5 ms in
# passes of 16 to 32, 1.8 ms in passes of 64 and 2.4 ms in one of 256 (the activations of a
# larger pass leave the caches), and each row comes out the same whatever the pass holds.
_BATCH = 32
_MAP_SIDE = 16  # the perceptual map's thumbnail


def weights_path() -> Path:
    """Where the installed wheel keeps `weights.tar` (found without importing the package)."""
    spec = importlib.util.find_spec(_PACKAGE)  # locates, does not execute, the package
    locations = [] if spec is None else list(spec.submodule_search_locations or [])
    for location in locations:
        path = Path(location) / "weights.tar"
        if path.is_file():
            return path
    raise MissingWeightsError(
        f"the faces generator needs the DCGAN weights of the gan-face-generate wheel, which is "
        f"not installed: run `{_INSTALL}`"
    )


class DCGANGenerator(nn.Module):
    """The DCGAN generator of the PyTorch tutorial: z (n, nz, 1, 1) -> images (n, nc, 64, 64)
    in [-1, 1]. Layer order matches the checkpoint's `main.<i>` keys."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        widths = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(itertools.pairwise(widths)):
            stride, padding = (1, 0) if i == 0 else (2, 1)
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.main(z)
        return out


def _masks() -> tuple[torch.Tensor, torch.Tensor]:
    """(64, 64) float32 weights of the face centre (an ellipse) and the background border."""
    y, x = torch.meshgrid(torch.arange(_SIDE), torch.arange(_SIDE), indexing="ij")
    c = (_SIDE - 1) / 2
    centre = (((x - c) / 16) ** 2 + ((y - c - 2) / 20) ** 2 <= 1).float()
    border = ((x < 8) | (x >= _SIDE - 8) | (y < 8)).float()
    return centre / centre.sum(), border / border.sum()


def image_features(images: torch.Tensor) -> torch.Tensor:
    """(n, 9) traits of RGB images (n, 3, H, W) in [0, 1], differentiable (see FEATURES)."""
    centre, border = _masks()
    centre, border = centre.to(images), border.to(images)
    r, g, b = images[:, 0], images[:, 1], images[:, 2]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    high = torch.maximum(torch.maximum(r, g), b)
    low = torch.minimum(torch.minimum(r, g), b)
    saturation = (high - low) / (high + 1e-3)
    dy = luma[:, 1:, :] - luma[:, :-1, :]
    dx = luma[:, :, 1:] - luma[:, :, :-1]
    return torch.stack(
        [
            luma.mean(dim=(1, 2)),
            (r - b).mean(dim=(1, 2)),
            saturation.mean(dim=(1, 2)),
            luma.flatten(1).std(dim=1),
            (luma * centre).sum(dim=(1, 2)),
            ((r - b) * centre).sum(dim=(1, 2)),
            (luma * border).sum(dim=(1, 2)),
            0.5 * (dy.abs().mean(dim=(1, 2)) + dx.abs().mean(dim=(1, 2))),
            (g - 0.5 * (r + b)).mean(dim=(1, 2)),
        ],
        dim=1,
    )


FEATURES = (
    "brightness",  # mean luma of the whole picture, 0 (black) to 1 (white)
    "warmth",  # mean red minus blue: warm (orange, red) above 0, cool (blue) below
    "saturation",  # mean colourfulness, 0 (grey) to 1 (pure colour)
    "contrast",  # spread of luma over the picture
    "face brightness",  # mean luma of the centre ellipse, where the face is
    "face warmth",  # red minus blue in the centre: skin tone from cool to warm
    "background brightness",  # mean luma of the left, right and top borders
    "detail",  # mean luma change between neighbouring pixels: sharp edges, texture
    "tint",  # green minus magenta: yellow-green casts above 0, pink-purple below
)


class FaceGenerator(OnDevice, RecentlyDecoded, Generator):
    """64x64 RGB faces from the pretrained DCGAN of `gan-face-generate` (100-d latent).

    Args:
        weights: the checkpoint; None finds the one the wheel installs.
        device: where the network runs: "cpu", "cuda" or "cuda:N" (content comes back on the
            CPU either way, the same up to float32 rounding).
        recent: decodes kept (`RecentDecodes`): a latent whose map the content judge read and
            whose face is then shown, or the reverse, goes through the network once.

    >>> gen = FaceGenerator()
    >>> faces = gen.generate(gen.sample(2, np.random.default_rng(0)))
    >>> faces[0].shape, faces[0].dtype.name
    ((64, 64, 3), 'uint8')
    >>> gen.features(faces).shape
    (2, 9)
    """

    name = "faces"
    latent_dim = 100
    modality = "image"
    # Faces stay faces up to about 2-3 standard deviations along one direction; beyond 4
    # they wash out into ghosts (docs/img/faces_shell_walk.png).
    reach = 2.5
    media_types = ("image/png",)
    feature_names = FEATURES

    def __init__(
        self, weights: str | Path | None = None, *, device: str = "cpu", recent: int = RECENT
    ) -> None:
        self.decodes = RecentDecodes(recent)
        self.device = resolve_device(device)
        path = weights_path() if weights is None else Path(weights)
        if not path.is_file():
            raise InvalidInputError(f"face weights file not found: {str(path)!r}")
        data = path.read_bytes()
        self._digest = hashlib.sha256(data).hexdigest()[:16]
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for a file that is no checkpoint
            raise InvalidInputError(f"{str(path)!r} is not a torch checkpoint: {error}") from None
        if not isinstance(state, dict) or "netG_state_dict" not in state:
            raise InvalidInputError(
                f"{str(path)!r} holds no 'netG_state_dict' (a DCGAN checkpoint)"
            )
        self.network = DCGANGenerator()
        self.network.load_state_dict(state["netG_state_dict"])
        # Channels last: the transposed convolutions take about 1.45 ms a face instead of 1.95
        # on one CPU thread (oneDNN's preferred layout); the faces differ from the default
        # layout's by float32 rounding (about one subpixel in 100,000 by one level). torch
        # documents `memory_format` for `Module.to`; its type stubs lack it.
        self.network.eval().requires_grad_(False).to(self.device)
        self.network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def generate(self, latents: np.ndarray) -> list[np.ndarray]:
        """(64, 64, 3) uint8 RGB faces, one per row of `latents` (n, 100)."""
        array = self._check(latents)
        keys = [decode_key(row) for row in array]
        found = self.decodes.contents(keys)
        todo = [i for i, key in enumerate(keys) if key not in found]
        if todo:
            found.update(self._decode(array[todo], [keys[i] for i in todo])[0])
        return [found[key] for key in keys]

    def judge_features(self, latents: np.ndarray) -> np.ndarray:
        """(n, 768) float64 `perceptual` maps of latents (n, 100) (the same values), from the
        recent decodes where the latent was decoded lately."""
        array = self._check(latents)
        keys = [decode_key(row) for row in array]
        found = self.decodes.maps(keys)
        todo = [i for i, key in enumerate(keys) if key not in found]
        if todo:
            found.update(self._decode(array[todo], [keys[i] for i in todo])[1])
        if not keys:
            return np.empty((0, 3 * _MAP_SIDE * _MAP_SIDE))
        return np.array([found[key] for key in keys], dtype=np.float64)

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        """(n, 9) traits of faces (64, 64, 3) uint8, named by `feature_names`."""
        images = [np.asarray(c) for c in contents]
        if any(im.shape != (_SIDE, _SIDE, 3) for im in images):
            raise InvalidInputError("face content must be (64, 64, 3) RGB arrays")
        if not images:
            return np.empty((0, len(FEATURES)))
        batch = torch.from_numpy(np.stack(images).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        return np.asarray(image_features(batch).numpy(), dtype=np.float64)

    def torch_features(self, latents: torch.Tensor) -> torch.Tensor:
        """(n, 9) traits of the faces made from latents (n, 100), differentiable in the latents.

        Unlike `features(generate(z))` the pixels are not rounded to uint8, so the two agree
        to about 1/255.
        """
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise InvalidInputError(f"latents must be (n, {self.latent_dim}) tensors")
        with full_float32(self.device):
            images = self.network(latents.float().to(self.device)[:, :, None, None])
            return image_features(0.5 * (images + 1.0)).to(latents)

    def perceptual(self, latents: torch.Tensor) -> torch.Tensor:
        """(n, 768) the face as a 16x16 RGB thumbnail in [0, 1] (4x4 average pooling), flat,
        differentiable in latents (n, 100): what a glance at a face takes in (its layout,
        colours and shading), without the pixel-level texture a GAN varies freely."""
        if latents.ndim != 2 or latents.shape[1] != self.latent_dim:
            raise InvalidInputError(f"latents must be (n, {self.latent_dim}) tensors")
        with full_float32(self.device):
            images = 0.5 * (self.network(latents.float().to(self.device)[:, :, None, None]) + 1.0)
            return nn.functional.avg_pool2d(images, _SIDE // _MAP_SIDE).flatten(1).to(latents)

    def _render(self, content: np.ndarray, media_type: str) -> bytes:
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(np.asarray(content, dtype=np.uint8), mode="RGB").save(out, format="PNG")
        return out.getvalue()

    def metadata(self, content: np.ndarray) -> dict[str, Any]:
        values = self.features([content])[0]
        return {"width": _SIDE, "height": _SIDE} | {
            name: round(float(v), 4) for name, v in zip(FEATURES, values, strict=True)
        }

    def config(self) -> dict[str, Any]:
        return super().config() | {"weights_sha256": self._digest}

    def _check(self, latents: np.ndarray) -> np.ndarray:
        array = np.asarray(latents, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.latent_dim:
            raise InvalidInputError(
                f"latents must be (n, {self.latent_dim}), got shape {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise InvalidInputError("latents must be finite")
        return array

    def _decode(
        self, latents: np.ndarray, keys: list[bytes]
    ) -> tuple[dict[bytes, np.ndarray], dict[bytes, np.ndarray]]:
        """The faces and (768,) float32 perceptual maps of float32 latents (n, 100) by key, from
        one pass of the network, kept among the recent decodes."""
        images = self._images(latents)
        # Rounded where the images are: a GPU sends back a quarter of the bytes, and does the
        # arithmetic. torch.round, like numpy's rint, rounds halves to even.
        pixels = torch.round(images.permute(0, 2, 3, 1) * 255.0).to(torch.uint8)
        faces = list(pixels.cpu().numpy())
        # As `perceptual` pools them: the same float32 values.
        pooled = nn.functional.avg_pool2d(images, _SIDE // _MAP_SIDE).flatten(1)
        maps = list(pooled.cpu().numpy())
        self.decodes.keep(keys, faces, maps)
        return dict(zip(keys, faces, strict=True)), dict(zip(keys, maps, strict=True))

    def _images(self, latents: np.ndarray) -> torch.Tensor:
        """(n, 3, 64, 64) float32 in [0, 1] on `device`, in batches of `_BATCH`."""
        with torch.no_grad(), full_float32(self.device):
            parts = [
                self.network(self._tensor(latents[i : i + _BATCH])[:, :, None, None])
                for i in range(0, len(latents), _BATCH)
            ]
        if not parts:
            return torch.empty((0, 3, _SIDE, _SIDE))
        return 0.5 * (torch.cat(parts) + 1.0)
