"""The background writer: snapshots leave the rating's path, jobs are bounded, failures are
logged and counted, close() writes what is pending."""

import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import rate

import plgl
from plgl.errors import UserDeletedError
from plgl.storage import SQLiteStorage
from plgl.writer import BackgroundWriter


def test_snapshots_are_written_by_the_background_thread(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "plgl.db")
    writers: list[str] = []
    put = storage.put_snapshot

    def spy(user_id: str, position: int, blob: bytes) -> None:
        writers.append(threading.current_thread().name)
        put(user_id, position, blob)

    storage.put_snapshot = spy  # type: ignore[method-assign]
    engine = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=4), storage=storage)
    rate(engine.session("u"), np.eye(4)[0], 120)
    engine.flush()
    assert writers and set(writers) == {"plgl-writer"}
    snapshot = storage.snapshot("u")
    assert snapshot is not None and snapshot.position == 100
    engine.close()
    storage.close()


def test_a_newer_job_replaces_a_waiting_one_and_close_runs_it() -> None:
    gate, done = threading.Event(), []
    writer = BackgroundWriter()
    writer.submit("blocker", gate.wait)
    writer.submit("u", lambda: done.append("old"))
    writer.submit("u", lambda: done.append("new"))
    gate.set()
    writer.close()
    assert done == ["new"]
    assert not writer.submit("u", lambda: done.append("late"))  # closed: dropped
    assert done == ["new"]


def test_at_most_max_pending_users_wait() -> None:
    gate = threading.Event()
    writer = BackgroundWriter(max_pending=2)
    started = threading.Event()

    def block() -> None:
        started.set()
        gate.wait()

    writer.submit("running", block)
    assert started.wait(10)
    assert writer.submit("a", lambda: None) and writer.submit("b", lambda: None)
    assert not writer.submit("c", lambda: None)  # two wait already
    assert writer.dropped == 1
    gate.set()
    writer.flush()
    writer.close()


def test_a_failing_job_is_logged_and_the_writer_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []
    writer = BackgroundWriter()

    def fail() -> None:
        raise plgl.StorageError("the disk is full")

    def deleted() -> None:
        raise UserDeletedError("gone meanwhile")

    writer.submit("a", fail)
    writer.flush()
    writer.submit("b", deleted)
    writer.submit("c", lambda: done.append("c"))
    writer.close()
    assert done == ["c"]
    assert writer.failed == 1  # a deleted user is not a failure
    assert "the disk is full" in caplog.text


def test_run_waits_for_a_running_job_of_its_key_and_replaces_a_waiting_one() -> None:
    gate, order = threading.Event(), []
    writer = BackgroundWriter()
    started = threading.Event()

    def slow() -> None:
        started.set()
        gate.wait()
        order.append("background")

    writer.submit("u", slow)
    assert started.wait(10)
    writer.submit("u", lambda: order.append("replaced"))
    threading.Timer(0.2, gate.set).start()
    assert writer.run("u", lambda: order.append("now") or 7) == 7
    writer.close()
    assert order == ["background", "now"]

    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):  # the caller's error, not logged
        writer.run("u", fail)
