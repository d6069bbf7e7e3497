"""The service's files are private: database and cache files are created readable by their
owner only (0600), whatever the umask and whether or not the data directory already existed."""

from __future__ import annotations

import contextlib
import os

from plgl.storage import split_sqlite_url


def create_private(url: str | None) -> None:
    """Create the file a `sqlite:///` URL names, mode 0600, if it does not exist yet.

    SQLite gives its -wal and -shm files the mode of the database file, so they follow. Other
    URLs (memory, Redis) and existing files are left alone.
    """
    if url is None or not url.startswith("sqlite:"):
        return
    path, _ = split_sqlite_url(url)
    if path == ":memory:" or path.startswith("file:"):
        return
    # An existing file keeps its mode; a missing directory is the storage's to report.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
