"""The bounded, expiring map of sessions an engine keeps in memory: least recently used first,
at most `max_sessions` of them, each dropped after `idle_seconds` unused."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plgl.session import Session


class HotSessions:
    """Sessions by user id, least recently used first; bounded in number and idle time.

    Args:
        max_sessions: entries kept at most; adding one more drops the least recently used.
        idle_seconds: entries unused this long are dropped (checked on every access); None: never.
        clock: seconds, monotonic (tests pass their own).
        on_evict: called with the key of each entry dropped for room or idleness (after the
            registry's lock is released), so per-user state kept elsewhere can go with it.
    """

    def __init__(
        self,
        max_sessions: int,
        idle_seconds: float | None,
        clock: Callable[[], float] = time.monotonic,
        on_evict: Callable[[str], None] | None = None,
    ) -> None:
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._on_evict = on_evict
        self._dropped: list[str] = []  # evicted under the lock, reported after it
        self._sessions: OrderedDict[str, tuple[Session, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str) -> Session | None:
        """The user's session (now the most recently used), or None."""
        with self._lock:
            self._expire()
            entry = self._sessions.pop(user_id, None)
            if entry is not None:
                self._sessions[user_id] = (entry[0], self._clock())
        self._report()
        return None if entry is None else entry[0]

    def put(self, user_id: str, session: Session) -> Session:
        """Keep `session` unless one for the user is already kept; returns the one kept."""
        with self._lock:
            self._expire()
            entry = self._sessions.pop(user_id, None)
            kept = session if entry is None else entry[0]
            self._sessions[user_id] = (kept, self._clock())
            while len(self._sessions) > self.max_sessions:
                self._dropped.append(self._sessions.popitem(last=False)[0])
        self._report()
        return kept

    def pop(self, user_id: str) -> None:
        with self._lock:
            self._sessions.pop(user_id, None)

    def pop_where(self, match: Callable[[str], bool]) -> None:
        """Drop every entry whose key `match`es."""
        with self._lock:
            for key in [k for k in self._sessions if match(k)]:
                del self._sessions[key]

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            size = len(self._sessions)
        self._report()
        return size

    def _report(self) -> None:
        """Hand the keys evicted so far to `on_evict`, outside the lock."""
        if not self._dropped:
            return
        with self._lock:
            dropped, self._dropped = self._dropped, []
        if self._on_evict is not None:
            for key in dropped:
                self._on_evict(key)

    def _expire(self) -> None:
        if self.idle_seconds is None:
            return
        limit = self._clock() - self.idle_seconds
        while self._sessions:
            _, (_, used) = next(iter(self._sessions.items()))
            if used > limit:
                return
            self._dropped.append(self._sessions.popitem(last=False)[0])
