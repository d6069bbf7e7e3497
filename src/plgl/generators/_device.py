"""Where a generator's torch model runs: "cpu" (the default), "cuda" or "cuda:N".

A generator built with `device="cuda"` keeps its model on that GPU and moves the latents there
for every forward pass; the content it returns, and the tensors of its differentiable paths,
come back on the caller's device. Its `config()` does not name the device: the content is the
same up to float32 rounding, because forward passes on a GPU run in full float32 (cuDNN's
convolutions and recurrent layers default to TF32, whose 10-bit mantissa would flip greedy
decoding choices and pixel values between machines).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import torch

from plgl.errors import InvalidInputError

_FORM = re.compile(r"cpu|cuda(:[0-9]+)?")
# The TF32 switches are process-wide: one forward pass at a time changes and restores them.
_PRECISION_LOCK = threading.RLock()


def parse_device(device: object) -> torch.device:
    """The torch device named by `device` ("cpu", "cuda", "cuda:N"), checked for form only.

    >>> parse_device("cuda:1")
    device(type='cuda', index=1)
    """
    if not isinstance(device, str) or not _FORM.fullmatch(device):
        raise InvalidInputError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return torch.device(device)


def resolve_device(device: object) -> torch.device:
    """`parse_device`, then checked usable: CUDA available and the GPU index visible.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    parsed = parse_device(device)
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidInputError(
                f"device {device!r} is not usable: torch {torch.__version__} sees no CUDA GPU "
                f"here (built for CUDA {torch.version.cuda or 'none'}); use device='cpu'"
            )
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise InvalidInputError(
                f"device {device!r} is not usable: torch sees {count} GPU(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    return parsed


@contextlib.contextmanager
def full_float32(device: torch.device) -> Iterator[None]:
    """Run the float32 work inside in IEEE float32 on a CUDA `device` (no TF32); a no-op on
    the CPU. The process's TF32 settings are restored on leaving."""
    if device.type != "cuda":
        yield
        return
    cudnn: Any = torch.backends.cudnn  # its conv and rnn switches are untyped
    switches: tuple[Any, ...] = (torch.backends.cuda.matmul, cudnn.conv, cudnn.rnn)
    with _PRECISION_LOCK:
        saved = [switch.fp32_precision for switch in switches]
        try:
            for switch in switches:
                switch.fp32_precision = "ieee"
            yield
        finally:
            for switch, value in zip(switches, saved, strict=True):
                switch.fp32_precision = value


class OnDevice:
    """A generator whose torch model runs on `device` (set by its constructor through
    `resolve_device`). Replicas that reserve a GPU build these on it (`deploy`)."""

    device: torch.device = torch.device("cpu")

    def _tensor(self, array: object) -> torch.Tensor:
        """A numpy array (or tensor) as a float32 tensor on `device`."""
        return torch.as_tensor(array, dtype=torch.float32).to(self.device)
