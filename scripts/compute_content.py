"""Compute and ship the content embedding (`plgl.models.embedding.ContentEmbedding`) of the
built-in domains whose default model is `ContentPreference` (`plgl.engine.DEFAULT_MODEL`).

Principal components of each generator's perceptual map over its bank of 4,096 prior items
(seed 0), and the bank's embedding, saved as float32 in
src/plgl/weights/content-<config digest>-4096-32.npz, where `ContentEmbedding` finds it. Run
from the repository root:

    OMP_NUM_THREADS=1 python scripts/compute_content.py [faces ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from plgl.engine import DEFAULT_MODEL
from plgl.generators import get
from plgl.models.embedding import ContentEmbedding, save, shipped_path

TARGET = Path(__file__).resolve().parents[1] / "src" / "plgl" / "weights"
N_BANK, N_COMPONENTS = 4096, 32  # ContentPreference's defaults


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    for name in names or [d for d, model in DEFAULT_MODEL.items() if model == "content"]:
        generator = get(name)
        start = time.perf_counter()
        embedding = ContentEmbedding(generator, N_BANK, N_COMPONENTS)
        path = TARGET / shipped_path(generator, N_BANK, N_COMPONENTS).name
        save(embedding, path)
        print(f"{name}: {path.name}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
