"""Memory: one worker's RSS, and Redis's bytes per user, as 1,000 to 20,000 users are touched.

Starts Redis and one `plgl serve` worker (Redis storage; content from a pregenerated pool in
Redis db 1), then has users sign up, fetch a batch of cards and rate them over HTTP (8
concurrent clients), printing after each checkpoint the worker's RSS, Redis's used memory and
the cost per user. The worker keeps at most `--max-sessions` sessions in memory (PLGL_* engine
settings), so its RSS should stay flat however many users it has served.

    python benchmarks/serve_memory.py [--domain faces] [--users 20000] [--ratings 5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis
from serve_load import rss_mib, server, worker_pids

import plgl
from plgl.cache import from_url, pregenerate
from plgl.testing import RedisServer

CHECKPOINTS = (1000, 2000, 5000, 10000, 20000)


def touch(client: httpx.Client, ratings: int) -> None:
    """One new user: sign up, take a batch of cards, rate them."""
    token = client.post("/api/users").json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post(f"/api/feed?n={ratings}", headers=auth)
    response.raise_for_status()
    for item in response.json()["items"]:
        body = {"item_id": item["id"], "signal": "like"}
        client.post("/api/feedback", headers=auth, json=body).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="faces")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--ratings", type=int, default=5, help="ratings per user (5)")
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (8)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as workdir, RedisServer(appendfsync="everysec") as server_:
        cache_url = server_.url[:-2] + "/1"
        store = from_url(cache_url)
        pregenerate(plgl.generators.get(args.domain), store, n=args.pool)
        store.close()
        counter = redis.Redis.from_url(server_.url)
        with server(args.domain, server_.url, cache_url, workdir, 1) as (base, pid):
            worker = worker_pids(pid)[0]
            clients = [httpx.Client(base_url=base, timeout=60) for _ in range(args.clients)]
            base_redis = counter.info("memory")["used_memory"]
            print(f"idle worker: {rss_mib(worker):.0f} MiB; Redis {base_redis / 2**20:.1f} MiB")
            print(
                f"{'users':>6} {'worker RSS MiB':>15} {'Redis MiB':>10} {'Redis B/user':>13} "
                f"{'users/s':>8}"
            )
            done, start = 0, time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                for checkpoint in [c for c in CHECKPOINTS if c <= args.users]:
                    todo = checkpoint - done
                    list(
                        pool.map(
                            lambda i: touch(clients[i % args.clients], args.ratings), range(todo)
                        )
                    )
                    done = checkpoint
                    used = counter.info("memory")["used_memory"]
                    print(
                        f"{done:>6} {rss_mib(worker):>15.0f} {used / 2**20:>10.1f} "
                        f"{(used - base_redis) / done:>13.0f} "
                        f"{done / (time.perf_counter() - start):>8.0f}",
                        flush=True,
                    )
            for client in clients:
                client.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
