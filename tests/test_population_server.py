"""Matching through the REST API: opt-in, pseudonymous answers, 403/422/429 for bad requests,
and a deleted user gone from the answers at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import two_taste_population

from plgl.population.limits import SharedMatchLimiter
from plgl.population.matching import handle
from plgl.server import Settings, create_app

SECRET = "test-secret-" + "x" * 32


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file with 24 users of two tastes (even ones opted in), refreshed by the CLI."""
    return two_taste_population(tmp_path_factory.mktemp("srv"))


@pytest.fixture
def client(stored: str, tmp_path: Path) -> Iterator[TestClient]:
    copy = tmp_path / "plgl.db"
    # The backup API copies what is committed, also what still sits in the write-ahead log.
    source, target = sqlite3.connect(stored.removeprefix("sqlite:///")), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    settings = Settings(
        domain="identity", storage=f"sqlite:///{copy}", secret=SECRET, data_dir=tmp_path
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _user(client: TestClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.post('/api/users').json()['token']}"}


def _rate(client: TestClient, auth: dict[str, str]) -> None:
    """A few ratings, so the asker has a taste of their own."""
    items: list[dict[str, Any]] = client.post("/api/feed?n=8", headers=auth).json()["items"]
    for i, item in enumerate(items):
        body = {"item_id": item["id"], "signal": "like" if i % 2 else "dislike"}
        assert client.post("/api/feedback", headers=auth, json=body).status_code == 200


def test_opt_in_then_matches(client: TestClient) -> None:
    auth = _user(client)
    status = client.get("/api/me/matching", headers=auth).json()
    assert status == {"enabled": False, "available": True, "listed": False}
    denied = client.get("/api/me/matches", headers=auth)
    assert denied.status_code == 403 and denied.json()["error"] == "not_opted_in"
    on = client.put("/api/me/matching", headers=auth, json={"enabled": True})
    assert on.status_code == 200 and on.json()["enabled"] is True
    _rate(client, auth)
    found = client.get("/api/me/matches?k=3", headers=auth)
    assert found.status_code == 200, found.text
    matches = found.json()["matches"]
    assert len(matches) == 3
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    secret = engine.population.population.secret
    names = {handle(secret, f"u{u}"): u for u in range(24)}
    assert all(m["handle"] in names and names[m["handle"]] % 2 == 0 for m in matches)
    assert set(matches[0]) == {"handle", "similarity"}


def test_a_deleted_user_is_gone_from_the_answers_at_once(client: TestClient) -> None:
    auth = _user(client)
    client.put("/api/me/matching", headers=auth, json={"enabled": True})
    _rate(client, auth)
    first = client.get("/api/me/matches?k=20", headers=auth).json()["matches"]
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    names = {handle(engine.population.population.secret, f"u{u}"): f"u{u}" for u in range(24)}
    gone = names[first[0]["handle"]]
    engine.session(gone).delete()
    again = client.get("/api/me/matches?k=20", headers=auth).json()["matches"]
    assert first[0]["handle"] not in [m["handle"] for m in again]
    assert len(again) == len(first) - 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/me/matches?k=0", None),
        ("GET", "/api/me/matches?k=21", None),
        ("GET", "/api/me/matches?k=two", None),
        ("PUT", "/api/me/matching", {"enabled": "yes"}),
        ("PUT", "/api/me/matching", {"enabled": 1}),
        ("PUT", "/api/me/matching", {"enabled": True, "public": True}),
        ("PUT", "/api/me/matching", {}),
    ],
)
def test_bad_input_is_422_and_changes_nothing(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    auth = _user(client)
    client.put("/api/me/matching", headers=auth, json={"enabled": True})
    response = client.request(method, path, headers=auth, json=body)
    assert response.status_code == 422, response.text
    assert client.get("/api/me/matching", headers=auth).json()["enabled"] is True


def test_matches_are_rate_limited_with_retry_after(client: TestClient) -> None:
    auth = _user(client)
    client.put("/api/me/matching", headers=auth, json={"enabled": True})
    for _ in range(10):
        assert client.get("/api/me/matches", headers=auth).status_code == 200
    limited = client.get("/api/me/matches", headers=auth)
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    other = _user(client)
    client.put("/api/me/matching", headers=other, json={"enabled": True})
    assert client.get("/api/me/matches", headers=other).status_code == 200
    # The allowance lives in the server's own rate limiter (Redis-backed over Redis storage:
    # shared by every worker), not in a per-process window.
    services = client.app.state.services  # type: ignore[attr-defined]
    limiter = services.engine.population.limiter
    assert isinstance(limiter, SharedMatchLimiter) and limiter.buckets is services.limiter


def test_matching_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/me/matches").status_code == 401
    assert client.put("/api/me/matching", json={"enabled": True}).status_code == 401
