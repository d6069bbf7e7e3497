"""The built-in generators on a CUDA GPU against the CPU: same content, and how much faster.

For faces, melodies and molecules (a domain whose dependencies are missing is skipped, saying
so), on the same prior latents:

1. agreement: content made on the GPU against the CPU (faces: largest pixel difference in 0-255
   levels and the share of pixels that differ; melodies and molecules: the share of identical
   melodies / SMILES) and the largest difference of the perceptual maps. Each twice: as the
   generators run (IEEE float32 on the GPU) and with TF32 allowed (cuDNN's default), which is
   what the generators switch off;
2. speed: `generate` at batch 1, 64 and 1024, median seconds of a few calls after a warm-up, and
   items per second, CPU (all its cores) beside the GPU;
3. the CUDA tests of tests/test_generators_device.py (pytest).

    python benchmarks/gpu_check.py                                 # on a machine with a GPU
    python benchmarks/gpu_check.py --faces-weights weights.tar     # weights outside the wheel
    OMP_NUM_THREADS=1 python benchmarks/gpu_check.py --device cpu --batches 1 8 --skip-tests
                                                                   # the script itself, no GPU
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

import plgl
from plgl.generators import Generator

DOMAINS = ("faces", "melodies", "molecules")
ROOT = Path(__file__).resolve().parent.parent


def build(name: str, device: str, weights: str | None) -> Generator:
    options: dict[str, Any] = {"device": device}
    if name == "faces" and weights is not None:
        options["weights"] = weights
    return plgl.generators.get(name, **options)


@contextlib.contextmanager
def tf32_allowed(device: torch.device) -> Iterator[None]:
    """Stands in for `full_float32`: leaves cuDNN's TF32 default on."""
    yield


@contextlib.contextmanager
def without_full_float32() -> Iterator[None]:
    """The generators' forward passes with TF32 allowed, as torch's defaults would run them."""
    names = (f"plgl.generators.{m}" for m in DOMAINS)
    modules: list[Any] = [sys.modules[name] for name in names if name in sys.modules]
    saved = [m.full_float32 for m in modules]
    for module in modules:
        module.full_float32 = tf32_allowed
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.full_float32 = original


def agreement(name: str, cpu: Generator, other: Generator, latents: np.ndarray) -> dict[str, Any]:
    """How far `other`'s content and perceptual map are from `cpu`'s on `latents` (n, d)."""
    a, b = cpu.generate(latents), other.generate(latents)
    if name == "faces":
        diff = np.abs(np.stack(a).astype(int) - np.stack(b).astype(int))
        content = f"max {diff.max()} levels, {np.mean(diff > 0):.2%} of pixels differ"
    else:
        same = np.mean([repr(x) == repr(y) for x, y in zip(a, b, strict=True)])
        content = f"{same:.2%} identical {'SMILES' if name == 'molecules' else 'melodies'}"
    z = torch.as_tensor(latents[:32], dtype=torch.float32)
    with torch.no_grad():
        perceptual = float((cpu.perceptual(z) - other.perceptual(z)).abs().max())
    return {"content": content, "perceptual_max_abs": perceptual}


def median_seconds(generator: Generator, latents: np.ndarray, repeats: int) -> float:
    generator.generate(latents)  # warm-up: kernels, caches, allocator
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        generator.generate(latents)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_domain(name: str, args: argparse.Namespace) -> dict[str, Any]:
    cpu = build(name, "cpu", args.faces_weights)
    other = build(name, args.device, args.faces_weights)
    latents = cpu.sample(args.agreement_n, np.random.default_rng(0))
    result: dict[str, Any] = {"domain": name, "same_config": cpu.config() == other.config()}
    result["agreement"] = agreement(name, cpu, other, latents)
    if args.device != "cpu":
        with without_full_float32():
            result["agreement_tf32"] = agreement(name, cpu, other, latents)
    result["speed"] = []
    for batch in args.batches:
        z = cpu.sample(batch, np.random.default_rng(batch))
        repeats = args.repeats if batch < 1024 else max(3, args.repeats // 2)
        row: dict[str, Any] = {"batch": batch}
        for label, generator in (("cpu", cpu), ("device", other)):
            seconds = median_seconds(generator, z, repeats)
            row[label] = {"median_s": seconds, "items_per_s": batch / seconds}
        result["speed"].append(row)
    return result


def print_domain(result: dict[str, Any], device: str) -> None:
    name = result["domain"]
    print(f"\n== {name} (same config() on both: {result['same_config']})")
    for key, label in (("agreement", "as built (IEEE fp32)"), ("agreement_tf32", "TF32 allowed")):
        if key in result:
            row = result[key]
            print(
                f"  {device} vs cpu, {label:21}: content {row['content']}; "
                f"perceptual max |diff| {row['perceptual_max_abs']:.2e}"
            )
    print(
        f"  {'batch':>6} {'cpu s':>10} {'cpu items/s':>12} {device + ' s':>10} "
        f"{device + ' items/s':>14} {'speed-up':>9}"
    )
    for row in result["speed"]:
        c, g = row["cpu"], row["device"]
        print(
            f"  {row['batch']:>6} {c['median_s']:>10.5f} {c['items_per_s']:>12.1f} "
            f"{g['median_s']:>10.5f} {g['items_per_s']:>14.1f} "
            f"{c['median_s'] / g['median_s']:>8.1f}x"
        )


def run_tests() -> int:
    """tests/test_generators_device.py, whose CUDA tests run where torch sees a GPU."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    command.append(str(ROOT / "tests" / "test_generators_device.py"))
    print("\n== " + " ".join(command[2:]), flush=True)
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="compared with the CPU (default cuda)")
    parser.add_argument("--faces-weights", help="gan-face-generate's weights.tar, if no wheel")
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=DOMAINS)
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 64, 1024])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per batch size")
    parser.add_argument("--agreement-n", type=int, default=512, help="latents compared")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA GPU"
    print(
        f"torch {torch.__version__} (CUDA {torch.version.cuda}), {cuda}; "
        f"{torch.get_num_threads()} CPU threads; python {sys.version.split()[0]}"
    )
    results, skipped = [], {}
    for name in args.domains:
        try:
            result = check_domain(name, args)
        except ImportError as error:  # a missing dependency or weights wheel: say so, go on
            skipped[name] = f"{type(error).__name__}: {error}"
            print(f"\n== {name}: SKIPPED ({skipped[name]})")
            continue
        results.append(result)
        print_domain(result, args.device)
    code = 0 if args.skip_tests else run_tests()
    if args.json:
        payload = {"device": cuda, "results": results, "skipped": skipped, "pytest": code}
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main())
