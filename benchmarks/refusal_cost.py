"""Where a refused request's CPU goes: the app in process, and uvicorn under a bare app.

1. For each source tree (`--src`), in a fresh interpreter with that tree first on the path: the
   app (identity, SQLite storage, quotas all spent) is called as an ASGI app, no sockets, for
   `--requests` refused sign-ups and as many refused 50-item feeds; CPU time per request,
   median of `--repeats`. `--profile` prints cProfile's top functions for the feed.
2. uvicorn alone: a bare ASGI app that answers every request 429, served as `plgl serve`
   serves (uvloop, plgl's httptools protocol with its read deadline), then with uvicorn's h11
   parser, then with the access log on (written to /dev/null); one process floods it with
   sign-ups and feeds for `--seconds`; the server's CPU per request from /proc, and the
   client's.

    python benchmarks/refusal_cost.py --src /tmp/base/src --src src [--requests 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BODY = b'{"error":"rate_limited","message":"too many requests"}'


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request 429: what uvicorn costs with no app to speak of."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"54")]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


def in_process(requests: int, repeats: int, profile: bool) -> dict[str, float]:
    """Median CPU microseconds per refused sign-up and feed, the app called directly."""
    from plgl.server import Settings, create_app

    workdir = tempfile.mkdtemp()
    app = create_app(
        Settings(
            domain="identity",
            storage=f"sqlite:///{workdir}/plgl.db",
            secret="bench-secret-" + "x" * 32,
            data_dir=Path(workdir),
            signups_per_minute=1,
            generation_rate=0.001,
            generation_burst=1,
        )
    )

    async def run() -> dict[str, float]:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        task = asyncio.create_task(app(lifespan, inbox.get, outbox.put))
        await outbox.get()
        token = app.state.services.tokens.issue()[1]
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        def scope(path: str, query: bytes, auth: bool) -> dict[str, Any]:
            headers = [(b"host", b"127.0.0.1"), (b"accept", b"*/*"), (b"content-length", b"0")]
            if auth:
                headers.append((b"authorization", b"Bearer " + token.encode()))
            return {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": path,
                "raw_path": path.encode(),
                "query_string": query,
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 50000),
                "server": ("127.0.0.1", 8000),
                "state": {},
            }

        result = {}
        for name, path, query, auth in (
            ("sign-up", "/api/users", b"", False),
            ("feed", "/api/feed", b"n=50", True),
        ):
            for _ in range(5):  # spends the allowance
                await app(scope(path, query, auth), receive, send)
            times = []
            for _ in range(repeats):
                statuses.clear()
                profiler = cProfile.Profile() if profile and name == "feed" else None
                start = time.process_time()
                if profiler is not None:
                    profiler.enable()
                for _ in range(requests):
                    await app(scope(path, query, auth), receive, send)
                if profiler is not None:
                    profiler.disable()
                    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)
                times.append(1e6 * (time.process_time() - start) / requests)
                assert set(statuses) == {429}, set(statuses)
            result[name] = statistics.median(times)
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task
        return result

    return asyncio.run(run())


def flood(base: str, seconds: float) -> tuple[int, float]:
    """Sign-ups and feeds as fast as answers come; (requests, client CPU seconds)."""
    import httpx

    n, start = 0, time.process_time()
    with httpx.Client(base_url=base) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            client.post("/api/users")
            client.post("/api/feed?n=50", headers={"Authorization": "Bearer x"})
            n += 2
    return n, time.process_time() - start


def uvicorn_alone(variant: str, seconds: float) -> dict[str, float]:
    """The bare app under uvicorn (`variant`: plgl, h11, access-log); CPU us per request."""
    import httpx
    from serve_load import cpu_seconds

    from plgl.testing.serve import free_port

    port = free_port()
    serve = (
        "import functools, uvicorn\n"
        "from plgl.server.protocol import DeadlineHttpToolsProtocol\n"
        "http = functools.partial(DeadlineHttpToolsProtocol, read_timeout=10.0,"
        " max_head_bytes=16384)\n"
        f"http = 'h11' if {variant == 'h11'} else http\n"
        f"uvicorn.run('refusal_cost:bare', port={port}, http=http, loop='auto',"
        f" log_level='info', access_log={variant == 'access-log'})\n"
    )
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    process = subprocess.Popen(
        [sys.executable, "-c", serve], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        before = cpu_seconds(process.pid)
        n, client = flood(base, seconds)
        worker = cpu_seconds(process.pid) - before
    finally:
        process.terminate()
        process.wait()
    return {"worker us": 1e6 * worker / n, "client us": 1e6 * client / n, "per s": n / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", type=Path, help="source trees (default: src)")
    parser.add_argument("--requests", type=int, default=5000, help="per round (5000)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (3)")
    parser.add_argument("--seconds", type=float, default=8.0, help="uvicorn floods (8)")
    parser.add_argument("--profile", action="store_true", help="cProfile the feed refusals")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a tree's run
    args = parser.parse_args()
    if args.one:
        print(json.dumps(in_process(args.requests, args.repeats, args.profile)))
        return
    sources = [p.resolve() for p in (args.src or [HERE.parent / "src"])]
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print("\nthe app in process, CPU us per refused request (SQLite storage):")
    for src in sources:
        command = [sys.executable, __file__, "--one", "--requests", str(args.requests)]
        command += ["--repeats", str(args.repeats)] + (["--profile"] if args.profile else [])
        env = os.environ | {"PYTHONPATH": str(src)}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        if args.profile:
            print(done.stderr)
        costs = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {str(src)[-40:]:>40}: sign-up {costs['sign-up']:.0f}, feed {costs['feed']:.0f}")
    print("\nuvicorn alone (a bare app answering 429), CPU us per request, one flooding process:")
    for variant in ("plgl", "h11", "access-log"):
        cost = uvicorn_alone(variant, args.seconds)
        print(
            f"  {variant:>12}: server {cost['worker us']:.0f}, client {cost['client us']:.0f},"
            f" {cost['per s']:.0f} requests/s"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
