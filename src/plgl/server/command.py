"""`plgl serve`: the swipe feed and its REST API at http://127.0.0.1:8000 (OpenAPI at /docs)."""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plgl.server.settings import Settings

HELP = "start the web app: a swipe feed that learns what you like"
# uvicorn kills a worker that does not answer its supervisor's ping in time (5 s by default),
# and a new worker answers only after importing plgl and torch: on a loaded machine that takes
# longer, and the supervisor would kill and restart its workers forever.
_WORKER_HEALTHCHECK_S = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (PLGL_HOST; 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (PLGL_PORT; 8000)")
    parser.add_argument(
        "--domain", help="generator (PLGL_DOMAIN; faces if installed, else identity)"
    )
    parser.add_argument("--storage", help="storage URL (PLGL_STORAGE; sqlite:///DATA_DIR/plgl.db)")
    parser.add_argument("--cache", help="content cache URL (PLGL_CACHE; in memory)")
    parser.add_argument("--data-dir", type=Path, help="data directory (PLGL_DATA_DIR; ./plgl-data)")
    parser.add_argument("--seed", type=int, help="engine seed (PLGL_SEED; 0)")
    parser.add_argument("--threads", type=int, help="threads per numerical call (PLGL_THREADS; 1)")
    parser.add_argument(
        "--workers", type=int, help="API worker processes over the one storage (PLGL_WORKERS; 1)"
    )
    parser.add_argument(
        "--heavy-threads",
        type=int,
        help="requests that make new items run at once per worker (PLGL_HEAVY_THREADS; 1)",
    )
    parser.add_argument(
        "--generator",
        choices=["local", "ray"],
        help="run the generator in each worker, or on Ray Serve (PLGL_GENERATOR; local)",
    )
    parser.add_argument(
        "--ray-replicas", type=int, help="Ray Serve replicas (PLGL_RAY_REPLICAS; 1)"
    )
    parser.add_argument(
        "--ray-num-gpus", type=float, help="GPUs per Ray Serve replica (PLGL_RAY_NUM_GPUS; 0)"
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        help="seconds a client has to send a whole request (PLGL_READ_TIMEOUT; 10)",
    )
    parser.add_argument(
        "--keep-alive", type=int, help="idle keep-alive seconds (PLGL_KEEP_ALIVE_SECONDS; 30)"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a line per request at --log-level info (on; a flood's refusals are lines too)",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from plgl.server import Settings
    from plgl.server.protocol import DeadlineHttpToolsProtocol

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        domain=args.domain,
        storage=args.storage,
        cache=args.cache,
        data_dir=args.data_dir,
        seed=args.seed,
        threads=args.threads,
        workers=args.workers,
        heavy_threads=args.heavy_threads,
        generator=args.generator,
        ray_replicas=args.ray_replicas,
        ray_num_gpus=args.ray_num_gpus,
        read_timeout=args.read_timeout,
        keep_alive_seconds=args.keep_alive,
    )
    domain = _check(settings)
    settings.secret_key()  # made once here, not raced by the workers
    if settings.generator == "ray":
        from plgl.generators.remote import deploy

        deploy(
            settings.domain_name(),
            replicas=settings.ray_replicas,
            num_gpus=settings.ray_num_gpus,
            max_batch_size=settings.ray_max_batch,
        )
    # Every worker builds its own app from the same settings, handed over by environment.
    os.environ.update(settings.to_env())
    print(
        f"plgl: serving {domain} at http://{settings.host}:{settings.port}"
        f" with {settings.workers} worker{'s' if settings.workers > 1 else ''}"
    )
    uvicorn.run(
        "plgl.server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        # uvicorn calls `http` like a protocol class; a partial carries the limits with it.
        http=functools.partial(  # type: ignore[arg-type]
            DeadlineHttpToolsProtocol,
            read_timeout=settings.read_timeout,
            max_head_bytes=settings.max_header_bytes,
        ),
        loop="auto",  # uvloop (libuv: less CPU per request than asyncio's own) where installed
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_worker_healthcheck=_WORKER_HEALTHCHECK_S,
    )
    return 0


def _check(settings: Settings) -> str:
    """The name of the domain that will be served; a usage message, not a startup traceback, on
    an unknown domain, a configured domain that cannot load (missing weights) or a bad storage
    URL. The default domain falls back to identity (see `build_generator`)."""
    import plgl
    from plgl.server.app import build_generator
    from plgl.server.files import create_private

    domain = settings.domain_name()
    if domain not in plgl.generators.available():
        raise ValueError(
            f"unknown domain {domain!r}: expected one of " + ", ".join(plgl.generators.available())
        )
    try:
        generator = build_generator(settings)
    except (plgl.PlglError, OSError, ImportError) as error:
        raise ValueError(f"the {domain} domain cannot start: {error}") from None
    if settings.storage is None:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for url in (settings.storage_url(), settings.cache):
        create_private(url)
    storage = plgl.storage.from_url(settings.storage_url())
    close = getattr(storage, "close", None)
    if callable(close):
        close()
    return generator.name
