"""In-process cache: least-recently-used content, everything else kept until deleted."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

from plgl.cache._base import EVICTABLE, BaseCache, check_bytes
from plgl.errors import InvalidInputError


class MemoryCache(BaseCache):
    """Dicts behind a lock. `memory://` and `cache=None` give one of 256 MiB.

    Content and rendered bytes are evicted least-recently-used once they hold more than
    `max_bytes` (0 keeps none: no content cache at all); pools, counts and users' kept items are
    never evicted.

    >>> cache = MemoryCache(max_bytes=1)
    >>> cache["content:a"] = b"1"; cache["content:b"] = b"2"; cache["pool:x"] = b"3"
    >>> sorted(cache)
    ['content:b', 'pool:x']
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise InvalidInputError(f"max_bytes must be an int >= 0, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._lock = threading.RLock()
        self._lru: OrderedDict[str, bytes] = OrderedDict()
        self._lru_bytes = 0
        self._kept: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> bytes:
        with self._lock:
            if key in self._lru:
                self._lru.move_to_end(key)
                return self._lru[key]
            return self._kept[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        value = check_bytes(key, value)
        with self._lock:
            if not key.startswith(EVICTABLE):
                self._kept[key] = value
                return
            self._lru_bytes -= len(self._lru.pop(key, b""))
            if len(value) > self.max_bytes:
                return  # larger than the whole cache: not kept
            self._lru[key] = value
            self._lru_bytes += len(value)
            while self._lru_bytes > self.max_bytes:
                self._lru_bytes -= len(self._lru.popitem(last=False)[1])

    def __delitem__(self, key: str) -> None:
        with self._lock:
            if key in self._lru:
                self._lru_bytes -= len(self._lru.pop(key))
            else:
                del self._kept[key]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter([*self._lru, *self._kept])

    def __len__(self) -> int:
        with self._lock:
            return len(self._lru) + len(self._kept)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._lru or key in self._kept

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        with self._lock:  # one lock: the batch is read as of one moment
            return [self.get(key) for key in keys]

    def increment(self, key: str, by: int = 1) -> int:
        with self._lock:
            return super().increment(key, by)
