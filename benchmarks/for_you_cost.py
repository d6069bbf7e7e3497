"""CPU of For-you on faces (`Session.recommend(6)`): per call, before and after duels start.

Simulated face swipers (`plgl.bench.swipers`) share one engine, as a server worker's users do.
Each round every swiper answers the web app's next 10 cards (`Session.next_cards(10)`: swipes,
pair cards and, from 40 answers on, champion duels), then every swiper opens For-you twice:
"fresh" (the first call after their answers) and "again" (the same call once more, nothing
answered in between). Between one swiper's cards and their For-you the others' requests run,
so whatever a process keeps of recent work is shared as in a busy worker.

For each call the CPU time (`time.process_time`, torch on one thread) and the faces decoded
(rows through the generator's network) are taken; the cards batches are timed too. Each source
tree given (`--src`, e.g. a baseline checkout's `src` and this one's) runs in its own process
on the same swipers; medians and means are printed side by side, with the answers before 40
("<40") and from 40 on (">=40") apart. The last lines say whether every tree's For-you gave the
same latents (and sources) for every swiper and round: the same picks, made more cheaply.

    python benchmarks/for_you_cost.py --src /tmp/base/src --src src [--swipers 8 --rounds 8]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from statistics import mean, median
from typing import Any

from trees import run_in_tree

HERE = Path(__file__).resolve().parent
KINDS = ("blur-linear", "target", "random-features")
K = 6  # what the load test's For-you asks (benchmarks/locustfile.py)


def child(swipers: int, rounds: int, seed: int) -> dict[str, Any]:
    """In a process importing plgl from the tree under test: per call kind, the CPU seconds and
    faces decoded of each call, and a digest of each For-you answer."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import plgl
    from plgl.bench.suites.swipers import _answer
    from plgl.bench.swipers import swiper
    from plgl.duels import DUELS_FROM

    generator = plgl.generators.get("faces")
    decoded = [0]
    generator.network.register_forward_hook(  # type: ignore[attr-defined]
        lambda module, args, out: decoded.__setitem__(0, decoded[0] + len(out))
    )
    calls: dict[str, list[tuple[float, int]]] = defaultdict(list)
    picks: list[str] = []

    def timed(kind: str, call: Any) -> Any:
        start, before = time.process_time(), decoded[0]
        out = call()
        calls[kind].append((time.process_time() - start, decoded[0] - before))
        return out

    users = [
        swiper("faces", KINDS[i % len(KINDS)], generator, seed + i, n_prior=50)
        for i in range(swipers)
    ]
    rngs = [np.random.default_rng(20_000 + seed + i) for i in range(swipers)]
    with plgl.Engine(generator, seed=seed) as engine:
        sessions = [engine.session(f"swiper-{seed + i}") for i in range(swipers)]
        for _ in range(rounds):
            phase = {}
            for session, user, rng in zip(sessions, users, rngs, strict=True):
                when = "<40" if session.n_ratings < DUELS_FROM["faces"] else ">=40"
                phase[session.user_id] = when
                for card in timed(f"cards {when}", partial(session.next_cards, 10)):
                    _answer(session, user, card, rng)
            for session in sessions:
                when = phase[session.user_id]
                items = timed(f"for-you fresh {when}", partial(session.recommend, K))
                timed(f"for-you again {when}", partial(session.recommend, K))
                digest = hashlib.blake2b(digest_size=8)
                for item in items:
                    digest.update(np.ascontiguousarray(item.latent, dtype=np.float64).tobytes())
                    digest.update(item.source.encode())
                picks.append(digest.hexdigest())
    return {"calls": dict(calls), "picks": picks}


def run(src: Path, swipers: int, rounds: int, seed: int) -> dict[str, Any]:
    """`child(swipers, rounds, seed)` in a fresh process importing plgl from `src`."""
    return run_in_tree(src, "for_you_cost", f"child({swipers}, {rounds}, {seed})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--swipers", type=int, default=8, help="swipers sharing the engine (8)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of 10 cards each (8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first swiper (0)")
    args = parser.parse_args()
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    results = {src: run(src, args.swipers, args.rounds, args.seed) for src in sources}
    print(f"faces, {args.swipers} swipers x {args.rounds} rounds of 10 cards; per call: CPU ms")
    print("median / mean, and faces decoded (mean); torch on one thread")
    print("| call | n | " + " | ".join(str(s) for s in sources) + " |")
    print("|---|---|" + "---|" * len(sources))
    for call in sorted(results[sources[0]]["calls"]):
        cells = []
        for src in sources:
            rows = results[src]["calls"][call]
            cpu = [1e3 * seconds for seconds, _ in rows]
            faces = mean(n for _, n in rows)
            cells.append(f"{median(cpu):.1f} / {mean(cpu):.1f} ms, {faces:.1f} decoded")
        n = len(results[sources[0]]["calls"][call])
        print(f"| {call} | {n} | " + " | ".join(cells) + " |")
    first = results[sources[0]]["picks"]
    for src in sources[1:]:
        same = sum(a == b for a, b in zip(first, results[src]["picks"], strict=True))
        print(f"For-you picks equal to {sources[0]}'s in {src}: {same} of {len(first)}")


if __name__ == "__main__":
    main()
