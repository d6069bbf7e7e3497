"""Latency from a rating to the next item: through the HTTP service, and Session called directly.

Both run in this one process run on the same machine, the same domain (faces when installed,
else identity), the same warm content cache (a pregenerated candidate pool in a SQLite cache
file) and SQLite storage, with a consistent simulated taste. The server is a real `plgl serve`
subprocess on loopback; the client is httpx with keep-alive.

Three flows, each for its own user:
- next card: rate the card on screen, then load the next card's bytes from the batch the client
  already holds. This is what the web UI does (it prefetches batches of 10).
- fresh item: rate, then ask for one item chosen after that rating, and load its bytes.
- batch: ask for the next 10 items (the UI does this in the background every ~10 ratings).

    python benchmarks/serve_latency.py [--domain faces] [--swipes 200] [--pool 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np
import torch
from threadpoolctl import threadpool_limits

import plgl
from plgl.cache import from_url, pregenerate
from plgl.server import Settings
from plgl.testing import served

torch.set_num_threads(1)
# The server limits numpy's BLAS to one thread (Settings.threads); so does this process, or the
# direct calls would be measured under BLAS threads fighting for the cores.
threadpool_limits(limits=1)
BATCH = 10


def taste(domain: str) -> Callable[[dict[str, Any]], bool]:
    """A consistent simulated user, judging what the API shows (an item's metadata)."""
    if domain == "identity":
        return lambda metadata: metadata["vector"][0] + 0.5 * metadata["vector"][1] > 0
    if domain == "faces":
        return lambda metadata: metadata["brightness"] > 0.3
    counter = iter(range(10**9))
    return lambda metadata: next(counter) % 2 == 0


def signal(likes: Callable[[dict[str, Any]], bool], metadata: dict[str, Any]) -> str:
    return "like" if likes(metadata) else "dislike"


# ----------------------------------------------------------------- HTTP
@contextmanager
def server(domain: str, workdir: str, cache_url: str, rate_limit: bool = False) -> Iterator[str]:
    """A `plgl serve` subprocess on a free loopback port; yields its base URL.

    Without `rate_limit` the per-user limits are lifted: a benchmark client rates and asks for
    fresh items faster than a person could.
    """
    args = ["--domain", domain, "--storage", f"sqlite:///{workdir}/serve.db", "--cache", cache_url]
    env: dict[str, str] = {}
    if not rate_limit:
        env |= {"PLGL_FEEDBACK_RATE": "100000", "PLGL_FEEDBACK_BURST": "100000"}
        env |= {"PLGL_GENERATION_RATE": "100000", "PLGL_GENERATION_BURST": "100000"}
    args += ["--data-dir", workdir, "--log-level", "warning"]
    with served(args, env, timeout=60, quiet=False) as (base, _):
        yield base


def http_flows(base: str, domain: str, swipes: int) -> dict[str, list[float]]:
    likes = taste(domain)
    times: dict[str, list[float]] = {"next card": [], "fresh item": [], "batch of 10": []}
    with httpx.Client(base_url=base, timeout=60) as client:

        def user() -> dict[str, str]:
            token = client.post("/api/users").json()["token"]
            return {"Authorization": f"Bearer {token}"}

        def fetch(item: dict[str, Any], auth: dict[str, str]) -> None:
            url = next(iter(item["content"].values()))
            response = client.get(url, headers=auth)
            assert response.status_code == 200 and response.content

        def rate(item: dict[str, Any], auth: dict[str, str]) -> None:
            body = {"item_id": item["id"], "signal": signal(likes, item["metadata"])}
            assert client.post("/api/feedback", headers=auth, json=body).status_code == 200

        def feed(n: int, auth: dict[str, str]) -> list[dict[str, Any]]:
            response = client.post(f"/api/feed?n={n}", headers=auth)
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        auth = user()
        queue: list[dict[str, Any]] = []
        for _ in range(swipes):
            if len(queue) < 2:
                start = time.perf_counter()
                queue += feed(BATCH, auth)
                times["batch of 10"].append(time.perf_counter() - start)
            start = time.perf_counter()
            rate(queue.pop(0), auth)
            fetch(queue[0], auth)
            times["next card"].append(time.perf_counter() - start)

        auth = user()
        item = feed(1, auth)[0]
        for _ in range(swipes):
            start = time.perf_counter()
            rate(item, auth)
            item = feed(1, auth)[0]
            fetch(item, auth)
            times["fresh item"].append(time.perf_counter() - start)
    return times


# ---------------------------------------------------------------- direct
def direct_flows(
    generator: plgl.Generator, workdir: str, cache_url: str, swipes: int
) -> dict[str, list[float]]:
    likes = taste(generator.name)
    engine = plgl.Engine(generator, storage=f"sqlite:///{workdir}/direct.db", cache=cache_url)
    times: dict[str, list[float]] = {"next card": [], "fresh item": [], "batch of 10": []}

    def rate(session: plgl.Session, item: plgl.Item) -> None:
        session.tell(item.id, signal(likes, generator.metadata(item.content)))

    session = engine.session("next-card-user")
    queue: list[plgl.Item] = []
    for _ in range(swipes):
        if len(queue) < 2:
            start = time.perf_counter()
            queue += session.ask(BATCH)
            times["batch of 10"].append(time.perf_counter() - start)
        start = time.perf_counter()
        rate(session, queue.pop(0))
        session.render(queue[0].id)
        times["next card"].append(time.perf_counter() - start)

    session = engine.session("fresh-item-user")
    item = session.ask(1)[0]
    for _ in range(swipes):
        start = time.perf_counter()
        rate(session, item)
        item = session.ask(1)[0]
        session.render(item.id)
        times["fresh item"].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default=Settings().domain_name())
    parser.add_argument("--swipes", type=int, default=200, help="ratings per flow (200)")
    parser.add_argument("--pool", type=int, default=1000, help="pregenerated pool size (1000)")
    args = parser.parse_args()
    generator = plgl.generators.get(args.domain)
    print(
        f"load average before: {os.getloadavg()[0]:.1f} (this machine has {os.cpu_count()} cores)"
    )
    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        store = from_url(f"sqlite:///{workdir}/cache.db")
        pregenerate(generator, store, n=args.pool)
        store.close()
        print(f"warm cache: {args.pool} {args.domain} items in {time.perf_counter() - start:.1f} s")
        # The same warm cache for both, copied, so that neither run warms the other's.
        for name in ("direct", "http"):
            shutil.copy(f"{workdir}/cache.db", f"{workdir}/cache-{name}.db")
        direct = direct_flows(
            generator, workdir, f"sqlite:///{workdir}/cache-direct.db", args.swipes
        )
        with server(args.domain, workdir, f"sqlite:///{workdir}/cache-http.db") as base:
            http_flows(base, args.domain, 20)  # warm up the server process (torch, caches)
            http = http_flows(base, args.domain, args.swipes)

    print(f"\ndomain {args.domain}, {args.swipes} ratings per flow; milliseconds")
    header = f"{'flow':<12} {'n':>4} {'direct p50':>11} {'direct p99':>11} "
    print(header + f"{'HTTP p50':>9} {'HTTP p99':>9} {'HTTP/direct p50':>16}")
    for flow in ("next card", "fresh item", "batch of 10"):
        d = 1000 * np.array(direct[flow])
        h = 1000 * np.array(http[flow])
        print(
            f"{flow:<12} {len(h):>4} {np.median(d):>11.2f} {np.percentile(d, 99):>11.2f} "
            f"{np.median(h):>9.2f} {np.percentile(h, 99):>9.2f} "
            f"{np.median(h) / np.median(d):>15.1f}x"
        )
    print("target: p99 < 50 ms from a rating to the next item")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
