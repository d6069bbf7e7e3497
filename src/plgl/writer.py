"""Work taken off a request's path: one background thread per engine, a bounded set of jobs.

Snapshots are only a shortcut (the events are the truth), so they are written here, after the
rating that made one due has been answered. Jobs are keyed by user: a newer job for a user
replaces one still waiting, and when `max_pending` users wait, a new user's job is dropped (the
next one due takes its place). `flush` waits until everything queued is done; `close` flushes
and stops the thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from plgl.errors import UserDeletedError

logger = logging.getLogger("plgl")

Job = Callable[[], None]


class BackgroundWriter:
    """Runs jobs in one daemon thread, started on the first job.

    Args:
        max_pending: at most this many users' jobs wait at once.
    """

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self.dropped = 0  # jobs not queued because `max_pending` were waiting
        self.failed = 0  # jobs that raised (logged; the events are still stored)
        self._pending: dict[str, Job] = {}
        self._running = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()

    def submit(self, key: str, job: Job) -> bool:
        """Queue `job` for `key` (replacing a waiting one); False if it was dropped."""
        with self._changed:
            if self._closed:
                raise RuntimeError("this engine was closed")
            if key not in self._pending and len(self._pending) >= self.max_pending:
                self.dropped += 1
                return False
            self._pending[key] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="plgl-writer", daemon=True)
                self._thread.start()
            self._changed.notify_all()
            return True

    def discard(self, key: str) -> None:
        """Forget a waiting job for `key` (its user was deleted)."""
        with self._changed:
            self._pending.pop(key, None)
            self._changed.notify_all()

    def flush(self) -> None:
        """Return once every job queued before this call has run."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending and not self._running)

    def close(self) -> None:
        """Run what is queued, then stop the thread. Submitting afterwards raises."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _work(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closed)
                if not self._pending:
                    return  # closed, and nothing left to do
                key = next(iter(self._pending))
                job = self._pending.pop(key)
                self._running += 1
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
                    self._running -= 1
                    self._changed.notify_all()
