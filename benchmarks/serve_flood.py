"""Floods: a calm user's latency alone, then while one client floods sign-ups and the feed.

Starts `plgl serve` (one worker, SQLite storage, shipped quotas), then measures a calm user's
"rate, then next card" (a rating and the next card's content) for `--seconds`, first alone and
then while `--flooders` processes of one other client post sign-ups and feed requests as fast as
they can. Prints the calm user's p50/p99 side by side, and what the flood got back (429s).

    python benchmarks/serve_flood.py [--domain identity] [--seconds 15] [--flooders 4]
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import httpx
import numpy as np
from serve_load import server


def calm_user(base: str, seconds: float) -> list[float]:
    """Seconds per "rate, then next card" of one user swiping at a person's pace."""
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        auth = {"Authorization": "Bearer " + client.post("/api/users").json()["token"]}
        queue: list[dict[str, str]] = []
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


def flood(base: str, seconds: float) -> collections.Counter[str]:
    """One flooding process: sign-ups and 50-item feeds as fast as answers come back."""
    statuses: collections.Counter[str] = collections.Counter()
    with httpx.Client(base_url=base, timeout=30) as client:
        auth = {"Authorization": "Bearer " + client.post("/api/users").json()["token"]}
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            statuses[f"sign-up {client.post('/api/users').status_code}"] += 1
            statuses[f"feed {client.post('/api/feed?n=50', headers=auth).status_code}"] += 1
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="identity")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--flooders", type=int, default=4, help="flooding processes (4)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as workdir:
        storage = f"sqlite:///{workdir}/plgl.db"
        shipped = {"PLGL_SIGNUPS_PER_MINUTE": "30"}  # the default, which serve_load lifts
        with server(args.domain, storage, "memory://", workdir, 1, shipped) as (base, _):
            calm_user(base, 3.0)  # warm up
            alone = calm_user(base, args.seconds)
            # Flooders in their own processes: threads here would slow the calm client itself.
            with ProcessPoolExecutor(args.flooders) as pool:
                floods = [pool.submit(flood, base, args.seconds) for _ in range(args.flooders)]
                flooded = calm_user(base, args.seconds)
                statuses = sum((f.result() for f in floods), collections.Counter[str]())
    print(f"calm user's rate-then-next-card, {args.domain}, ms (one worker, same 2 cores):")
    print(f"{'':<22} {'n':>5} {'p50':>7} {'p99':>7}")
    for name, times in (("alone", alone), (f"{args.flooders}-process flood", flooded)):
        ms = 1000 * np.array(times)
        print(f"{name:<22} {len(ms):>5} {np.median(ms):>7.1f} {np.percentile(ms, 99):>7.1f}")
    print("flood answers:", dict(sorted(statuses.items())))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
