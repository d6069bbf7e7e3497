"""`plgl serve`: the swipe feed and its REST API at http://127.0.0.1:8000 (OpenAPI at /docs)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plgl.server.settings import Settings

HELP = "start the web app: a swipe feed that learns what you like"


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
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from plgl.server import Settings, create_app

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        domain=args.domain,
        storage=args.storage,
        cache=args.cache,
        data_dir=args.data_dir,
        seed=args.seed,
        threads=args.threads,
    )
    domain = _check(settings)
    print(f"plgl: serving {domain} at http://{settings.host}:{settings.port}")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level
    )
    return 0


def _check(settings: Settings) -> str:
    """The name of the domain that will be served; a usage message, not a startup traceback, on
    an unknown domain, a configured domain that cannot load (missing weights) or a bad storage
    URL. The default domain falls back to identity (see `build_generator`)."""
    import plgl
    from plgl.server.app import build_generator

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
    storage = plgl.storage.from_url(settings.storage_url())
    close = getattr(storage, "close", None)
    if callable(close):
        close()
    return generator.name
