"""The cache plug point: a byte store by string key, a `MutableMapping` like cachetools' caches.

Contract, as tests in `plgl.testing.CacheConformance` (run on every backend by
`tests/test_cache_stores.py`):

- `store[key] = value` keeps bytes under a str key; `store[key]` returns them or raises KeyError;
  `del`, `in`, `len` and iteration behave as for a dict.
- `increment(key, by)` adds to an integer counter (stored as ASCII digits) and returns the new
  value atomically: no like is lost to a race between threads (or, for shared backends such as
  SQLite and Redis, processes). The portable default below is not atomic; backends override it.
- `scan(prefix)` lists the keys that start with `prefix`; `delete_prefix(prefix)` removes them.
- `put_many(entries)` stores several entries; a value that is not bytes stores none of them.
- `get_many(keys)` reads several entries, in order (None where a key is missing): one round
  trip or query where the backend can.

Backends may evict `content:` and `render:` entries (copies that can be made again); every other
key (pool indexes, like counts, what a user kept) is data and is never evicted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence

from plgl.errors import InvalidInputError

EVICTABLE = ("content:", "render:")


class BaseCache(MutableMapping[str, bytes]):
    """A byte store by key. Backends implement the mapping methods; the helpers below have
    portable defaults that shared backends override with atomic versions."""

    def increment(self, key: str, by: int = 1) -> int:
        """Add `by` to the counter at `key` (missing: 0) and return the new value."""
        value = int(self.get(key, b"0")) + by
        self[key] = str(value).encode()
        return value

    def scan(self, prefix: str) -> Iterator[str]:
        """Keys that start with `prefix`, in no particular order."""
        return iter([key for key in self if key.startswith(prefix)])

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        """Store several entries at once (one transaction or round trip where the backend can)."""
        checked = {key: check_bytes(key, value) for key, value in entries.items()}
        for key, value in checked.items():  # all checked first: a bad entry writes nothing
            self[key] = value

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The value of each key, in order; None where a key is missing."""
        return [self.get(key) for key in keys]

    def delete_prefix(self, prefix: str) -> int:
        """Remove every key that starts with `prefix`; returns how many were removed."""
        keys = list(self.scan(prefix))
        for key in keys:
            self.pop(key, None)
        return len(keys)

    def close(self) -> None:
        """Release connections and files; a no-op where there are none."""


def check_bytes(key: object, value: object) -> bytes:
    """`value` as bytes, or InvalidInputError when the key is not a str or the value not bytes."""
    if not isinstance(key, str):
        raise InvalidInputError(f"cache keys are str, got {type(key).__name__}")
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidInputError(f"cache values are bytes, got {type(value).__name__}")
    return bytes(value)
