"""Compute and ship the geometry metric of each built-in generator (faces, melodies, molecules).

The pull-back metric E[J^T J] of each generator's `perceptual` map over 256 prior latents on the
shell (seed 0), saved as float32 in src/plgl/weights/geometry-<config digest>.npy, where
`plgl.generators.geometry.generator_metric` finds it. Deterministic: the same weights give the
same file (up to float rounding across CPUs). Run from the repository root:

    OMP_NUM_THREADS=1 python scripts/compute_geometry.py [faces melodies molecules]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from plgl.generators import get
from plgl.generators.geometry import SAMPLES, SEED, pullback_metric, shipped_path

DOMAINS = ("faces", "melodies", "molecules")
TARGET = Path(__file__).resolve().parents[1] / "src" / "plgl" / "weights"


def main(names: list[str]) -> None:
    torch.set_num_threads(1)  # more threads ran several times slower on the small CPU
    for name in names or DOMAINS:
        generator = get(name)
        start = time.perf_counter()
        metric = pullback_metric(generator, SAMPLES, SEED)
        path = TARGET / shipped_path(generator).name
        np.save(path, metric.astype(np.float32), allow_pickle=False)
        values = np.linalg.eigvalsh(metric)[::-1]
        share = np.cumsum(values) / values.sum()
        top = int(np.searchsorted(share, 0.9)) + 1
        print(
            f"{name}: {path.name}, {time.perf_counter() - start:.0f} s; "
            f"{top} of {len(values)} eigen-directions carry 90% of the trace; "
            f"largest/median eigenvalue {values[0] / np.median(values):.1f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
