"""Swipers through the web app's cards, as the `swipers` suite runs them: what the diagnosis
benchmarks (`crown_diagnosis.py`, `shown_vs_random.py`, `for_you_pool.py`) share.

A swiper of a domain's kind (`plgl.bench.swipers`) answers the default engine's cards
(`Session.next_cards`) in batches of 10 with the suite's answer stream; a benchmark looks at the
session after each batch. Its command line runs every kind of a domain for a range of seeds in
parallel processes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import torch

from plgl.bench import swipers as swiper_kinds
from plgl.bench.cards import answer
from plgl.bench.command import parse_seeds
from plgl.engine import Engine
from plgl.generators import get
from plgl.records import Item

Batch = list[tuple[Item, ...]]


def swiper(domain: str, kind: str, seed: int) -> tuple[Any, Any]:
    """The domain's generator and the suite's swiper `kind` `seed` (torch on one thread)."""
    torch.set_num_threads(1)
    generator = get(domain)
    return generator, swiper_kinds.swiper(domain, kind, generator, seed, n_prior=4000)


def through_cards(
    generator: Any, user: Any, seed: int, answers: int, after: Callable[[Any, Batch], None]
) -> None:
    """`user` answers the cards of a default engine's session until `answers` answers, in
    batches of 10 with the suite's answer stream; `after(session, batch)` after each batch."""
    stream = np.random.default_rng(20_000 + seed)
    with Engine(generator, seed=seed) as engine:
        session = engine.session(f"swiper-{seed}")
        while session.n_ratings < answers:
            batch = session.next_cards(10 - session.n_ratings % 10)
            for card in batch:
                answer(session, user, card, stream)
            after(session, batch)


def arguments(doc: str, domains: Sequence[str], seeds: str) -> argparse.Namespace:
    """`--domain`, `--seeds` (default `seeds`) and `--jobs` of a benchmark described by `doc`."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--domain", required=True, choices=list(domains))
    parser.add_argument("--seeds", default=seeds, help="e.g. 0-3")
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    return parser.parse_args()


def every_swiper(
    run: Callable[[str, str, int], Any], domain: str, seeds: str, jobs: int
) -> tuple[list[tuple[str, int]], list[Any]]:
    """(kind, seed) of every swiper of `domain` for `seeds`, and `run(domain, kind, seed)` of
    each, in `jobs` processes (`run` a module-level function)."""
    plan = [(k, s) for k in swiper_kinds.KINDS[domain] for s in parse_seeds(seeds)]
    with ProcessPoolExecutor(jobs) as pool:
        found = list(pool.map(run, *zip(*[(domain, k, s) for k, s in plan], strict=True)))
    return plan, found
