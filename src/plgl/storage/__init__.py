"""Storage backends chosen by URL: `memory://`, `sqlite:///path` and `redis://host:port/db`."""

# Imported under private names: the package's public names are exactly __all__.
import typing as _typing
from urllib.parse import parse_qs as _parse_qs

from plgl.errors import InvalidInputError as _InvalidInputError
from plgl.storage._base import BaseStorage, Snapshot, UserState
from plgl.storage.memory import MemoryStorage
from plgl.storage.sqlite import SQLiteStorage

if _typing.TYPE_CHECKING:
    from plgl.storage.redis import RedisStorage

__all__ = [
    "BaseStorage",
    "MemoryStorage",
    "RedisStorage",
    "SQLiteStorage",
    "Snapshot",
    "UserState",
    "from_url",
    "split_sqlite_url",
]

_SUPPORTED = (
    "memory://, sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:///:memory: "
    "or redis://host:port/db"
)


def from_url(url: str | BaseStorage | None) -> BaseStorage:
    """A storage backend for `url`; None or "memory://" give in-memory storage.

    As in SQLAlchemy, `sqlite:///plgl.db` is a path relative to the working directory and
    `sqlite:////var/lib/plgl.db` an absolute one. SQLite URLs take options: `?synchronous=full`
    (survive a power loss too: one fsync per write) and `?timeout=<seconds>` (lock waits).

    >>> type(from_url(None)).__name__
    'MemoryStorage'
    >>> type(from_url("sqlite:///:memory:")).__name__
    'SQLiteStorage'
    """
    if url is None:
        return MemoryStorage()
    if isinstance(url, BaseStorage):
        return url
    if not isinstance(url, str):
        raise _InvalidInputError(f"storage must be a URL string or a BaseStorage, got {url!r}")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise _InvalidInputError(f"storage URL {url!r} has no scheme; use {_SUPPORTED}")
    if scheme == "memory":
        if rest:
            raise _InvalidInputError(f"memory:// takes no path, got {url!r}")
        return MemoryStorage()
    if scheme == "sqlite":
        path, query = split_sqlite_url(url)
        return SQLiteStorage(path, **_sqlite_options(url, query))
    if scheme in ("redis", "rediss", "unix"):
        from plgl.storage.redis import RedisStorage

        return RedisStorage(url)
    raise _InvalidInputError(f"unsupported storage URL {url!r}: use {_SUPPORTED}")


def split_sqlite_url(url: str, what: str = "SQLite URL") -> tuple[str, str]:
    """(path, query) of `sqlite:///relative/path?query` or `sqlite:////absolute/path?query`.

    >>> split_sqlite_url("sqlite:////var/lib/plgl.db?timeout=5")
    ('/var/lib/plgl.db', 'timeout=5')
    """
    rest = url.partition("sqlite://")[2]
    path, _, query = rest[1:].partition("?")
    if not url.startswith("sqlite:///") or not path:
        raise _InvalidInputError(
            f"bad {what} {url!r}: it names no file; use sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db"
        )
    return path, query


def _sqlite_options(url: str, query: str) -> dict[str, _typing.Any]:
    """`?synchronous=full&timeout=5` -> keyword arguments of SQLiteStorage."""
    options: dict[str, _typing.Any] = {}
    for key, values in _parse_qs(query, keep_blank_values=True).items():
        if key == "synchronous":
            options[key] = values[-1].lower()
        elif key == "timeout":
            try:
                options[key] = float(values[-1])
            except ValueError:
                raise _InvalidInputError(f"timeout in {url!r} must be a number") from None
        else:
            raise _InvalidInputError(
                f"unknown option {key!r} in {url!r}: SQLite URLs take synchronous=normal|full "
                "and timeout=<seconds>"
            )
    return options


def __getattr__(name: str) -> object:
    if name == "RedisStorage":  # imported on use: redis-py is needed only for Redis
        from plgl.storage.redis import RedisStorage

        return RedisStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
