"""The `device` option of the torch-backed generators, and Ray replicas built on their GPU.

The CUDA tests at the bottom run only where torch sees a GPU (benchmarks/gpu_check.py runs them
on a rented one); the rest run anywhere.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import plgl
from plgl.errors import InvalidInputError
from plgl.generators import TorchGenerator, config_digest
from plgl.generators._device import full_float32, parse_device, resolve_device
from plgl.generators.remote import replica_options

CUDA = torch.cuda.is_available()


def _installed(name: str) -> bool:
    """Whether the domain's module and weights load (a GPU machine may lack RDKit or mido)."""
    try:
        module = importlib.import_module(f"plgl.generators.{name}")
        return name != "faces" or module.weights_path().is_file()
    except ImportError:  # MissingWeightsError included
        return False


DOMAINS = [name for name in ("faces", "melodies", "molecules") if _installed(name)]


def decoder() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3 * 8 * 8), nn.Tanh(), nn.Unflatten(1, (3, 8, 8)))


@pytest.mark.parametrize(
    "bad", ["gpu", "CUDA", "cuda:", "cuda:-1", "cuda:x", " cpu", "mps", 0, 1.5]
)
def test_device_names_outside_cpu_cuda_cuda_n_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"'cpu', 'cuda' or 'cuda:N'"):
        parse_device(bad)
    with pytest.raises(InvalidInputError, match=r"'cpu', 'cuda' or 'cuda:N'"):
        TorchGenerator(decoder(), 4, device=bad)


@pytest.mark.parametrize("name", DOMAINS)
def test_a_bad_device_is_refused_through_the_registry(name: str) -> None:
    with pytest.raises(InvalidInputError, match="device must be"):
        plgl.generators.get(name, device="gpu")


@pytest.mark.skipif(CUDA, reason="checks the refusal where torch sees no GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_refused_before_anything_is_built(device: str) -> None:
    module = decoder()
    with pytest.raises(InvalidInputError, match=r"not usable: torch .* sees no CUDA GPU"):
        TorchGenerator(module, 4, device=device)
    assert next(module.parameters()).device.type == "cpu"
    # The device is checked before the weights are read: a missing file is not what it reports.
    for name, options in [("faces", {"weights": "/nonexistent.tar"}), ("melodies", {})]:
        with pytest.raises(InvalidInputError, match="sees no CUDA GPU"):
            plgl.generators.get(name, device=device, **options)


def test_a_gpu_index_beyond_the_visible_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(InvalidInputError, match=r"sees 2 GPU\(s\), cuda:0 to cuda:1"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", DOMAINS)
def test_cpu_is_the_default_and_config_does_not_name_the_device(name: str) -> None:
    default = plgl.generators.get(name)
    on_cpu = plgl.generators.get(name, device="cpu")
    assert default.device == on_cpu.device == torch.device("cpu")  # type: ignore[attr-defined]
    assert default.config() == on_cpu.config() and "device" not in default.config()
    latents = default.sample(4, np.random.default_rng(0))
    assert repr(default.generate(latents)) == repr(on_cpu.generate(latents))


def test_torch_generator_leaves_the_module_where_it_is_unless_told() -> None:
    module = decoder().double()
    kept = TorchGenerator(module, 4)
    moved = TorchGenerator(decoder(), 4, device="cpu")
    assert kept.device == moved.device == torch.device("cpu")
    assert (
        kept.config()["weights_sha256"]
        == TorchGenerator(module, 4, device="cpu").config()["weights_sha256"]
    )
    # Outputs come back on the latents' device, in the module's precision.
    assert kept.decode(torch.zeros(2, 4)).dtype == torch.float64
    empty = TorchGenerator(nn.Flatten(), 4, modality="vector", device="cpu")
    assert empty.generate(np.ones((1, 4)))[0].tolist() == [1.0] * 4


def test_full_float32_switches_tf32_off_inside_and_restores_it() -> None:
    conv = torch.backends.cudnn.conv  # type: ignore[attr-defined]
    before = conv.fp32_precision
    with full_float32(torch.device("cpu")):
        assert conv.fp32_precision == before  # nothing to change off the GPU
    with full_float32(torch.device("cuda")):
        assert conv.fp32_precision == "ieee"
        assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert conv.fp32_precision == before


@pytest.mark.skipif("faces" not in DOMAINS, reason="needs the gan-face-generate weights")
def test_replicas_with_a_gpu_build_a_torch_generator_on_cuda() -> None:
    assert replica_options("faces", None, num_gpus=1) == {"device": "cuda"}
    assert replica_options("faces", {}, num_gpus=0.25) == {"device": "cuda"}
    assert replica_options("faces", None, num_gpus=0) == {}
    # A device named in the options is kept, checked for form here (this machine need not
    # have the replicas' GPUs), and refused when malformed.
    assert replica_options("faces", {"device": "cuda:1"}, num_gpus=1) == {"device": "cuda:1"}
    assert replica_options("faces", {"device": "cpu"}, num_gpus=1) == {"device": "cpu"}
    with pytest.raises(InvalidInputError, match="device must be"):
        replica_options("faces", {"device": "gpu0"}, num_gpus=1)


def test_replicas_of_a_generator_without_a_torch_model_get_no_device() -> None:
    assert replica_options("identity", {"latent_dim": 4}, num_gpus=1) == {"latent_dim": 4}
    with pytest.raises(InvalidInputError, match="unknown generator"):
        replica_options("nonesuch", None, num_gpus=1)


# --- on a GPU only -------------------------------------------------------------------------------


def _same_content(name: str, cpu: list[Any], gpu: list[Any]) -> None:
    if name == "faces":  # uint8 pixels: float32 rounding may move one a level
        difference = np.abs(np.stack(cpu).astype(int) - np.stack(gpu).astype(int))
        assert difference.max() <= 1 and difference.mean() < 0.01
    else:  # melodies and molecules decode greedily: the same tokens
        assert [repr(c) for c in cpu] == [repr(g) for g in gpu]


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", DOMAINS)
def test_cuda_makes_the_same_content_and_perceptual_map_as_the_cpu(name: str) -> None:
    cpu = plgl.generators.get(name)
    gpu = plgl.generators.get(name, device="cuda")
    assert gpu.device.type == "cuda"  # type: ignore[attr-defined]
    assert config_digest(cpu) == config_digest(gpu)
    latents = cpu.sample(64, np.random.default_rng(0))
    _same_content(name, cpu.generate(latents), gpu.generate(latents))
    z = torch.as_tensor(latents[:8], dtype=torch.float32)
    on_cpu, on_gpu = cpu.perceptual(z), gpu.perceptual(z.clone())
    assert on_gpu.device.type == "cpu" and on_gpu.dtype == z.dtype
    torch.testing.assert_close(on_gpu, on_cpu, atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(not CUDA or "faces" not in DOMAINS, reason="needs a CUDA GPU and faces")
def test_gradients_through_a_gpu_generator_reach_cpu_latents() -> None:
    cpu, gpu = plgl.generators.get("faces"), plgl.generators.get("faces", device="cuda")
    grads = []
    for generator in (cpu, gpu):
        z = torch.as_tensor(cpu.sample(4, np.random.default_rng(1)), dtype=torch.float64)
        z.requires_grad_(True)
        generator.torch_features(z)[:, 0].sum().backward()  # type: ignore[no-untyped-call]
        assert z.grad is not None and z.grad.device.type == "cpu"
        grads.append(z.grad)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-4, rtol=1e-3)
    module = decoder()
    wrapped = TorchGenerator(module, 4, device="cuda")
    assert next(module.parameters()).device.type == "cuda"
    assert wrapped.decode(torch.zeros(2, 4)).device.type == "cpu"
    assert wrapped.generate(np.zeros((2, 4)))[0].shape == (3, 8, 8)
