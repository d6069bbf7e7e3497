"""Per-key token buckets: each key may spend `burst` at once, refilled at `rate` per second.

>>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
>>> limiter = RateLimiter(clock=clock)
>>> [limiter.take("alice", rate=2.0, burst=2) for _ in range(4)]
[0.0, 0.0, 0.5, 0.0]

Each worker process keeps its own buckets: with `plgl serve --workers N` a key may spend up to
N times its allowance (a client's requests spread over the workers).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Token buckets by key, least recently used keys forgotten beyond `max_keys`."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, t)
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int) -> float:
        """Spend one token of `key`: 0.0 if allowed, else seconds until one is available."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.pop(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
            self._buckets[key] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return wait

    def refund(self, key: str, burst: int) -> None:
        """Give back the token a request took, when it turned out not to count (bad input)."""
        with self._lock:
            if key in self._buckets:
                tokens, last = self._buckets[key]
                self._buckets[key] = (min(float(burst), tokens + 1.0), last)
