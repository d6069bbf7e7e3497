"""How often a user may ask for matches: a sliding window per user, in memory.

Each question reveals a little more about the others' released vectors, so questions are
rationed (per process: several processes each allow their own window).

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
from collections import OrderedDict, deque
from collections.abc import Callable

from plgl.errors import InvalidInputError, RateLimitedError


class MatchLimiter:
    """At most `limit` match questions per user in any `window` seconds.

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
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"limit must be an integer >= 1, got {limit!r}")
        if not (isinstance(window, int | float) and 0 < window < math.inf):
            raise InvalidInputError(f"window must be a number of seconds > 0, got {window!r}")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._max_users = max_users
        self._asked: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, user_id: str) -> None:
        """Count one question of `user_id`; RateLimitedError (nothing counted) when over."""
        with self._lock:
            now = self._clock()
            asked = self._asked.pop(user_id, deque())
            while asked and asked[0] <= now - self.window:
                asked.popleft()
            self._asked[user_id] = asked
            if len(asked) >= self.limit:
                wait = asked[0] + self.window - now
                raise RateLimitedError(
                    f"at most {self.limit} match questions per {self.window:g} s; retry in "
                    f"{math.ceil(wait)} s",
                    retry_after=wait,
                )
            asked.append(now)
            while len(self._asked) > self._max_users:
                self._asked.popitem(last=False)
