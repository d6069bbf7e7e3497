"""A cache in Redis: shared by every API server, for scale-out."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

import redis

from plgl.cache._base import BaseCache, check_bytes
from plgl.errors import CacheUnavailableError

T = TypeVar("T")
_GLOB = re.compile(r"([*?\[\]\\])")


class RedisCache(BaseCache):
    """Keys under `namespace` in the Redis at `url` ("redis://host:port/db"). Nothing is evicted
    by plgl (configure Redis' own maxmemory policy for that); counters use INCRBY (atomic).

    An unreachable server raises CacheUnavailableError naming the URL.
    """

    def __init__(self, url: str, namespace: str = "plgl:cache:") -> None:
        self.url = url
        self.namespace = namespace
        try:
            self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        except ValueError as error:
            raise CacheUnavailableError(f"bad Redis URL {url!r}: {error}") from None
        self._call(self._redis.ping)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except redis.exceptions.RedisError as error:
            raise CacheUnavailableError(f"Redis cache at {self.url} failed: {error}") from None

    def __getitem__(self, key: str) -> bytes:
        value = cast(bytes | None, self._call(self._redis.get, self.namespace + key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: bytes) -> None:
        value = check_bytes(key, value)  # first: a key that is not a str is bad input too
        self._call(self._redis.set, self.namespace + key, value)

    def __delitem__(self, key: str) -> None:
        if self._call(self._redis.delete, self.namespace + key) == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._call(self._redis.exists, self.namespace + key))

    def __iter__(self) -> Iterator[str]:
        return self.scan("")

    def __len__(self) -> int:
        return sum(1 for _ in self.scan(""))

    def increment(self, key: str, by: int = 1) -> int:
        return int(self._call(self._redis.incrby, self.namespace + key, by))

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        if entries:
            checked = {k: check_bytes(k, v) for k, v in entries.items()}
            self._call(self._redis.mset, {self.namespace + k: v for k, v in checked.items()})

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        values = self._call(self._redis.mget, [self.namespace + key for key in keys])
        return cast(list[bytes | None], values)

    def scan(self, prefix: str) -> Iterator[str]:
        pattern = _GLOB.sub(r"\\\1", self.namespace + prefix) + "*"
        start = len(self.namespace)
        keys = self._call(lambda: list(self._redis.scan_iter(match=pattern, count=1000)))
        return iter([bytes(key).decode()[start:] for key in keys])

    def delete_prefix(self, prefix: str) -> int:
        keys = [self.namespace + key for key in self.scan(prefix)]
        for i in range(0, len(keys), 500):
            self._call(self._redis.unlink, *keys[i : i + 500])
        return len(keys)

    def close(self) -> None:
        self._redis.close()
