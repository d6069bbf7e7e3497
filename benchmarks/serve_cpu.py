"""Worker CPU per request, per endpoint: `plgl serve` (1 worker) under a fixed request sequence.

Starts Redis (storage on db 0, a pregenerated content pool on db 1) and, for each source tree
given (`--src`, e.g. a baseline checkout's `src` and this one's), a fresh `plgl serve` with
that tree first on PYTHONPATH. Simulated users sign up and fetch a first batch; then each
phase sends the same requests to every server (keep-alive, from `--clients` threads) and
reads the worker's user+system CPU time from /proc before and after:

- feedback: POST /api/feedback, a rating of a served item;
- content: GET /api/items/{id}/content of an item not fetched before (rendered bytes);
- content again: the same URLs again, with the ETag the first answer gave (304);
- feed: POST /api/feed?n=10;
- recommendations: GET /api/recommendations?k=6; recommendations again: the same request once
  more, nothing answered since (For-you remembered); reverse: GET /api/reverse?target=0.7&n=4;
- me: GET /api/me;
- cards: POST /api/cards?n=5 (what the web app asks for) of users who gave `DUELS_FROM`
  answers first (40 on faces, untimed), so that about half the cards are champion duels
  (`plgl.duels`).

Medians of `--repeats` rounds; the servers take turns within each round, so slow drift of the
shared machine's load hits both alike. CPU time is what the worker spends, and depends far less
on the load than latency does (a busy machine still inflates it some: caches, switches); the
load average is printed. The rate limits are raised so that no phase is refused (each request
still spends from its bucket). `--profile DIR` also records each server with py-spy (installed
on its own: `pip install py-spy`; samples of threads holding the GIL, `--format raw` collapsed
stacks) while the phases run.

    python benchmarks/serve_cpu.py --src /tmp/base/src --src src [--users 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

import plgl
from plgl.cache import from_url, pregenerate
from plgl.duels import DUELS_FROM
from plgl.testing import RedisServer

HERE = Path(__file__).resolve().parent
SIGNALS = ["like", "dislike", "dislike", "superlike"]  # the answers of the `cards` users
PHASES = (
    "feedback",
    "content",
    "content again",
    "feed",
    "recommendations",
    "recommendations again",
    "reverse",
    "me",
    "cards",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--domain", default="faces")
    parser.add_argument("--users", type=int, default=40, help="simulated users per round (40)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (4)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (3)")
    parser.add_argument("--pool", type=int, default=500, help="pregenerated pool size (500)")
    parser.add_argument("--profile", type=Path, help="folder for py-spy profiles")
    parser.add_argument("--phases", default=",".join(PHASES), help="phases to run (all)")
    args = parser.parse_args()
    phases = [p for p in PHASES if p in args.phases.split(",")]
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as workdir, RedisServer(appendfsync="everysec") as redis:
        cache = f"{redis.url[:-2]}/1"
        store = from_url(cache)
        pregenerate(plgl.generators.get(args.domain), store, n=args.pool)
        store.close()
        results = {s: {p: [] for p in phases} for s in sources}
        with ExitStack() as stack:
            servers = {}
            for i, src in enumerate(sources):
                storage = f"{redis.url[:-2]}/{2 + i}"  # one storage per server, one Redis
                servers[src] = stack.enter_context(serve(src, args.domain, storage, cache, workdir))
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                for i, (_, pid) in enumerate(servers.values()):
                    stack.enter_context(py_spy(pid, args.profile / f"server{i}.txt"))
            for _ in range(args.repeats):
                for src, (base, pid) in servers.items():
                    timed = one_round(base, pid, args.users, args.clients, phases, args.domain)
                    for phase, ms in timed.items():
                        results[src][phase].append(ms)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"\nworker CPU ms per request, {args.domain}, Redis, median of {args.repeats} rounds")
    print(f"{'phase':<22}" + "".join(f"{str(s)[-28:]:>30}" for s in sources))
    for phase in phases:
        row = [statistics.median(results[s][phase]) for s in sources]
        print(f"{phase:<22}" + "".join(f"{ms:>30.2f}" for ms in row))
    return 0


@contextmanager
def serve(src: Path, domain: str, storage: str, cache: str, workdir: str) -> Iterator[Any]:
    """`plgl serve` (1 worker) from source tree `src`; yields (base URL, worker pid)."""
    from serve_load import server  # the same launcher as the load test

    env = {"PYTHONPATH": str(src), "PLGL_FEEDBACK_RATE": "1000", "PLGL_GENERATION_RATE": "1000"}
    with server(domain, storage, cache, workdir, 1, env=env) as (base, pid):
        yield base, pid


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    command = [
        str(Path(sys.executable).parent / "py-spy"),
        "record",
        "-p",
        str(pid),
        "-o",
        str(out),
        "--format",
        "raw",
    ]
    command += ["--rate", "200", "--nonblocking", "--gil"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(2)  # SIGINT: py-spy writes what it sampled
        process.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(
    base: str, pid: int, users: int, clients: int, phases: list[str], domain: str
) -> dict[str, float]:
    """Sign `users` up, give each a first batch, then time each phase; ms of CPU per request."""
    sessions = []
    with httpx.Client(base_url=base) as client:
        for _ in range(users):
            token = client.post("/api/users").json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            items = client.post("/api/feed?n=10", headers=headers).json()["items"]
            sessions.append((headers, items))
        if "cards" in phases:  # answers enough for duels, before the clock starts
            rng = random.Random(0)
            for headers, _ in sessions:
                answered = 0
                while answered < DUELS_FROM.get(domain, 0):
                    for item in _ok(client.post("/api/feed?n=10", headers=headers)).json()["items"]:
                        body = {"item_id": item["id"], "signal": rng.choice(SIGNALS)}
                        _ok(client.post("/api/feedback", json=body, headers=headers))
                        answered += 1
    etags: dict[str, str] = {}

    def feedback(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        for item in items[:5]:
            body = {"item_id": item["id"], "signal": "like", "event_id": uuid.uuid4().hex}
            _ok(client.post("/api/feedback", json=body, headers=headers))
        return len(items[:5])

    def content(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        for item in items[:5]:
            url = next(iter(item["content"].values()))
            answer = _ok(client.get(url, headers=headers))
            etags[url] = answer.headers["etag"]
        return len(items[:5])

    def again(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        for item in items[:5]:
            url = next(iter(item["content"].values()))
            answer = client.get(url, headers=headers | {"If-None-Match": etags[url]})
            assert answer.status_code == 304, answer.status_code
        return len(items[:5])

    def feed(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        for _ in range(2):
            _ok(client.post("/api/feed?n=10", headers=headers))
        return 2

    def recommendations(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        _ok(client.get("/api/recommendations?k=6", headers=headers))
        return 1

    def reverse(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        _ok(client.get("/api/reverse?target=0.7&n=4", headers=headers))
        return 1

    def me(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        for _ in range(5):
            _ok(client.get("/api/me", headers=headers))
        return 5

    def cards(client: httpx.Client, headers: dict[str, str], items: list[Any]) -> int:
        for _ in range(2):
            _ok(client.post("/api/cards?n=5", headers=headers))
        return 2

    steps = {"feedback": feedback, "content": content, "content again": again}
    steps |= {"feed": feed, "recommendations": recommendations, "reverse": reverse, "me": me}
    steps |= {"recommendations again": recommendations}
    steps |= {"cards": cards}
    return {phase: _timed(base, pid, sessions, clients, steps[phase]) for phase in phases}


Step = Callable[[httpx.Client, dict[str, str], list[Any]], int]  # returns requests sent


def _timed(base: str, pid: int, sessions: list[Any], clients: int, step: Step) -> float:
    """ms of worker CPU per request of `step` run for every session from `clients` threads."""
    counts = [0] * clients

    def run(k: int) -> None:
        with httpx.Client(base_url=base) as client:
            client.get("/api/domain")  # connected before the clock starts
            ready.wait()
            for headers, items in sessions[k::clients]:
                counts[k] += step(client, headers, items)

    ready = threading.Event()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    start = cpu_seconds(pid)
    ready.set()
    for thread in threads:
        thread.join()
    return 1000 * (cpu_seconds(pid) - start) / max(1, sum(counts))


def _ok(answer: httpx.Response) -> httpx.Response:
    if answer.status_code >= 400:
        raise SystemExit(f"{answer.request.method} {answer.request.url}: {answer.status_code}")
    return answer


if __name__ == "__main__":
    raise SystemExit(main())
