"""Floods: the worker CPU a refused request costs, and a calm user's latency beside a flood.

For each source tree given (`--src`, e.g. a baseline checkout's `src` and this one's) starts two
`plgl serve` (one worker each, SQLite storage), with that tree first on PYTHONPATH:

- a *strict* server (one sign-up a minute, one request for new items per 1,000 s): one process
  floods it with sign-ups and 50-item feeds of one user for `--seconds`; nearly every answer is
  a 429, so the worker's user+system CPU time (from /proc) over the requests it answered is the
  CPU of a refusal, through uvicorn and the app. The flooding process's own CPU per request is
  printed beside it: on one machine the clients pay for a flood too.
- a *shipped* server (the shipped quotas: 30 sign-ups a minute per address, 2 requests for new
  items per second per user, 20 at once): a calm user's "rate, then next card" (a rating and
  the next card's content) for `--seconds`, first alone, then beside each count of flooding
  processes in `--flooders` (sign-ups from the calm user's address and feeds of one other user,
  as fast as answers come). Each allowed flood feed makes 50 items.

The trees take turns within each of `--repeats` rounds, so drift in the shared machine's load
hits them alike; CPU figures are medians of the rounds, latencies pool the rounds. `--nice N`
runs the flooding processes at niceness N (19: they get the CPU only when the server and the
calm user leave it), which shows the server's part apart from the clients' competition for
the same cores. The load average is printed before, during (each phase) and after.

    python benchmarks/serve_flood.py [--src /tmp/base/src --src src] [--seconds 10]
        [--flooders 1,4] [--repeats 2] [--nice 0]
"""

from __future__ import annotations

import argparse
import collections
import os
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

HERE = Path(__file__).resolve().parent
STRICT = {
    "PLGL_SIGNUPS_PER_MINUTE": "1",
    "PLGL_GENERATION_RATE": "0.001",
    "PLGL_GENERATION_BURST": "1",
}
SHIPPED = {"PLGL_SIGNUPS_PER_MINUTE": "30"}  # the default, which serve_load lifts


def sign_up(base: str) -> dict[str, str]:
    token = httpx.post(base + "/api/users").raise_for_status().json()["token"]
    return {"Authorization": "Bearer " + token}


def calm_user(base: str, auth: dict[str, str], seconds: float) -> list[float]:
    """Seconds per "rate, then next card" of one user swiping at a person's pace."""
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        queue: list[dict[str, Any]] = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if len(queue) < 2:
                queue += client.post("/api/feed?n=10", headers=auth).json()["items"]
            item = queue.pop(0)
            start = time.perf_counter()
            body = {"item_id": item["id"], "signal": "like"}
            assert client.post("/api/feedback", headers=auth, json=body).status_code == 200
            url = next(iter(queue[0]["content"].values()))
            assert client.get(url, headers=auth).status_code == 200
            times.append(time.perf_counter() - start)
            time.sleep(0.2)  # a quick swiper, within the rating allowance
    return times


def flood(base: str, auth: dict[str, str], seconds: float, nice: int) -> collections.Counter[str]:
    """One flooding process: sign-ups and 50-item feeds as fast as answers come back. Counts
    the answers by status, and the process's own CPU ("client cpu ms")."""
    os.nice(nice)
    statuses: collections.Counter[str] = collections.Counter()
    start = time.process_time()
    with httpx.Client(base_url=base, timeout=30) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            statuses[f"sign-up {client.post('/api/users').status_code}"] += 1
            statuses[f"feed {client.post('/api/feed?n=50', headers=auth).status_code}"] += 1
    statuses["client cpu ms"] = round(1000 * (time.process_time() - start))
    return statuses


def flooded(
    base: str, auth: dict[str, str], flooders: int, seconds: float, nice: int
) -> collections.Counter[str]:
    """`flooders` processes flooding for `seconds`; their answers and CPU, summed."""
    with ProcessPoolExecutor(flooders) as pool:
        floods = [pool.submit(flood, base, auth, seconds, nice) for _ in range(flooders)]
        return sum((f.result() for f in floods), collections.Counter[str]())


def requests(statuses: collections.Counter[str]) -> int:
    return sum(n for what, n in statuses.items() if what != "client cpu ms")


def refusal_cost(base: str, pid: int, auth: dict[str, str], seconds: float, nice: int) -> dict:
    """Worker and client CPU per request of one flooding process against the strict server."""
    user, system = user_system(pid)
    statuses = flooded(base, auth, 1, seconds, nice)
    n = requests(statuses)
    refused = sum(v for k, v in statuses.items() if k.endswith(" 429"))
    user_after, system_after = user_system(pid)
    return {
        "worker us": 1e6 * (user_after + system_after - user - system) / n,
        "user us": 1e6 * (user_after - user) / n,
        "system us": 1e6 * (system_after - system) / n,
        "client us": 1e3 * statuses["client cpu ms"] / n,
        "per s": n / seconds,
        "refused": refused / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--domain", default="identity")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase (10)")
    parser.add_argument("--flooders", default="1,4", help="flooding process counts (1,4)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds (2)")
    parser.add_argument("--nice", type=int, default=0, help="niceness of the flooders (0)")
    args = parser.parse_args()
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    counts = [int(k) for k in args.flooders.split(",")]
    phases = ["alone"] + [f"beside {k}" for k in counts]
    cost: dict[Path, list[dict]] = {s: [] for s in sources}
    calm: dict[Path, dict[str, list[float]]] = {s: {p: [] for p in phases} for s in sources}
    floods: dict[Path, dict[str, collections.Counter[str]]] = {
        s: {p: collections.Counter() for p in phases[1:]} for s in sources
    }
    loads: list[float] = []
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as workdir, ExitStack() as stack:
        servers = {}
        for i, src in enumerate(sources):
            env = {"PYTHONPATH": str(src)}
            strict = stack.enter_context(
                server(
                    args.domain,
                    f"sqlite:///{workdir}/s{i}.db",
                    "memory://",
                    workdir,
                    1,
                    env | STRICT,
                )
            )
            shipped = stack.enter_context(
                server(
                    args.domain,
                    f"sqlite:///{workdir}/p{i}.db",
                    "memory://",
                    workdir,
                    1,
                    env | SHIPPED,
                )
            )
            users = (sign_up(strict[0]), sign_up(shipped[0]), sign_up(shipped[0]))
            # The strict flood's one allowed feed, spent before any CPU is counted.
            httpx.post(strict[0] + "/api/feed?n=1", headers=users[0]).raise_for_status()
            calm_user(shipped[0], users[1], 3.0)  # warm up
            servers[src] = (strict, shipped, users)
        for _ in range(args.repeats):
            for src, ((strict_base, strict_pid), (base, _), users) in servers.items():
                cost[src].append(
                    refusal_cost(strict_base, strict_pid, users[0], args.seconds, args.nice)
                )
                calm[src]["alone"] += calm_user(base, users[1], args.seconds)
                for k, phase in zip(counts, phases[1:], strict=True):
                    with ThreadPoolExecutor(1) as side:  # it waits on the flooders' processes
                        flooding = side.submit(flooded, base, users[2], k, args.seconds, args.nice)
                        calm[src][phase] += calm_user(base, users[1], args.seconds)
                        floods[src][phase] += flooding.result()
                    loads.append(os.getloadavg()[0])
    print(
        f"load average during: {min(loads):.1f}-{max(loads):.1f}, after: {os.getloadavg()[0]:.1f}"
    )
    report(args, sources, phases, cost, calm, floods)


def report(
    args: argparse.Namespace,
    sources: list[Path],
    phases: list[str],
    cost: dict[Path, list[dict]],
    calm: dict[Path, dict[str, list[float]]],
    floods: dict[Path, dict[str, collections.Counter[str]]],
) -> None:
    names = [str(s)[-30:] for s in sources]
    print(f"\nCPU per request of one flooding process (strict quotas), median of {args.repeats}:")
    print(f"{'':<30}" + "".join(f"{n:>32}" for n in names))
    labels = {
        "worker us": "worker CPU us",
        "user us": "  of which user",
        "system us": "  of which system",
        "client us": "client CPU us",
        "per s": "requests/s",
    }
    for what in (*labels, "refused"):
        row = [statistics.median(c[what] for c in cost[s]) for s in sources]
        if what == "refused":
            print(f"{'answered 429 %':<30}" + "".join(f"{100 * v:>32.2f}" for v in row))
        else:
            print(f"{labels[what]:<30}" + "".join(f"{v:>32.0f}" for v in row))
    print(
        f"\ncalm user's rate-then-next-card, {args.domain}, ms (one worker, flooders nice "
        f"{args.nice}), n / p50 / p99:"
    )
    print(f"{'':<30}" + "".join(f"{n:>32}" for n in names))
    for phase in phases:
        cells = []
        for s in sources:
            ms = 1000 * np.array(calm[s][phase])
            cells.append(f"{len(ms)} / {np.median(ms):.1f} / {np.percentile(ms, 99):.1f}")
        print(f"{phase:<30}" + "".join(f"{c:>32}" for c in cells))
    for phase in phases[1:]:
        print(f"\nflood answers {phase} (all rounds):")
        for s, name in zip(sources, names, strict=True):
            statuses = floods[s][phase]
            n = requests(statuses)
            rate = n / (args.seconds * args.repeats)
            share = sum(v for k, v in statuses.items() if k.endswith(" 429")) / max(1, n)
            client = 1e3 * statuses["client cpu ms"] / max(1, n)
            print(
                f"  {name:>30}: {rate:.0f} requests/s, {100 * share:.1f}% answered 429, "
                f"client CPU {client:.0f} us per request; {dict(sorted(statuses.items()))}"
            )


if __name__ == "__main__":
    main()
