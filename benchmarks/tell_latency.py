"""Latency of `tell` at d = 512 with SQLite storage: snapshots written by the engine's background
writer (the default) beside the same snapshot work done on the rating's path (as before).

    python benchmarks/tell_latency.py            # 300 ratings of history, 1,000 timed tells
    python benchmarks/tell_latency.py --quick    # 100 and 300

Each mode runs in a fresh engine over a fresh SQLite file (synchronous=normal, WAL); the history
is built untimed, then every `tell` of each `ask(10)` batch is timed twice: by the wall clock
(`perf_counter`: what a client waits for, while the background thread runs concurrently; on a
shared, loaded machine it also counts time the process waited for a core) and by the CPU time
of the calling thread (`thread_time`: the work done on the rating's path). A snapshot is due
every 50 events, so 1,000 timed tells include 20. Target: p99 < 5 ms.
"""

from __future__ import annotations

import os

# Single-threaded BLAS/OpenMP, set before numpy and torch load: the target is per core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gc
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import plgl
from plgl.writer import BackgroundWriter, Job


class InlineWriter(BackgroundWriter):
    """Runs each job as it is submitted: the snapshot is written on the rating's path."""

    def submit(self, key: str, job: Job) -> bool:
        job()
        return True


def measure(
    inline: bool, dim: int, history: int, timed: int, folder: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Wall and calling-thread CPU milliseconds of `timed` tells after `history` untimed ones,
    for one user."""
    url = f"sqlite:///{folder / ('inline.db' if inline else 'background.db')}"
    generator = plgl.generators.get("identity", latent_dim=dim)
    direction = np.random.default_rng(1).standard_normal(dim)
    wall: list[float] = []
    cpu: list[float] = []
    with plgl.Engine(generator=generator, storage=url, seed=0) as engine:
        if inline:
            engine.writer = InlineWriter()
        session = engine.session("u")
        while session.n_ratings < history + timed:
            items = session.ask(10)
            gc.collect()
            for item in items:
                signal = "like" if item.latent @ direction > 0 else "dislike"
                start, start_cpu = time.perf_counter(), time.thread_time()
                session.tell(item.id, signal)
                elapsed, elapsed_cpu = time.perf_counter() - start, time.thread_time() - start_cpu
                if session.n_ratings > history:
                    wall.append(1000.0 * elapsed)
                    cpu.append(1000.0 * elapsed_cpu)
    return np.array(wall[:timed]), np.array(cpu[:timed])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=512, help="latent dimension (default 512)")
    parser.add_argument("--quick", action="store_true", help="a shorter history and fewer tells")
    args = parser.parse_args(argv)
    history, timed = (100, 300) if args.quick else (300, 1000)
    torch.set_num_threads(1)
    print(f"tell at d={args.dim}, SQLite, {history} ratings of history, {timed} timed (ms)")
    print(f"{'snapshots':<30}{'clock':<8}{'median':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for inline in (True, False):
            name = "on the rating's path (before)" if inline else "background writer (now)"
            for clock, ms in zip(
                ("wall", "cpu"),
                measure(inline, args.dim, history, timed, Path(folder)),
                strict=True,
            ):
                p50, p90, p99 = np.percentile(ms, [50, 90, 99])
                print(f"{name:<30}{clock:<8}{p50:8.2f}{p90:8.2f}{p99:8.2f}{ms.max():8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
