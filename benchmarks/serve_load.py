"""Load: simulated swipers (locust, headless) against `plgl serve` with 1, then 2 workers.

Starts Redis (storage on db 0, the pregenerated content pool on db 1) and, for each worker
count, a fresh `plgl serve` on loopback; runs benchmarks/locustfile.py; prints requests/s, errors
and p50/p95/p99 per endpoint and for the flow "rate, then next card" (a rating and the next
card's content, what a person waits for), the RSS of each worker and the machine's 1-minute load
average sampled over the run, and the CPU time of the workers and of locust. The load generator
runs on the same machine and cores as the server. Exits 1 on any error.

    python benchmarks/serve_load.py [--domain faces] [--users 200] [--seconds 120]
        [--workers 1,2] [--storage redis|sqlite] [--feed feed|cards] [--wait 0.3,1.2]
        [--json out.json]

`--feed cards`: the swipers ask for cards, as the web app does (`POST /api/cards`: champion
duels on faces after 40 answers), instead of `POST /api/feed`. `--wait LO,HI`: each simulated
user's think time between actions, uniform in seconds (0.3-1.2: a quick swiper).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import plgl
from plgl.cache import from_url, pregenerate
from plgl.testing import RedisServer, served

HERE = Path(__file__).resolve().parent
SECRET = "load-test-secret-" + "x" * 32


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="faces", help="generator served (faces)")
    parser.add_argument("--users", type=int, default=200, help="simulated users (200)")
    parser.add_argument("--spawn-rate", type=float, default=20.0, help="users started per second")
    parser.add_argument("--seconds", type=int, default=120, help="test length per run (120)")
    parser.add_argument("--pool", type=int, default=2000, help="pregenerated pool size (2000)")
    parser.add_argument("--workers", default="1,2", help="worker counts to run (1,2)")
    parser.add_argument("--storage", choices=["redis", "sqlite"], default="redis")
    parser.add_argument("--feed", choices=["feed", "cards"], default="feed", help="(feed)")
    parser.add_argument("--wait", default="0.3,1.2", help="think time LO,HI in seconds (0.3,1.2)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    low, high = (float(s) for s in args.wait.split(","))
    if not 0 <= low <= high:
        parser.error(f"--wait must be LO,HI with 0 <= LO <= HI, got {args.wait!r}")
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    results = []
    with tempfile.TemporaryDirectory() as workdir, RedisServer(appendfsync="everysec") as redis:
        cache_url = (
            f"{redis.url[:-2]}/1" if args.storage == "redis" else f"sqlite:///{workdir}/c.db"
        )
        start = time.perf_counter()
        store = from_url(cache_url)
        pregenerate(plgl.generators.get(args.domain), store, n=args.pool)
        store.close()
        print(f"pool: {args.pool} {args.domain} items in {time.perf_counter() - start:.0f} s")
        for workers in [int(w) for w in args.workers.split(",")]:
            storage = redis.url if args.storage == "redis" else f"sqlite:///{workdir}/s{workers}.db"
            with server(args.domain, storage, cache_url, workdir, workers) as (base, pid):
                result = run_locust(base, pid, args, f"{workdir}/w{workers}")
            result["workers"] = workers
            results.append(result)
            report(result, args)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if any(r["errors"] for r in results) else 0


@contextmanager
def server(
    domain: str,
    storage: str,
    cache: str,
    workdir: str,
    workers: int,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """`plgl serve` on a free loopback port, `env` on top of the process's environment; yields
    (base URL, the supervisor's pid)."""
    args = ["--domain", domain, "--storage", storage, "--cache", cache, "--data-dir", workdir]
    args += ["--workers", str(workers), "--log-level", "warning"]
    # One client address signs all simulated users up; every other quota stays as shipped.
    variables = {"PLGL_SIGNUPS_PER_MINUTE": "1000000", "PLGL_SECRET": SECRET} | (env or {})

    def all_up(process: subprocess.Popen[bytes]) -> bool:
        return len(worker_pids(process.pid)) >= workers

    with served(args, variables, timeout=120, ready=all_up, quiet=False) as (base, process):
        yield base, process.pid


def worker_pids(supervisor: int) -> list[int]:
    """The processes serving requests: uvicorn's workers, or the server itself with one."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
            if ppid == supervisor and b"spawn_main" in cmdline:
                children.append(int(entry.name))
    return sorted(children) or [supervisor]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def user_system(pid: int) -> tuple[float, float]:
    """The process's user and system CPU seconds so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used."""
    return sum(user_system(pid))


def run_locust(base: str, supervisor: int, args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    rss: list[tuple[float, list[float]]] = []
    load: list[float] = []
    done = threading.Event()
    start = time.monotonic()

    def sample() -> None:
        while not done.wait(5.0):
            try:
                pids = worker_pids(supervisor)
                rss.append((time.monotonic() - start, [rss_mib(pid) for pid in pids]))
                load.append(os.getloadavg()[0])
            except OSError:
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    pids = worker_pids(supervisor)
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    command = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless"]
    command += ["--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
    command += ["--run-time", f"{args.seconds}s", "--host", base, "--csv", prefix]
    command += ["--only-summary", "--loglevel", "ERROR"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = os.environ | {"PLGL_LOAD_FEED": args.feed, "PLGL_LOAD_WAIT": args.wait}
    run = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # locust's, once it has exited
    locust_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    done.set()
    sampler.join()
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust did not run:\n{run.stderr}")
    rows = _csv(f"{prefix}_stats.csv")
    # The flow is reported beside the requests it is made of: left out of the totals.
    requests = [row for row in rows if row["Type"] not in ("FLOW", "")]
    return {
        "endpoints": [
            {
                "name": "all" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}",
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]),
                **{p: float(row[f"{p}%"]) for p in ("50", "95", "99")},
            }
            for row in rows
        ],
        "failures": _csv(f"{prefix}_failures.csv"),
        "rps": sum(float(row["Requests/s"]) for row in requests),
        "errors": sum(int(row["Failure Count"]) for row in requests),
        "worker_cpu_ms_per_request": 1000
        * cpu
        / max(1, sum(int(r["Request Count"]) for r in requests)),
        "worker_cpu_share": cpu / args.seconds / (os.cpu_count() or 1),
        "locust_cpu_share": locust_cpu / args.seconds / (os.cpu_count() or 1),
        "load_average": load,
        "rss_mib": rss,
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    workers = result["workers"]
    print(
        f"\n{args.users} users, {args.domain}, {args.seconds} s, {workers} worker(s), "
        f"{args.storage} storage, /api/{args.feed}, think time {args.wait} s; milliseconds (load "
        "generator on the same cores)"
    )
    print(f"{'endpoint':<34} {'requests':>8} {'errors':>6} {'p50':>6} {'p95':>6} {'p99':>6}")
    for row in result["endpoints"]:
        print(
            f"{row['name']:<34} {row['requests']:>8} {row['errors']:>6} {row['50']:>6.0f} "
            f"{row['95']:>6.0f} {row['99']:>6.0f}"
        )
    for failure in result["failures"]:
        print(f"FAILED {failure['Method']} {failure['Name']}: {failure['Error']}")
    print(f"throughput {result['rps']:.0f} requests/s; errors {result['errors']}")
    print(f"worker CPU per request: {result['worker_cpu_ms_per_request']:.1f} ms")
    print(
        f"share of the machine's CPU: workers {result['worker_cpu_share']:.0%}, "
        f"locust {result['locust_cpu_share']:.0%}"
    )
    if result["load_average"]:
        load = result["load_average"]
        print(f"1-minute load average during the run: {min(load):.1f} to {max(load):.1f}")
    series = "; ".join(
        f"{t:.0f}s " + "/".join(f"{m:.0f}" for m in mib) for t, mib in result["rss_mib"][::4]
    )
    print(f"RSS per worker (MiB) over time: {series}")


def _csv(path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(Path(path).read_text().splitlines()))


if __name__ == "__main__":
    raise SystemExit(main())
