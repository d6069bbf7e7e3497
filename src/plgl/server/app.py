"""The app factory: `create_app(settings)` wires routers, errors, limits and the web UI.

>>> from fastapi.testclient import TestClient
>>> app = create_app(Settings(domain="identity", storage="memory://", secret="s" * 32))
>>> with TestClient(app) as client:
...     token = client.post("/api/users").json()["token"]
...     client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["ratings"]
0
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import anyio
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

import plgl
from plgl.population.limits import SharedMatchLimiter
from plgl.server import docs, errors, memory
from plgl.server.auth import Tokens
from plgl.server.deps import Services
from plgl.server.files import create_private
from plgl.server.gate import QuotaGate
from plgl.server.middleware import BodyLimit, HeadLimit, SecurityHeaders
from plgl.server.ratelimit import BaseRateLimiter, RateLimiter
from plgl.server.ratelimit_memo import RefusalMemo
from plgl.server.routers import content, criteria, discover, feed, matching, users
from plgl.server.settings import Settings
from plgl.storage import BaseStorage, SQLiteStorage

log = logging.getLogger("plgl.server")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The plgl web app; None reads settings from PLGL_* environment variables.

    The generator, storage and engine are built when the app starts (its lifespan), not here.
    """
    settings = settings if settings is not None else Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_threads(settings.threads)
        memory.limit_arenas()  # before the request threads exist
        app.state.services = build_services(settings)
        generator = app.state.services.engine.generator
        log.info("plgl serves %s with storage %s", generator.name, settings.storage_url())
        trimmer = asyncio.create_task(memory.trim_every(30.0))
        try:
            yield
        finally:
            trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trimmer
            engine = app.state.services.engine
            engine.close()  # pending snapshots written, storage closed
            app.state.services.limiter.close()
            close = getattr(engine.cache.store, "close", None)
            if callable(close):
                close()

    app = FastAPI(
        title="plgl",
        version=plgl.__version__,
        summary="A swipe feed that learns what you like from likes, skips and comparisons.",
        lifespan=lifespan,
        docs_url=None,  # served by plgl.server.docs from installed assets, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    for module in (users, feed, discover, content, criteria, matching):
        app.include_router(module.router)
    errors.install(app)
    docs.install(app)
    app.add_middleware(QuotaGate)  # innermost of these: 431 and 413 come before a 429
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadLimit, max_bytes=settings.max_header_bytes)
    app.add_middleware(SecurityHeaders)
    static = resources.files("plgl.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The web UI (a single page; its scripts and styles are under /static)."""
        return FileResponse(str(static / "index.html"), headers={"Cache-Control": "no-cache"})

    return app


def limit_threads(threads: int) -> None:
    """Cap the threads of numpy's BLAS and of torch (process-wide) for a server's workload."""
    import torch
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=threads)
    torch.set_num_threads(threads)


def build_generator(settings: Settings) -> plgl.Generator:
    """The configured domain's generator; with no domain configured, faces, or identity (with a
    warning) when the face weights are not installed."""
    try:
        return plgl.generators.get(settings.domain_name())
    except (plgl.PlglError, OSError, ImportError) as error:
        if settings.domain is not None:
            raise
        log.warning("the default faces domain cannot start (%s); serving identity instead", error)
        return plgl.generators.get("identity")


def build_services(settings: Settings) -> Services:
    """The engine (generator + storage), token issuer and rate limiter for `settings`."""
    if settings.storage is None:  # the default SQLite file lives in the data directory
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for url in (settings.storage_url(), settings.cache):
        create_private(url)
    generator: plgl.Generator
    if settings.generator == "ray":  # deployed by `plgl serve` (see plgl.generators.remote)
        from plgl.generators.remote import RemoteGenerator

        generator = RemoteGenerator(settings.domain_name(), max_batch_size=settings.ray_max_batch)
    else:
        generator = build_generator(settings)
    # The population's state is refreshed offline (`plgl population refresh`) into the storage,
    # where the engine picks it up; its handle key is derived from the token secret.
    handles = hmac.new(settings.secret_key(), b"plgl population handles", "sha256").digest()
    engine = plgl.Engine(
        generator=generator,
        storage=settings.storage_url(),
        seed=settings.seed,
        for_you=settings.for_you,
        cache=settings.cache,
        max_sessions=settings.max_sessions,
        perceptual_maps=settings.perceptual_maps,
        idle_seconds=settings.idle_seconds,
        population=plgl.Population(secret=handles),
    )
    limiter = build_limiter(settings, engine.storage)
    if engine.population is not None:  # match questions spend from the server's own buckets
        engine.population.limiter = SharedMatchLimiter(limiter)
    return Services(
        engine=engine,
        tokens=Tokens(settings.secret_key()),
        limiter=limiter,
        heavy=anyio.CapacityLimiter(settings.heavy_threads),
    )


def build_limiter(settings: Settings, storage: BaseStorage) -> BaseRateLimiter:
    """Buckets where the storage is, so that every worker spends from the same ones: in Redis
    (over the storage's connections: limits hold across workers and machines), in a SQLite
    file (across the workers of one machine), else in the worker process (memory storage).
    Shared buckets are asked through a `RefusalMemo`, so that a flood costs one shared take
    per refusal's length, not one per request."""
    if isinstance(storage, SQLiteStorage) and storage.path != ":memory:":
        from plgl.server.ratelimit_sqlite import SQLiteRateLimiter

        return RefusalMemo(SQLiteRateLimiter(storage.path, timeout=storage.timeout))
    if settings.storage_url().startswith(("redis://", "rediss://", "unix://")):
        from plgl.server.ratelimit_redis import RedisRateLimiter  # needs redis-py
        from plgl.storage.redis import RedisStorage

        if isinstance(storage, RedisStorage):
            return RefusalMemo(RedisRateLimiter.sharing(storage))
    return RateLimiter()
