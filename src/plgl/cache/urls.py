"""Cache stores by URL, like storage: memory://, sqlite:///path, redis://host:port/db."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from plgl.cache._base import BaseCache
from plgl.cache.memory import MemoryCache
from plgl.errors import InvalidInputError
from plgl.storage import split_sqlite_url

_SUPPORTED = "memory:// (or memory://?max_bytes=N), sqlite:///path or redis://host:port/db"


def from_url(url: str | BaseCache | None) -> BaseCache:
    """A cache store for `url`; None or "memory://" give an in-memory LRU store.

    >>> store = from_url("memory://?max_bytes=1000")
    >>> type(store).__name__, store.max_bytes
    ('MemoryCache', 1000)
    """
    if url is None:
        return MemoryCache()
    if isinstance(url, BaseCache):
        return url
    if not isinstance(url, str):
        raise InvalidInputError(f"cache must be a URL string or a BaseCache, got {url!r}")
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "memory":
        return _memory(url)
    if scheme == "sqlite":
        from plgl.cache.sqlite import SQLiteCache

        path, query = split_sqlite_url(url, "SQLite cache URL")
        if query:
            raise InvalidInputError(f"SQLite cache URLs take no options, got {url!r}")
        return SQLiteCache(path)
    if scheme in ("redis", "rediss", "unix"):
        from plgl.cache.redis import RedisCache

        return RedisCache(url)
    raise InvalidInputError(f"unsupported cache URL {url!r}: expected {_SUPPORTED}")


def _memory(url: str) -> MemoryCache:
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=False)
    if parts.netloc or parts.path or set(query) - {"max_bytes"}:
        raise InvalidInputError(f"bad memory cache URL {url!r}: expected memory://[?max_bytes=N]")
    if "max_bytes" not in query:
        return MemoryCache()
    try:
        max_bytes = int(query["max_bytes"][-1])
    except ValueError:
        raise InvalidInputError(f"max_bytes in {url!r} must be an integer") from None
    return MemoryCache(max_bytes=max_bytes)
