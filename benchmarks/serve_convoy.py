"""The convoy: a calm user's "rate, then next card" beside heavy requests in the same worker.

For each source tree given (`--src`, e.g. a baseline checkout's `src` and this one's) starts two
`plgl serve` (one worker each, faces, Redis storage with the content pool pregenerated in
another Redis database, as `serve_load.py` does), with that tree first on PYTHONPATH: A, where
the calm user is, and B, a twin. Each round, for each tree in turn:

- *alone*: one calm user does "rate, then next card" (a rating, then the next card's content:
  what a person waits for) every `--pace` seconds; nothing else is asked.
- *heavy on B*: the same, while `--heavy` client processes loop heavy requests on the twin B:
  the same CPU competition on the same cores, but in another interpreter.
- *heavy on A*: the same heavy load on A itself, the calm user's own worker: light and heavy
  requests share one interpreter (and its GIL).

A heavy client's loop is what the web app asks after 40 answers: `POST /api/cards?n=5` (on
faces about half are champion duels), each card answered, then `GET /api/recommendations?k=6`
("For you"). Each heavy user has answered `--answers` cards before the rounds start. The heavy
users' generation and rating quotas are lifted (PLGL_GENERATION_RATE, PLGL_FEEDBACK_RATE), so
that the heavy load is CPU, not 429s.

If "heavy on A" is much slower than "heavy on B", the time goes to the shared interpreter (the
convoy), not to the cores. "worker ms/flow": the CPU time of A per calm flow, alone (the calm
user's feed requests, one per 8 flows, included). `--nice N` runs the heavy clients at
niceness N. The trees take turns within each of `--repeats` rounds; latencies pool the rounds
(and the median of the rounds' p99 is printed beside), throughputs are medians.

    python benchmarks/serve_convoy.py [--src /tmp/base/src --src src] [--seconds 20]
        [--heavy 2] [--pace 0.25] [--repeats 3] [--nice 0] [--pool 400]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from serve_load import server, user_system

import plgl
from plgl.cache import from_url, pregenerate
from plgl.testing import RedisServer

HERE = Path(__file__).resolve().parent
LIFTED = {
    "PLGL_GENERATION_RATE": "1000",
    "PLGL_GENERATION_BURST": "1000",
    "PLGL_FEEDBACK_RATE": "1000",
    "PLGL_FEEDBACK_BURST": "1000",
}
PHASES = ("alone", "heavy on B", "heavy on A")


def sign_up(base: str) -> dict[str, str]:
    token = httpx.post(base + "/api/users").raise_for_status().json()["token"]
    return {"Authorization": "Bearer " + token}


def answer(client: httpx.Client, auth: dict[str, str], card: list[dict[str, Any]]) -> None:
    """Answer one card: a rating for a swipe card, a choice for a pair or choice card."""
    if len(card) == 1:
        body = {"item_id": card[0]["id"], "signal": random.choice(["like", "dislike", "skip"])}
        client.post("/api/feedback", headers=auth, json=body).raise_for_status()
    else:
        others = [item["id"] for item in card[2:]]
        body = {"preferred_id": card[0]["id"], "other_id": card[1]["id"], "others": others}
        client.post("/api/compare", headers=auth, json=body).raise_for_status()


def cards(client: httpx.Client, auth: dict[str, str], n: int = 5) -> list[list[dict[str, Any]]]:
    response = client.post(f"/api/cards?n={n}", headers=auth).raise_for_status()
    return [card["items"] for card in response.json()["cards"]]


def warm(base: str, auth: dict[str, str], answers: int) -> None:
    """Answer `answers` cards, so that the user's cards bring champion duels."""
    with httpx.Client(base_url=base, timeout=60) as client:
        done = 0
        while done < answers:
            for card in cards(client, auth):
                answer(client, auth, card)
                done += 1


def heavy(base: str, auth: dict[str, str], seconds: float, nice: int) -> dict[str, float]:
    """One heavy client: cards (answered) and recommendations as fast as answers come."""
    os.nice(nice)
    counts = {"cards": 0.0, "recommendations": 0.0}
    with httpx.Client(base_url=base, timeout=60) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for card in cards(client, auth):
                answer(client, auth, card)
            counts["cards"] += 1
            client.get("/api/recommendations?k=6", headers=auth).raise_for_status()
            counts["recommendations"] += 1
    return counts


def calm(base: str, auth: dict[str, str], seconds: float, pace: float) -> list[list[float]]:
    """[flow, rating, content] seconds of each "rate, then next card", one every `pace` s."""
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        queue: list[dict[str, Any]] = []
        end = time.monotonic() + seconds
        next_at = time.monotonic()
        while time.monotonic() < end:
            if len(queue) < 2:
                queue += client.post("/api/feed?n=10", headers=auth).json()["items"]
            item = queue.pop(0)
            start = time.perf_counter()
            body = {"item_id": item["id"], "signal": random.choice(["like", "dislike"])}
            assert client.post("/api/feedback", headers=auth, json=body).status_code == 200
            rated = time.perf_counter()
            url = next(iter(queue[0]["content"].values()))
            assert client.get(url, headers=auth).status_code == 200
            done = time.perf_counter()
            times.append([done - start, rated - start, done - rated])
            next_at += pace
            time.sleep(max(0.0, next_at - time.monotonic()))
    return times


def phase(
    base: str,
    user: dict[str, str],
    heavy_base: str | None,
    heavy_users: list[dict[str, str]],
    args: argparse.Namespace,
) -> tuple[list[list[float]], float]:
    """The calm `user`'s times on `base`, beside heavy clients (`heavy_users`) on `heavy_base`
    (None: none), and the heavy requests (cards + recommendations) answered per second."""
    if heavy_base is None:
        return calm(base, user, args.seconds, args.pace), 0.0
    with ProcessPoolExecutor(args.heavy) as pool:
        loads = [
            pool.submit(heavy, heavy_base, auth, args.seconds, args.nice) for auth in heavy_users
        ]
        times = calm(base, user, args.seconds, args.pace)
        counts = [f.result() for f in loads]
    return times, sum(c["cards"] + c["recommendations"] for c in counts) / args.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase (20)")
    parser.add_argument("--heavy", type=int, default=2, help="heavy client processes (2)")
    parser.add_argument("--pace", type=float, default=0.25, help="calm flows every P s (0.25)")
    parser.add_argument("--answers", type=int, default=45, help="heavy users' answers (45)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (3)")
    parser.add_argument("--nice", type=int, default=0, help="niceness of the heavy clients (0)")
    parser.add_argument("--pool", type=int, default=400, help="pregenerated faces (400)")
    args = parser.parse_args()
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    # Per tree, phase and round: [flow, rating, content] seconds of each calm flow.
    times: dict[Path, dict[str, list[list[list[float]]]]] = {
        s: {p: [] for p in PHASES} for s in sources
    }
    rates: dict[Path, dict[str, list[float]]] = {s: {p: [] for p in PHASES} for s in sources}
    cpu: dict[Path, list[float]] = {s: [] for s in sources}
    loads: list[float] = []
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with (
        tempfile.TemporaryDirectory() as workdir,
        RedisServer(appendfsync="everysec") as redis,
        ExitStack() as stack,
    ):
        cache = f"{redis.url[:-2]}/1"
        store = from_url(cache)
        pregenerate(plgl.generators.get("faces"), store, n=args.pool)
        store.close()
        servers = {}
        for src in sources:
            env = {"PYTHONPATH": str(src)} | LIFTED
            a = stack.enter_context(server("faces", redis.url, cache, workdir, 1, env))
            b = stack.enter_context(server("faces", redis.url, cache, workdir, 1, env))
            users = {base: [sign_up(base) for _ in range(1 + args.heavy)] for base in (a[0], b[0])}
            with ThreadPoolExecutor(2 * args.heavy) as pool:
                for f in [
                    pool.submit(warm, base, auth, args.answers)
                    for base, them in users.items()
                    for auth in them[1:]
                ]:
                    f.result()
            calm(a[0], users[a[0]][0], 3.0, args.pace)  # warm up
            servers[src] = (a, b, users)
        for _ in range(args.repeats):
            for src, ((base, pid), (twin, _), users) in servers.items():
                for name, heavy_base in zip(PHASES, (None, twin, base), strict=True):
                    before = sum(user_system(pid))
                    heavy_users = users[heavy_base or base][1:]
                    got, rate = phase(base, users[base][0], heavy_base, heavy_users, args)
                    if name == "alone":
                        cpu[src].append(1000 * (sum(user_system(pid)) - before) / len(got))
                    # The calm user is always on A; its heavy neighbours are A's or B's users.
                    times[src][name].append(got)
                    rates[src][name].append(rate)
                    loads.append(os.getloadavg()[0])
    print(
        f"load average during: {min(loads):.1f}-{max(loads):.1f}, after: {os.getloadavg()[0]:.1f}"
    )
    report(args, sources, times, rates, cpu)


def report(
    args: argparse.Namespace,
    sources: list[Path],
    times: dict[Path, dict[str, list[list[list[float]]]]],
    rates: dict[Path, dict[str, list[float]]],
    cpu: dict[Path, list[float]],
) -> None:
    names = [str(s)[-30:] for s in sources]
    print(
        f"\ncalm user's rate-then-next-card every {args.pace} s, faces, one worker, "
        f"{args.heavy} heavy clients (nice {args.nice}), {args.repeats} rounds of "
        f"{args.seconds:.0f} s; ms: n / p50 / p95 / p99 of all rounds' flows, then the median "
        "of the rounds' p99 (client and server on the same cores)"
    )
    print(f"{'':<26}" + "".join(f"{n:>40}" for n in names))
    for part, label in ((0, "flow"), (1, "  rating"), (2, "  content")):
        for name in PHASES:
            cells = []
            for s in sources:
                rounds = [1000 * np.array([t[part] for t in got]) for got in times[s][name]]
                p50, p95, p99 = np.percentile(np.concatenate(rounds), [50, 95, 99])
                median = statistics.median(float(np.percentile(ms, 99)) for ms in rounds)
                n = sum(len(ms) for ms in rounds)
                cells.append(f"{n} / {p50:.1f} / {p95:.1f} / {p99:.1f}; {median:.1f}")
            print(f"{label + ', ' + name:<26}" + "".join(f"{c:>40}" for c in cells))
    for name in PHASES[1:]:
        row = [statistics.median(rates[s][name]) for s in sources]
        print(f"{'heavy req/s, ' + name:<26}" + "".join(f"{r:>40.1f}" for r in row))
    row = [statistics.median(cpu[s]) for s in sources]
    print(f"{'worker ms/flow, alone':<26}" + "".join(f"{r:>40.1f}" for r in row))


if __name__ == "__main__":
    main()
