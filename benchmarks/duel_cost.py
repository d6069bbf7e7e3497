"""CPU of champion duels: a feed batch and a For-you pick after 40, 60 and 100 answers.

Simulated swipers of a domain (`plgl.bench.swipers`; faces unless `--domain`) answer the web
app's cards (`Session.next_cards(10)`: swipes, pair cards and champion duels, on faces from 40
answers on) through one engine. At each checkpoint the CPU time (`time.process_time`, torch
on one thread) of one `next_cards(10)` and one `recommend(1)` is taken, broken down by where
it went:

* "judge fit": the content judge's regression (`ContentJudge._fit`, its maps left out);
* "candidate maps": perceptual maps (or judge features) of the latents looked at (decodes);
* "other decodes": every other pass of the generator's network (maps of newly rated items,
  content of what is shown, content compared for distinctness);
* "rest": everything else (the latent model, candidates, storage, the feed's other cards);
* "duels (all parts)": the CPU inside `plgl.duels.duel` (the champion, the judge's fit, the
  candidates, the challengers' content), the duel batch's own cost.

Each source tree given (`--src`, e.g. a baseline checkout's `src` and this one's) runs in its
own process on the same swipers; medians over the swipers are printed side by side.

    python benchmarks/duel_cost.py --src /tmp/base/src --src src [--swipers 6] [--domain molecules]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any

from trees import run_in_tree

HERE = Path(__file__).resolve().parent
CHECKPOINTS = (40, 60, 100)
PARTS = ("judge fit", "candidate maps", "other decodes", "rest", "total", "duels (all parts)")


class Clock:
    """CPU seconds by part: each wrapped call's own time goes to its part (time spent in a
    wrapped call inside it goes to that call's part); a decode inside the candidates' maps
    counts as candidate maps."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[str] = []
        self._since = time.process_time()
        self.duels = 0.0  # CPU seconds inside `plgl.duels.duel`, every part together

    def wrap(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            name = part
            if part == "other decodes" and "candidate maps" in self._stack:
                name = "candidate maps"
            self._switch(name)
            try:
                return function(*args, **kwargs)
            finally:
                self._switch(None)

        return timed

    def _switch(self, entering: str | None) -> None:
        now = time.process_time()
        self.spent[self._stack[-1] if self._stack else "rest"] += now - self._since
        self._since = now
        if entering is None:
            self._stack.pop()
        else:
            self._stack.append(entering)

    def inclusive(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, its CPU seconds (all parts) added to `duels`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.duels += time.process_time() - start

        return timed

    def measure(self, call: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
        """`call()` and the CPU seconds it took by part (`PARTS`)."""
        self.spent.clear()
        self._stack.clear()
        self.duels = 0.0
        start = self._since = time.process_time()
        out = call()
        self.spent["rest"] += time.process_time() - self._since  # the last stretch
        spent = {part: self.spent.get(part, 0.0) for part in PARTS[:-3]}
        spent["total"] = time.process_time() - start
        spent["rest"] = spent["total"] - sum(spent[p] for p in PARTS[:-3])
        spent["duels (all parts)"] = self.duels
        return out, spent


def instrument(generator: Any) -> Clock:
    """A clock on the content judge's fit and maps and on the generator's decodes."""
    import sys

    from plgl.feed import Feed
    from plgl.navigation.anchors import ContentJudge

    clock = Clock()
    duels = sys.modules[Feed._duels.__module__]  # plgl.feed_duels; plgl.feed in older trees
    duels.duel = clock.inclusive(duels.duel)  # type: ignore[attr-defined]
    ContentJudge._fit = clock.wrap("judge fit", ContentJudge._fit)  # type: ignore[method-assign]
    ContentJudge._maps_of = clock.wrap("candidate maps", ContentJudge._maps_of)  # type: ignore[method-assign]
    for name in ("perceptual", "generate"):
        setattr(generator, name, clock.wrap("other decodes", getattr(generator, name)))
    return clock


def child(swipers: int, seed: int, domain: str = "faces") -> dict[str, Any]:
    """In a process importing plgl from the tree under test: CPU seconds by part of one
    `next_cards(10)` and one `recommend(1)` at each checkpoint, per swiper."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import plgl
    from plgl.bench.suites.swipers import _answer
    from plgl.bench.swipers import KINDS, swiper

    generator = plgl.generators.get(domain)
    clock = instrument(generator)
    out: dict[str, list[dict[str, float]]] = defaultdict(list)
    for index in range(swipers):
        user_seed = seed + index
        kind = KINDS[domain][index % len(KINDS[domain])]
        user = swiper(domain, kind, generator, user_seed, n_prior=50)
        rng = np.random.default_rng(20_000 + user_seed)
        with plgl.Engine(generator, seed=user_seed) as engine:
            session = engine.session(f"swiper-{user_seed}")
            for checkpoint in CHECKPOINTS:
                while session.n_ratings < checkpoint:
                    n = min(10, checkpoint - session.n_ratings)
                    for card in session.next_cards(n):
                        _answer(session, user, card, rng)
                cards, spent = clock.measure(partial(session.next_cards, 10))
                out[f"cards@{checkpoint}"].append(spent)
                _, spent = clock.measure(partial(session.recommend, 1))
                out[f"recommend@{checkpoint}"].append(spent)
                for card in cards:
                    _answer(session, user, card, rng)
    return dict(out)


def run(src: Path, swipers: int, seed: int, domain: str) -> dict[str, Any]:
    """`child(swipers, seed, domain)` in a fresh process importing plgl from `src`."""
    return run_in_tree(src, "duel_cost", f"child({swipers}, {seed}, {domain!r})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--swipers", type=int, default=6, help="swipers per tree (6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first swiper (0)")
    parser.add_argument("--domain", default="faces", help="faces, melodies or molecules")
    args = parser.parse_args()
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    results = {src: run(src, args.swipers, args.seed, args.domain) for src in sources}
    print(f"{args.domain}; CPU ms per call, median of {args.swipers} swipers (torch on one thread)")
    print("| call | part | " + " | ".join(str(s) for s in sources) + " |")
    print("|---|---|" + "---|" * len(sources))
    for call in results[sources[0]]:
        for part in PARTS:
            cells = [1e3 * median(r[part] for r in results[s][call]) for s in sources]
            print(f"| {call} | {part} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
