"""The heavy lane: requests that make new items take turns per worker; light ones do not wait."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from helpers import identity_app

import plgl
from plgl.cli import main
from plgl.server import Settings
from plgl.server.lanes import heavy_lane
from plgl.server.quotas import GATED
from plgl.server.routers import content, criteria, discover, feed, matching, users

HEAVY_ROUTES = {
    *(route for route, gated in GATED.items() if gated == "generation"),
    ("POST", "/api/criteria/recommendations"),
}


def _sign_up(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.post('/api/users').json()['token']}"}


class _Held:
    """`Session.ask` patched to wait until released, counting the calls running at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = threading.Semaphore(0)

    def patch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        ask = plgl.Session.ask

        def held(session: plgl.Session, n: int = 10) -> list[plgl.Item]:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            self.started.release()
            try:
                assert self.release.wait(10), "the test never released the held requests"
                return ask(session, n)
            finally:
                with self.lock:
                    self.running -= 1

        monkeypatch.setattr(plgl.Session, "ask", held)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Held]:
    calls = _Held()
    calls.patch(monkeypatch)
    yield calls
    calls.release.set()


def _in_threads(client: TestClient, users: list[dict[str, str]]) -> list[threading.Thread]:
    """One feed request per user, each from its own thread; the threads, started."""
    answers: list[int] = []

    def feed(auth: dict[str, str]) -> None:
        answers.append(client.post("/api/feed?n=2", headers=auth).status_code)

    threads = [threading.Thread(target=feed, args=(auth,)) for auth in users]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("heavy_threads", [1, 2])
def test_at_most_heavy_threads_heavy_requests_run_at_once(
    tmp_path: Path, held: _Held, heavy_threads: int
) -> None:
    with TestClient(identity_app(tmp_path, heavy_threads=heavy_threads)) as client:
        users = [_sign_up(client) for _ in range(3)]
        threads = _in_threads(client, users)
        for _ in range(heavy_threads):  # the first turns are taken at once
            assert held.started.acquire(timeout=10)
        # The third request waits for a turn (on the event loop), not in `ask`.
        assert not held.started.acquire(timeout=0.3)
        assert held.running == heavy_threads
        held.release.set()
        for thread in threads:
            thread.join(10)
        assert held.most == heavy_threads
        assert all(not thread.is_alive() for thread in threads)


def test_light_requests_do_not_wait_for_the_heavy_lane(tmp_path: Path, held: _Held) -> None:
    with TestClient(identity_app(tmp_path, heavy_threads=1)) as client:
        auth = _sign_up(client)
        items = client.post("/api/pair", headers=auth).json()["items"]  # `ask_pair`: not held
        threads = _in_threads(client, [_sign_up(client), _sign_up(client)])
        assert held.started.acquire(timeout=10)  # the lane's one turn is taken, one waits
        rating = {"item_id": items[0]["id"], "signal": "like"}
        assert client.post("/api/feedback", headers=auth, json=rating).status_code == 200
        assert client.get(items[1]["content"]["image/svg+xml"], headers=auth).is_success
        assert client.get("/api/me", headers=auth).json()["ratings"] == 1
        assert held.running == 1  # answered while the heavy requests were still held
        held.release.set()
        for thread in threads:
            thread.join(10)


def test_a_failed_heavy_request_gives_its_turn_back(tmp_path: Path) -> None:
    with TestClient(identity_app(tmp_path, heavy_threads=1)) as client:
        auth = _sign_up(client)
        client.delete("/api/me", headers=auth)
        for _ in range(3):  # the user is gone: each answer is an error, and none waits forever
            assert client.post("/api/feed?n=2", headers=auth).status_code == 410
        assert client.post("/api/feed?n=2", headers=_sign_up(client)).status_code == 200


def test_the_routes_that_make_new_items_are_in_the_heavy_lane() -> None:
    laned = {
        (method, route.path)
        for module in (content, criteria, discover, feed, matching, users)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        and any(d.call is heavy_lane for d in route.dependant.dependencies)
        for method in route.methods
    }
    assert laned == HEAVY_ROUTES


@pytest.mark.parametrize("value", [0, -1])
def test_heavy_threads_must_be_positive(value: int) -> None:
    with pytest.raises(plgl.InvalidInputError, match="heavy_threads must be >= 1"):
        Settings(heavy_threads=value)
    with pytest.raises(ValueError, match="heavy_threads"):
        Settings.from_env({"PLGL_HEAVY_THREADS": str(value)})


def test_heavy_threads_reaches_the_workers_through_the_environment() -> None:
    settings = Settings(heavy_threads=3)
    assert settings.to_env()["PLGL_HEAVY_THREADS"] == "3"
    assert Settings.from_env(settings.to_env()).heavy_threads == 3


def test_serve_hands_heavy_threads_to_its_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    environ = dict(os.environ)
    monkeypatch.setattr(os, "environ", environ)  # `serve` hands settings over by it
    args = ["serve", "--domain", "identity", "--storage", "memory://", "--data-dir", str(tmp_path)]
    assert main([*args, "--heavy-threads", "3"]) == 0
    assert Settings.from_env(environ).heavy_threads == 3
