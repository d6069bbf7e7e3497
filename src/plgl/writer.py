"""Work taken off a request's path: one background thread per engine, a bounded set of jobs.

Snapshots are only a shortcut (the events are the truth), so they are written here, after the
rating that made one due has been answered. Jobs are keyed by user: a newer job for a user
replaces one still waiting, and when `max_pending` users wait, a new user's job is dropped (the
next one due takes its place). Jobs of one key never run at the same time, in the background or
through `run`, so a later snapshot is never overwritten by an earlier one. `flush` waits until
everything queued is done; `close` runs what waits and stops the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from plgl.errors import UserDeletedError

logger = logging.getLogger("plgl")

Job = Callable[[], None]
T = TypeVar("T")


class BackgroundWriter:
    """Runs jobs in one daemon thread, started on the first job.

    Args:
        max_pending: at most this many users' jobs wait at once.
    """

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self.dropped = 0  # jobs not queued: `max_pending` were waiting, or the writer was closed
        self.failed = 0  # jobs that raised (logged; the events are still stored)
        self._pending: dict[str, Job] = {}
        self._busy: set[str] = set()  # keys whose job runs now (here or in `run`)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()

    def submit(self, key: str, job: Job) -> bool:
        """Queue `job` for `key` (replacing a waiting one); False if it was dropped (too many
        waiting, or the writer was closed: a request still running then loses only a shortcut)."""
        with self._changed:
            if self._closed or (
                key not in self._pending and len(self._pending) >= self.max_pending
            ):
                self.dropped += 1
                return False
            self._pending[key] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="plgl-writer", daemon=True)
                self._thread.start()
            self._changed.notify_all()
            return True

    def run(self, key: str, job: Callable[[], T]) -> T:
        """Run `job` now, in the calling thread, in place of a waiting job for `key` and after
        a running one; its result or error is the caller's."""
        with self._changed:
            self._pending.pop(key, None)
            self._changed.wait_for(lambda: key not in self._busy)
            self._busy.add(key)
        try:
            return job()
        finally:
            with self._changed:
                self._busy.discard(key)
                self._changed.notify_all()

    def discard(self, key: str) -> None:
        """Forget a waiting job for `key` (its user was deleted)."""
        with self._changed:
            self._pending.pop(key, None)
            self._changed.notify_all()

    def flush(self) -> None:
        """Return once every job queued before this call has run."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending and not self._busy)

    def close(self) -> None:
        """Run what is queued, then stop the thread. Jobs submitted afterwards are dropped."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _next(self) -> str | None:
        """A key with a waiting job that may run now (none of its jobs runs)."""
        return next((key for key in self._pending if key not in self._busy), None)

    def _work(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(
                    lambda: self._next() is not None or (self._closed and not self._pending)
                )
                key = self._next()
                if key is None:
                    return  # closed, and nothing left to do
                job = self._pending.pop(key)
                self._busy.add(key)
            try:
                job()
            except UserDeletedError:
                pass  # the user was deleted meanwhile: nothing of theirs may be written
            except Exception:
                # A failed snapshot loses nothing (the events are stored); keep serving.
                logger.exception("plgl: a background job for %r failed", key)
                with self._changed:
                    self.failed += 1
            finally:
                with self._changed:
                    self._busy.discard(key)
                    self._changed.notify_all()
