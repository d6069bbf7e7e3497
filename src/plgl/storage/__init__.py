"""Storage backends chosen by URL: `memory://` (and None) now; SQLite and Redis to come."""

from __future__ import annotations

from plgl.errors import InvalidInputError
from plgl.storage._base import BaseStorage
from plgl.storage.memory import MemoryStorage

__all__ = ["BaseStorage", "MemoryStorage", "from_url"]


def from_url(url: str | BaseStorage | None) -> BaseStorage:
    """A storage backend for `url`; None or "memory://" give in-memory storage.

    >>> type(from_url(None)).__name__
    'MemoryStorage'
    """
    if url is None:
        return MemoryStorage()
    if isinstance(url, BaseStorage):
        return url
    if not isinstance(url, str):
        raise InvalidInputError(f"storage must be a URL string or a BaseStorage, got {url!r}")
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "memory":
        return MemoryStorage()
    raise InvalidInputError(
        f"unsupported storage URL {url!r}: this version supports memory:// "
        "(sqlite:/// and redis:// are not built yet)"
    )
