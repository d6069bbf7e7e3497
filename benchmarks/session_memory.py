"""Memory: bytes one faces session holds after its answers, by part, and a process's RSS.

Each source tree given (`--src`, e.g. a baseline checkout's `src` and this one's) runs in its
own process: simulated face swipers (`plgl.bench.swipers`, "random-features") answer the feed's
cards (`Session.next_cards(10)`: swipes, pair cards and, from 40 answers, champion duels) through
one engine, and the bytes each session holds are counted by walking its objects (numpy buffers
once each, the engine, generator, storage and caches that all sessions share left out). Then a
fresh process answers as many sessions and prints its RSS before and after.

    python benchmarks/session_memory.py --src /tmp/base/src --src src [--answers 60] [--users 3]

`--maps 0` gives the engine no shared maps at all: the CPU a session costs when every map its
judge needs was evicted by other users' (the worst case of a cache too small for the load).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

from trees import run_in_tree

HERE = Path(__file__).resolve().parent


def held(root: Any, shared: tuple[Any, ...]) -> int:
    """Bytes reachable from `root` (Python objects by `sys.getsizeof`, each numpy buffer once),
    not counting what `shared` reaches through (the engine and what it holds)."""
    import numpy as np
    import torch

    seen = {id(x) for x in shared}
    total, todo = 0, [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type | type(sys) | torch.nn.Module):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj
            while isinstance(base.base, np.ndarray):
                base = base.base
            total += sys.getsizeof(obj) - (obj.nbytes if obj.base is None else 0)
            if id(base) not in seen or base is obj:
                seen.add(id(base))
                total += base.nbytes
            continue
        if callable(obj) and not hasattr(obj, "__dict__"):
            continue
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            todo += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            todo += list(obj)
        if hasattr(obj, "__dict__"):
            todo.append(vars(obj))
    return total


def parts(session: Any) -> dict[str, int]:
    """Bytes of each part of a session (a part does not count what an earlier one holds)."""
    engine = session.engine
    # What the engine holds is shared by all its sessions (storage, caches, the generator);
    # from this tree on, so are the perceptual maps (`engine.perceptual_maps`).
    shared: tuple[Any, ...] = (engine, *vars(engine).values(), session._lock)
    grounding = session._grounding
    judge = grounding.judge
    maps = getattr(judge, "_maps", None)  # the baseline's own cache
    if maps is None and judge is not None and judge.maps is not engine.perceptual_maps:
        maps = judge.maps
    out = {}
    for name, obj in (
        ("judge maps", maps),
        ("judge last fit", getattr(judge, "_last", None)),
        ("judge (rest)", judge),
        ("grounding made", grounding._made),
        ("duel ladder", grounding.ladder),
        ("grounding (rest)", grounding),
        ("history/learner", session._history),
        ("feed", session._feed),
        ("session (rest)", session),
    ):
        out[name] = held(obj, shared) if obj is not None else 0
        shared = (*shared, obj)
    out["total"] = sum(out.values())
    return out


def answer_cards(session: Any, seed: int, answers: int) -> None:
    """A "random-features" face swiper answers `session`'s cards (10 a batch) `answers` times."""
    import numpy as np

    from plgl.bench.suites.swipers import _answer
    from plgl.bench.swipers import swiper

    user = swiper("faces", "random-features", session.engine.generator, seed, n_prior=50)
    rng = np.random.default_rng(20_000 + seed)
    while session.n_ratings < answers:
        for card in session.next_cards(min(10, answers - session.n_ratings)):
            _answer(session, user, card, rng)
    session.recommend(1)


def trimmed_rss_mib() -> float:
    """This process's resident memory in MiB, once garbage is collected and the allocator has
    handed back what it can (free heap is not what the sessions hold)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(kind: str, users: int, answers: int, maps: int | None = None) -> dict[str, Any]:
    """In a process importing plgl from the tree under test: the bytes per part of each of
    `users` sessions ("parts"), or RSS before and after answering them ("rss"); `maps` sizes
    the engine's shared perceptual maps where the tree has them (None: the default)."""
    import torch

    torch.set_num_threads(1)
    import plgl

    engine = plgl.Engine(plgl.generators.get("faces"), seed=0, max_sessions=users + 1)
    if maps is not None and hasattr(engine, "perceptual_maps"):
        engine.perceptual_maps = plgl.navigation.PerceptualMaps(maps)
    engine.session("warm-up").recommend(1)  # load the model and the code paths first
    before = trimmed_rss_mib()
    sessions, seconds = [], []
    for seed in range(users):
        start = time.perf_counter()
        sessions.append(engine.session(f"swiper-{seed}"))
        answer_cards(sessions[-1], seed, answers)
        seconds.append(time.perf_counter() - start)
    if kind == "parts":
        return {"parts": [parts(s) for s in sessions], "seconds": seconds}
    after = trimmed_rss_mib()
    for seed in range(users):  # what leaving memory frees is what the sessions held
        engine.evict(f"swiper-{seed}")
    sessions.clear()
    return {"before": before, "after": after, "evicted": trimmed_rss_mib()}


def run(src: Path, kind: str, users: int, answers: int, maps: int | None) -> dict[str, Any]:
    """`child(kind, users, answers, maps)` in a fresh process importing plgl from `src`."""
    return run_in_tree(src, "session_memory", f"child({kind!r}, {users}, {answers}, {maps})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--answers", type=int, default=60, help="answers per session (60)")
    parser.add_argument("--users", type=int, default=3, help="sessions measured (3)")
    parser.add_argument("--rss-users", type=int, default=20, help="sessions held for RSS (20)")
    parser.add_argument(
        "--maps", type=int, help="size of the shared perceptual maps (default: the engine's)"
    )
    args = parser.parse_args()
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    print(f"faces, {args.answers} answers per session; KB per session, median of {args.users}")
    results = {src: run(src, "parts", args.users, args.answers, args.maps) for src in sources}
    names = list(results[sources[0]]["parts"][0])
    print("| part | " + " | ".join(str(s) for s in sources) + " |")
    print("|---|" + "---|" * len(sources))
    for name in names:
        cells = [median(p[name] for p in results[s]["parts"]) / 1e3 for s in sources]
        print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    cells = [median(results[s]["seconds"]) for s in sources]
    print("| seconds to answer (CPU cost) | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    print(f"\nRSS (MiB) of a process before and after answering {args.rss_users} sessions, and")
    print("after evicting them (with storage and caches in memory, which stay)")
    for src in sources:
        rss = run(src, "rss", args.rss_users, args.answers, args.maps)
        freed = (rss["after"] - rss["evicted"]) / args.rss_users
        print(
            f"{src}: {rss['before']:.0f} -> {rss['after']:.0f} -> {rss['evicted']:.0f}"
            f" ({freed:.2f} MiB per session freed)"
        )


if __name__ == "__main__":
    main()
