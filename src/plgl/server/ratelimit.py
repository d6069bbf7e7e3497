"""Per-key token buckets: each key may spend `burst` at once, refilled at `rate` per second.

>>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
>>> limiter = RateLimiter(clock=clock)
>>> [limiter.take("alice", rate=2.0, burst=2) for _ in range(4)]
[0.0, 0.0, 0.5, 0.0]

`RateLimiter` keeps its buckets in the worker process: with several workers a key could spend
its allowance once per worker. The server uses it over memory storage only (one process); over
SQLite storage it keeps the buckets in the database file
(`plgl.server.ratelimit_sqlite.SQLiteRateLimiter`, shared by the workers of one machine), over
Redis in Redis (`plgl.server.ratelimit_redis.RedisRateLimiter`, shared by every machine).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable


class BaseRateLimiter(ABC):
    """Token buckets by key: what the server's quotas spend from."""

    @abstractmethod
    def take(self, key: str, rate: float, burst: int) -> float:
        """Spend one token of `key`: 0.0 if allowed, else seconds until one is available."""

    @abstractmethod
    def refund(self, key: str, rate: float, burst: int) -> None:
        """Give back the token a request took, when it turned out not to count (bad input)."""

    def close(self) -> None:  # noqa: B027 (optional: the in-process one holds no connection)
        """Release connections."""


class RateLimiter(BaseRateLimiter):
    """Token buckets in this process, by key.

    A bucket that has refilled is the same as no bucket, so buckets are forgotten once full
    (checked from the least recently used on): memory follows the keys active within their
    refill time, not every key ever seen; `max_keys` caps it anyway.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        # key -> (tokens, time of that count, time the bucket is full again)
        self._buckets: OrderedDict[str, tuple[float, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int) -> float:
        with self._lock:
            now = self._clock()
            tokens, last, _ = self._buckets.pop(key, (float(burst), now, now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
            if wait == 0.0:
                tokens -= 1.0
            self._buckets[key] = (tokens, now, now + (burst - tokens) / rate)
            self._forget_full(now)
            return wait

    def refund(self, key: str, rate: float, burst: int) -> None:
        with self._lock:
            if key in self._buckets:  # a refund only brings "full again" closer: kept as is
                tokens, last, full = self._buckets[key]
                self._buckets[key] = (min(float(burst), tokens + 1.0), last, full)

    def __len__(self) -> int:
        """How many buckets are held (the others are full)."""
        with self._lock:
            return len(self._buckets)

    def _forget_full(self, now: float) -> None:
        while self._buckets:
            key, (_, _, full) = next(iter(self._buckets.items()))
            if full > now and len(self._buckets) <= self._max_keys:
                return
            del self._buckets[key]
