"""Faults with `plgl serve` as operators run it (slow tier): several workers over one storage, an
API worker SIGKILLed mid-request, Redis SIGKILLed and restarted. Clients retry with their event
ids; afterwards every acknowledged rating is stored exactly once. (A Ray Serve replica killed
mid-load: tests/test_generators_remote.py.)"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import plgl
from plgl.testing import RedisServer, served

pytestmark = pytest.mark.slow

SECRET = "fault-secret-" + "x" * 32
# The quotas would refuse the fast clients below; they are tested in test_server_quotas.py.
UNLIMITED = {
    "PLGL_FEEDBACK_RATE": "100000",
    "PLGL_FEEDBACK_BURST": "100000",
    "PLGL_GENERATION_RATE": "100000",
    "PLGL_GENERATION_BURST": "100000",
    "PLGL_SECRET": SECRET,
}


@contextmanager
def serve(
    storage: str, workdir: Path, *extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`plgl serve` (identity generator) on a free port; yields (base URL, process)."""
    args = ["--domain", "identity", "--storage", storage, "--data-dir", str(workdir)]
    with served([*args, "--log-level", "warning", *extra], env=UNLIMITED) as running:
        yield running


def workers_of(process: subprocess.Popen[bytes]) -> list[int]:
    """Process ids of uvicorn's worker processes under `plgl serve`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(parent.split()[1]) == process.pid and b"spawn_main" in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


# What the clients' retry loops met, by kind (reset by `swipe_through`).
FAULTS_SEEN: collections.Counter[str] = collections.Counter()


def busiest_worker(process: subprocess.Popen[bytes], base: str) -> int:
    """The worker holding the most client connections to `base` (the kernel may hand every
    connection to one worker: killing an idle one would test nothing)."""
    port = int(base.rsplit(":", 1)[1])
    established = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # ESTABLISHED
            established.add(fields[9])  # the socket's inode

    def connections(pid: int) -> int:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):  # closed while we look
                link = os.readlink(fd)
                count += link.startswith("socket:[") and link[8:-1] in established
        return count

    return max(workers_of(process), key=connections)


def retried(call: Callable[[], httpx.Response]) -> httpx.Response:
    """`call` until it is answered without a server fault (the client's retry loop)."""
    for _ in range(300):
        try:
            response = call()
        except httpx.TransportError:  # the worker died with the connection
            FAULTS_SEEN["connection lost"] += 1
            time.sleep(0.1)
            continue
        if response.status_code < 500:
            return response
        FAULTS_SEEN[f"HTTP {response.status_code}"] += 1
        time.sleep(0.1)  # 503: storage unavailable for now
    raise AssertionError("the service did not recover within 30 s")


class Swiper:
    """A client that rates every card it is shown, each rating with its own event id."""

    def __init__(self, base: str, ratings: int) -> None:
        self.client = httpx.Client(base_url=base, timeout=10)
        self.ratings = ratings
        self.acknowledged: list[str] = []
        self.user_id = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            user = retried(lambda: self.client.post("/api/users")).json()
            self.user_id = user["user_id"]
            self.client.headers["Authorization"] = f"Bearer {user['token']}"
            while len(self.acknowledged) < self.ratings:
                feed = retried(lambda: self.client.post("/api/feed?n=5"))
                assert feed.status_code == 200, feed.text
                for item in feed.json()["items"]:
                    body = {"item_id": item["id"], "signal": "like", "event_id": uuid.uuid4().hex}
                    rated = retried(lambda b=body: self.client.post("/api/feedback", json=b))
                    assert rated.status_code == 200, rated.text
                    self.acknowledged.append(body["event_id"])
        except BaseException as error:  # reported by the test thread
            self.error = error
        finally:
            self.client.close()


def swipe_through(
    base: str, fault: Callable[[], None], users: int = 6, ratings: int = 120
) -> list[Swiper]:
    """`users` swipers rating at full speed, with `fault` injected once each has 10 ratings
    acknowledged (and most of its ratings still to come)."""
    FAULTS_SEEN.clear()
    swipers = [Swiper(base, ratings) for _ in range(users)]
    threads = [threading.Thread(target=swiper.run) for swiper in swipers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while min(len(s.acknowledged) for s in swipers) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    fault()
    for thread in threads:
        thread.join(timeout=120)
    errors = [swiper.error for swiper in swipers if swiper.error is not None]
    assert not errors, errors
    return swipers


def assert_each_acknowledged_rating_stored_once(
    storage: plgl.storage.BaseStorage, swipers: list[Swiper]
) -> None:
    for swiper in swipers:
        stored = [event.event_id for event in storage.events(swiper.user_id)]
        assert len(stored) == len(set(stored)), "a rating was stored twice"
        assert sorted(stored) == sorted(swiper.acknowledged)


def test_workers_share_one_storage(tmp_path: Path) -> None:
    with serve(f"sqlite:///{tmp_path}/plgl.db", tmp_path, "--workers", "2") as (base, process):
        assert len(workers_of(process)) == 2
        swipers = swipe_through(base, fault=lambda: None, users=4, ratings=10)
    storage = plgl.storage.from_url(f"sqlite:///{tmp_path}/plgl.db")
    assert_each_acknowledged_rating_stored_once(storage, swipers)


def test_a_rating_taken_by_one_worker_is_seen_by_another(tmp_path: Path) -> None:
    """Two workers over one SQLite file (as two servers, so that each request's worker is
    known): a rating through one is counted by the next request to the other."""
    url = f"sqlite:///{tmp_path}/plgl.db"
    with serve(url, tmp_path) as (first, _), serve(url, tmp_path) as (second, _):
        token = httpx.post(first + "/api/users").json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        items = httpx.post(first + "/api/feed?n=4", headers=auth).json()["items"]
        assert httpx.get(second + "/api/me", headers=auth).json()["ratings"] == 0
        for item in items[:3]:
            body = {"item_id": item["id"], "signal": "like"}
            assert httpx.post(first + "/api/feedback", headers=auth, json=body).status_code == 200
        assert httpx.get(second + "/api/me", headers=auth).json()["ratings"] == 3
        body = {"item_id": items[3]["id"], "signal": "dislike"}
        assert httpx.post(second + "/api/feedback", headers=auth, json=body).status_code == 200
        assert httpx.get(first + "/api/me", headers=auth).json()["ratings"] == 4


def test_a_worker_killed_mid_request_loses_no_acknowledged_rating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/plgl.db"
    with serve(url, tmp_path, "--workers", "2") as (base, process):
        killed: list[int] = []

        def kill_a_busy_worker() -> None:
            killed.append(busiest_worker(process, base))
            os.kill(killed[0], signal.SIGKILL)

        swipers = swipe_through(base, fault=kill_a_busy_worker)
        assert FAULTS_SEEN["connection lost"] > 0  # requests were in flight on the killed one
        deadline = time.monotonic() + 90  # uvicorn starts a new worker (it imports torch first)
        while len(now := workers_of(process)) < 2 or killed[0] in now:
            assert time.monotonic() < deadline, "no worker replaced the killed one"
            time.sleep(0.5)
        assert httpx.get(base + "/api/domain").status_code == 200
    assert_each_acknowledged_rating_stored_once(plgl.storage.from_url(url), swipers)


@pytest.mark.skipif(not RedisServer.available(), reason="redis-server is not installed")
def test_redis_killed_and_restarted_loses_no_acknowledged_rating(tmp_path: Path) -> None:
    with RedisServer(appendfsync="always") as redis_server:

        def crash_and_restart() -> None:
            redis_server.kill()
            time.sleep(1.0)  # clients meet 503s meanwhile and retry
            redis_server.start()

        with serve(redis_server.url, tmp_path) as (base, _):
            swipers = swipe_through(base, fault=crash_and_restart)
            assert FAULTS_SEEN["HTTP 503"] > 0  # the clients did meet the outage
        storage = plgl.storage.from_url(redis_server.url)
        try:
            assert_each_acknowledged_rating_stored_once(storage, swipers)
        finally:
            storage.close()
