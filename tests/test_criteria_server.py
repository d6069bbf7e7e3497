"""Criteria and contexts through the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plgl.server import Settings, create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        domain="identity",
        storage="memory://",
        secret="s" * 40,
        data_dir=tmp_path,
        feedback_rate=1000.0,
        feedback_burst=1000,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _user(client: TestClient) -> dict[str, str]:
    token = client.post("/api/users").json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _rate_criteria(client: TestClient, auth: dict[str, str], rounds: int) -> None:
    """Likes on "energy" where latent[0] > 0.3 and on "calm" where latent[1] > 0.3."""
    for _ in range(rounds):
        items = client.post("/api/feed?n=10", headers=auth).json()["items"]
        latents = {
            i["id"]: i["latent"] for i in client.get("/api/me/export", headers=auth).json()["items"]
        }
        for item in items:
            for axis, name in enumerate(("energy", "calm")):
                signal = "like" if latents[item["id"]][axis] > 0.3 else "dislike"
                body = {"item_id": item["id"], "signal": signal, "criterion": name}
                answer = client.post("/api/feedback", headers=auth, json=body)
                assert answer.status_code == 200, answer.text
                assert answer.json()["event"]["criterion"] == name


def test_rate_criteria_then_recommend_under_a_constraint(client: TestClient) -> None:
    auth = _user(client)
    _rate_criteria(client, auth, 5)
    assert client.get("/api/criteria", headers=auth).json() == {
        "rated": {"calm": 50, "energy": 50},
        "defined": None,
    }
    assert client.get("/api/me", headers=auth).json()["ratings"] == 0  # not overall likes
    body = {"k": 4, "maximize": "calm", "at_least": {"energy": 0.7}}
    answer = client.post("/api/criteria/recommendations", headers=auth, json=body)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert len(items) == 4
    assert all(item["criteria"]["energy"] >= 0.7 for item in items)
    front = client.get("/api/criteria/pareto?first=calm&second=energy&points=5", headers=auth)
    assert front.status_code == 200 and len(front.json()["points"]) >= 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"maximize": "mood"}, 404, "unknown_criterion"),
        ({"at_least": {"energy": 0.999999, "calm": 0.999999}}, 422, "infeasible_constraints"),
        ({"at_least": {"energy": 1.5}}, 422, "invalid_request"),
        ({"at_least": {"/bad": 0.5}}, 422, "invalid_request"),
    ],
)
def test_bad_constraints_are_4xx(
    client: TestClient, body: dict[str, Any], status: int, code: str
) -> None:
    auth = _user(client)
    _rate_criteria(client, auth, 2)
    answer = client.post("/api/criteria/recommendations", headers=auth, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == code


def test_a_bad_criterion_name_is_refused(client: TestClient) -> None:
    auth = _user(client)
    item = client.post("/api/feed?n=1", headers=auth).json()["items"][0]
    body = {"item_id": item["id"], "signal": "like", "criterion": " spaced"}
    answer = client.post("/api/feedback", headers=auth, json=body)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"


def test_contexts_are_chosen_by_a_header(client: TestClient) -> None:
    auth = _user(client)
    workout = {**auth, "X-Plgl-Context": "workout"}
    item = client.post("/api/feed?n=1", headers=workout).json()["items"][0]
    answer = client.post(
        "/api/feedback", headers=workout, json={"item_id": item["id"], "signal": "like"}
    )
    assert answer.json()["event"]["context"] == "workout"
    assert client.get("/api/me", headers=workout).json()["ratings"] == 1
    assert client.get("/api/contexts", headers=auth).json() == {
        "current": None,
        "contexts": ["workout"],
    }
    assert client.get("/api/contexts", headers=workout).json()["current"] == "workout"
    bad = client.get("/api/me", headers={**auth, "X-Plgl-Context": "x" * 41})
    assert bad.status_code == 422
