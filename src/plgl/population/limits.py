"""How often a user may ask for matches: a small interface, an in-memory window and an adapter
to shared token buckets (the server backs matching with its own rate limiter, so the limit holds
across workers when its buckets live in Redis).

Answers are deterministic post-processing of what a refresh released, so repeated questions
reveal nothing new about anyone's taste; the limit stops a client from paging through everyone's
handles and from loading the service.

>>> times = iter([0.0, 1.0, 2.0, 61.0]).__next__
>>> limiter = MatchLimiter(limit=2, window=60.0, clock=times)
>>> limiter.take("bob"); limiter.take("bob")
>>> limiter.take("bob")
Traceback (most recent call last):
...
plgl.errors.RateLimitedError: at most 2 match questions per 60 s; retry in 58 s
>>> limiter.take("bob")
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from plgl.errors import InvalidInputError, RateLimitedError


class BaseMatchLimiter(ABC):
    """At most `limit` match questions per user in `window` seconds.

    Args:
        limit: questions allowed per window (>= 1).
        window: the window in seconds (> 0).
    """

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"limit must be an integer >= 1, got {limit!r}")
        if not (isinstance(window, int | float) and 0 < window < math.inf):
            raise InvalidInputError(f"window must be a number of seconds > 0, got {window!r}")
        self.limit = limit
        self.window = float(window)

    @abstractmethod
    def take(self, user_id: str) -> None:
        """Count one question of `user_id`; RateLimitedError (nothing counted) when over."""

    def _refuse(self, wait: float) -> RateLimitedError:
        return RateLimitedError(
            f"at most {self.limit} match questions per {self.window:g} s; retry in "
            f"{math.ceil(wait)} s",
            retry_after=wait,
        )


class MatchLimiter(BaseMatchLimiter):
    """A sliding window per user in this process (the library's default).

    Args:
        limit: questions allowed per window (>= 1).
        window: the window in seconds (> 0).
        clock: monotonic seconds (tests pass their own).
        max_users: users remembered at most (the least recently asking are forgotten).
    """

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_users: int = 100_000,
    ) -> None:
        super().__init__(limit, window)
        self._clock = clock
        self._max_users = max_users
        self._asked: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, user_id: str) -> None:
        with self._lock:
            now = self._clock()
            asked = self._asked.pop(user_id, deque())
            while asked and asked[0] <= now - self.window:
                asked.popleft()
            self._asked[user_id] = asked
            if len(asked) >= self.limit:
                raise self._refuse(asked[0] + self.window - now)
            asked.append(now)
            while len(self._asked) > self._max_users:
                self._asked.popitem(last=False)


class TokenBuckets(Protocol):
    """Token buckets by key (`plgl.server.ratelimit.BaseRateLimiter` is one)."""

    def take(self, key: str, rate: float, burst: int) -> float:
        """Spend one token of `key`: 0.0 if allowed, else seconds until one is available."""
        ...


class SharedMatchLimiter(BaseMatchLimiter):
    """Match questions spent from shared token buckets: `limit` at once, refilled at `limit`
    per `window` (key "match:<user id>").

    >>> class Empty:
    ...     def take(self, key: str, rate: float, burst: int) -> float:
    ...         return 4.5
    >>> SharedMatchLimiter(Empty()).take("bob")
    Traceback (most recent call last):
    ...
    plgl.errors.RateLimitedError: at most 10 match questions per 60 s; retry in 5 s
    """

    def __init__(self, buckets: TokenBuckets, limit: int = 10, window: float = 60.0) -> None:
        super().__init__(limit, window)
        self.buckets = buckets

    def take(self, user_id: str) -> None:
        wait = self.buckets.take("match:" + user_id, self.limit / self.window, self.limit)
        if wait > 0:
            raise self._refuse(wait)
