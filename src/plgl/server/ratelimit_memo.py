"""Refusals remembered: a key refused for `wait` seconds is refused again, without asking the
shared buckets, until then.

A refused take spends nothing and a bucket refills at a fixed rate, so a bucket short of a
token now has none for the `wait` it reported, unless a token is given back (`refund`). A flood
of one key therefore costs one take from the shared buckets (a SQLite transaction, a Redis
round trip) per `wait`, not one per request. A refund through this process forgets the key's
refusal. A refund through another worker is not seen here: for at most the remembered wait
(under 1 / rate: 0.5 s for requests for new items at the shipped 2 per second, 2 s for
sign-ups at 30 a minute) this worker may refuse a token that refund made available.

>>> class Empty(BaseRateLimiter):
...     def take(self, key: str, rate: float, burst: int) -> float:
...         print("asked")
...         return 2.0
...     def refund(self, key: str, rate: float, burst: int) -> None:
...         pass
>>> now = [0.0]
>>> memo = RefusalMemo(Empty(), clock=lambda: now[0])
>>> memo.take("k", 0.5, 1)
asked
2.0
>>> now[0] = 0.5
>>> memo.take("k", 0.5, 1)
1.5
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from plgl.server.ratelimit import BaseRateLimiter


class RefusalMemo(BaseRateLimiter):
    """Answers a take from memory while the key's last refusal lasts; else asks `limiter`.

    Args:
        limiter: the buckets that decide every allowed take (shared by the workers).
        clock: monotonic seconds (tests pass their own).
        max_keys: refusals remembered at most (the oldest are forgotten first).
    """

    def __init__(
        self,
        limiter: BaseRateLimiter,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.limiter = limiter
        self._clock = clock
        self._max_keys = max_keys
        self._until: dict[str, float] = {}  # key -> when its refusal ends, oldest first
        self._refunds = 0
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int) -> float:
        now = self._clock()
        until = self._until.get(key)
        if until is not None and now < until:
            return until - now
        refunds = self._refunds
        wait = self.limiter.take(key, rate, burst)
        if wait > 0:
            with self._lock:
                # A refund (of any key) while the buckets were asked may already be counted
                # in `wait` or not: remembered only when none came.
                if self._refunds == refunds:
                    self._until.pop(key, None)
                    self._until[key] = now + wait
                    self._forget(now)
        return wait

    def refund(self, key: str, rate: float, burst: int) -> None:
        self.limiter.refund(key, rate, burst)
        with self._lock:
            self._refunds += 1
            self._until.pop(key, None)

    def close(self) -> None:
        self.limiter.close()

    def __len__(self) -> int:
        """How many refusals are remembered (some may have ended)."""
        return len(self._until)

    def _forget(self, now: float) -> None:
        """Drop ended refusals from the oldest on, and any over `max_keys`."""
        while self._until:
            key, until = next(iter(self._until.items()))
            if until > now and len(self._until) <= self._max_keys:
                return
            del self._until[key]
