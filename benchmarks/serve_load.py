"""Load: 50 simulated swipers (locust, headless) against a local `plgl serve` on loopback.

Starts the server (SQLite storage, a pregenerated pool in a SQLite content cache), runs
benchmarks/locustfile.py for a short time, and prints every endpoint's request count, errors
and latency percentiles. Exits 1 if any request failed.

    python benchmarks/serve_load.py [--domain identity] [--users 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from serve_latency import server

import plgl
from plgl.cache import from_url, pregenerate

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="identity", help="generator served (identity)")
    parser.add_argument("--users", type=int, default=50, help="simulated users (50)")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--seconds", type=int, default=60, help="test length (60)")
    parser.add_argument("--pool", type=int, default=1000, help="pregenerated pool size (1000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        cache_url = f"sqlite:///{workdir}/cache.db"
        pregenerate(plgl.generators.get(args.domain), from_url(cache_url), n=args.pool)
        with server(args.domain, workdir, cache_url, rate_limit=True) as base:
            prefix = f"{workdir}/load"
            command = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py")]
            command += ["--headless", "--users", str(args.users)]
            command += ["--spawn-rate", str(args.spawn_rate), "--run-time", f"{args.seconds}s"]
            command += ["--host", base, "--csv", prefix, "--only-summary", "--loglevel", "ERROR"]
            start = time.perf_counter()
            run = subprocess.run(command, check=False, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if not Path(f"{prefix}_stats.csv").exists():
                raise SystemExit(f"locust did not run:\n{run.stderr}")
            rows = _csv(f"{prefix}_stats.csv")
            failures = _csv(f"{prefix}_failures.csv")
    print(
        f"{args.users} users, {args.domain}, {elapsed:.0f} s on loopback "
        "(SQLite storage, warm SQLite content cache); milliseconds"
    )
    columns = ("requests", "errors", "p50", "p95", "p99", "max")
    print(f"{'endpoint':<28} " + " ".join(f"{c:>8}" for c in columns))
    for row in rows:
        name = "all" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        values = (row["Request Count"], row["Failure Count"], row["50%"], row["95%"], row["99%"])
        print(
            f"{name:<28} "
            + " ".join(f"{v:>8}" for v in values)
            + f" {float(row['Max Response Time']):>8.0f}"
        )
    for failure in failures:
        where = f"{failure['Method']} {failure['Name']}"
        print(f"FAILED {where}: {failure['Error']} x{failure['Occurrences']}")
    total = next(row for row in rows if row["Name"] == "Aggregated")
    print(
        f"throughput {float(total['Requests/s']):.0f} requests/s; errors {total['Failure Count']}"
    )
    return 1 if int(total["Failure Count"]) else 0


def _csv(path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(Path(path).read_text().splitlines()))


if __name__ == "__main__":
    raise SystemExit(main())
