"""The quota gate: floods of sign-ups and of requests for new items are refused before routing,
without touching storage, with the answer the app's error handler gives."""

from __future__ import annotations

import collections
import functools
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plgl.errors import StorageError
from plgl.server import Settings, create_app
from plgl.server.errors import error_response
from plgl.server.quotas import GATED, Allowance
from plgl.server.ratelimit import BaseRateLimiter

SECRET = "test-secret-" + "x" * 32
STRICT = {"signups_per_minute": 2, "generation_rate": 0.01, "generation_burst": 2}


def _app(tmp_path: Path, storage: str = "memory://", **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "domain": "identity",
        "storage": storage,
        "secret": SECRET,
        "data_dir": tmp_path,
    }
    return create_app(Settings(**(values | STRICT | overrides)))


def _count_calls(monkeypatch: pytest.MonkeyPatch, obj: object) -> collections.Counter[str]:
    """Counts every call of `obj`'s methods (its class's, patched for the test)."""
    calls: collections.Counter[str] = collections.Counter()
    cls = type(obj)
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("__"):
            continue

        def counted(*args: Any, _name: str = name, _method: Callable[..., Any] = method) -> Any:
            calls[_name] += 1
            return _method(*args)

        monkeypatch.setattr(cls, name, functools.wraps(method)(counted))
    return calls


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_flood_is_refused_without_touching_storage(
    tmp_path: Path, storage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "memory://" if storage == "memory" else f"sqlite:///{tmp_path / 'plgl.db'}"
    app = _app(tmp_path, url)
    with TestClient(app) as client:
        tokens = [client.post("/api/users").json()["token"] for _ in range(2)]
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        for _ in range(2):
            assert client.post("/api/feed?n=3", headers=auth).status_code == 200
        engine = app.state.services.engine
        calls = _count_calls(monkeypatch, engine.storage)
        sessions = _count_calls(monkeypatch, engine)
        answers = collections.Counter()
        for _ in range(20):
            answers[client.post("/api/users").status_code] += 1
            answers[client.post("/api/feed?n=50", headers=auth).status_code] += 1
            answers[client.post("/api/cards?n=5", headers=auth).status_code] += 1
            answers[client.get("/api/recommendations?k=5", headers=auth).status_code] += 1
        assert answers == {429: 80}
        assert not calls and not sessions, (calls, sessions)
        # The counting is live: a request that is served reads storage.
        assert client.get("/api/me", headers=auth).status_code == 200
        assert calls


def test_the_gate_answers_as_the_error_handler_does(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        auth = {"Authorization": f"Bearer {client.post('/api/users').json()['token']}"}
        client.post("/api/users")
        for _ in range(2):
            client.post("/api/feed?n=1", headers=auth)
        for refused, what in (
            (client.post("/api/users"), "sign-ups: at most 2 a minute"),
            (
                client.post("/api/feed?n=1", headers=auth),
                "requests for new items: at most 0.6 a minute",
            ),
        ):
            assert refused.status_code == 429
            expected = error_response(429, "rate_limited", f"too many {what}")
            assert refused.content == expected.body
            assert refused.headers["content-type"] == "application/json"
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.headers["x-content-type-options"] == "nosniff"  # still wrapped


def test_invalid_requests_keep_their_answers_and_order(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path)) as client:
        token = client.post("/api/users").json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        # Without a genuine bearer token: 401, and nothing spent from anyone's bucket.
        for header in ("Bearer nope", "Basic " + token, "Bearer", "bearer " + token[:-1] + "x"):
            answer = client.post("/api/feed?n=1", headers={"Authorization": header})
            assert answer.status_code == 401, header
        assert client.post("/api/feed?n=1", headers={"Authorization": "bearer " + token}).is_success
        # A malformed request with tokens left: spent, then 422 (as before the gate).
        assert client.post("/api/feed?n=99", headers=auth).status_code == 422
        # A malformed request without tokens left: 429 first (as before the gate).
        assert client.post("/api/feed?n=99", headers=auth).status_code == 429
        # Other methods on gated paths are not gated: 405.
        assert client.get("/api/feed", headers=auth).status_code == 405
        # A body over the limit is refused by size before any quota.
        big = client.post("/api/feed", headers=auth | {"Content-Length": "99999999"})
        assert big.status_code == 413


def test_every_route_that_spends_a_gated_quota_is_gated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every bucket empty, no route spends a sign-up or generation quota itself (the
    dependencies' own check would run): the gate refused them all first."""
    app = _app(tmp_path)
    spent_by_routes: list[str] = []
    check = Allowance.check

    def recording_check(self: Allowance) -> None:
        if self.key.startswith(("signup:", "make:")):
            spent_by_routes.append(self.key)
        check(self)

    monkeypatch.setattr(Allowance, "check", recording_check)
    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {client.post('/api/users').json()['token']}"}
        client.post("/api/users")
        for _ in range(2):
            client.post("/api/feed?n=1", headers=auth)
        refused = set()
        for path, methods in app.openapi()["paths"].items():
            if "{" in path:
                continue
            for method in methods:
                answer = client.request(method.upper(), path, headers=auth)
                if answer.status_code == 429:
                    refused.add((method.upper(), path))
        assert spent_by_routes == []
        assert refused == set(GATED)


class _Failing(BaseRateLimiter):
    def take(self, key: str, rate: float, burst: int) -> float:
        raise StorageError("redis at 10.0.0.7:6379 is down")

    def refund(self, key: str, rate: float, burst: int) -> None:
        raise AssertionError("nothing was taken")


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[TestClient]:
    app = _app(tmp_path)
    with TestClient(app) as client:
        services = app.state.services
        token = services.tokens.issue()[1]
        client.headers["Authorization"] = f"Bearer {token}"
        services.limiter = _Failing()
        yield client


def test_unreadable_buckets_are_a_503_that_names_no_host(failing: TestClient) -> None:
    for answer in (failing.post("/api/users"), failing.post("/api/feed?n=1")):
        assert answer.status_code == 503
        assert answer.json() == {
            "error": "unavailable",
            "message": "Storage is unavailable; try again soon.",
        }


def test_under_a_root_path_the_routes_spend_the_same_quotas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spent_by_routes: list[str] = []
    check = Allowance.check

    def recording_check(self: Allowance) -> None:
        spent_by_routes.append(self.key.split(":")[0])
        check(self)

    monkeypatch.setattr(Allowance, "check", recording_check)
    app = _app(tmp_path)
    with TestClient(app, root_path="/plgl") as client:
        signups = [client.post("/plgl/api/users").status_code for _ in range(3)]
        auth = {"Authorization": f"Bearer {app.state.services.tokens.issue()[1]}"}
        feeds = [client.post("/plgl/api/feed?n=1", headers=auth).status_code for _ in range(3)]
    assert signups == [201, 201, 429]
    assert feeds == [200, 200, 429]
    assert set(spent_by_routes) == {"signup", "make"}  # the gate did not see these paths
