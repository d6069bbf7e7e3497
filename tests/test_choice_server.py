"""Choice cards over the REST API: the user's champion and challengers made near it, of which
they say which they like most (one /api/compare with `others`, stored as one event)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import identity_app, sign_up

from plgl.errors import InvalidInputError
from plgl.server import Settings

# Generous buckets: these tests rate quickly, the rate limits are tested elsewhere.
FAST = {
    "feedback_rate": 1000.0,
    "feedback_burst": 1000,
    "generation_rate": 1000.0,
    "generation_burst": 1000,
}


def _app(tmp_path: Path, **overrides: Any) -> TestClient:
    return TestClient(identity_app(tmp_path, **(FAST | {"for_you": "grounded"} | overrides)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _app(tmp_path) as test_client:
        yield test_client


def _like_one(client: TestClient, auth: dict[str, str]) -> None:
    """Like one item of a first batch: the user has a champion from now on."""
    card = client.post("/api/cards?n=1", headers=auth).json()["cards"][0]
    body = {"item_id": card["items"][0]["id"], "signal": "like"}
    assert client.post("/api/feedback", headers=auth, json=body).status_code == 200


def _choice_card(client: TestClient, auth: dict[str, str]) -> list[str]:
    """The item ids of a choice card, after a like (half of a batch's cards are duels)."""
    _like_one(client, auth)
    for _ in range(10):
        response = client.post("/api/cards?n=5", headers=auth)
        assert response.status_code == 200, response.text
        for card in response.json()["cards"]:
            if card["kind"] == "choice":
                sources = sorted(item["source"] for item in card["items"])
                assert sources == ["challenger"] * 3 + ["champion"]
                return [item["id"] for item in card["items"]]
    raise AssertionError("no choice card in ten batches after a like")


def _events(client: TestClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get("/api/me/export", headers=auth).json()["events"]
    return events


def test_a_choice_card_is_answered_with_one_compare_and_stored_as_one_event(
    client: TestClient,
) -> None:
    auth = sign_up(client)
    ids = _choice_card(client, auth)
    assert len(set(ids)) == 4
    before = client.get("/api/me", headers=auth).json()["ratings"]
    body = {"preferred_id": ids[2], "other_id": ids[0], "others": [ids[1], ids[3]]}
    response = client.post("/api/compare", headers=auth, json=body | {"event_id": "c-1"})
    assert response.status_code == 200, response.text
    event = response.json()["event"]
    assert event["kind"] == "comparison" and event["preferred_id"] == ids[2]
    assert event["other_id"] == ids[0] and event["others"] == [ids[1], ids[3]]
    assert response.json()["ratings"] == before + 1  # one answer
    comparisons = [e for e in _events(client, auth) if e["kind"] == "comparison"]
    assert comparisons == [event]


def test_a_pair_answer_echoes_no_others(client: TestClient) -> None:
    auth = sign_up(client)
    first = client.post("/api/cards?n=1", headers=auth).json()["cards"][0]
    assert first["kind"] == "pair"  # a new user's identity feed opens with pairs
    a, b = (item["id"] for item in first["items"])
    body = {"preferred_id": a, "other_id": b, "others": []}
    event = client.post("/api/compare", headers=auth, json=body).json()["event"]
    assert "others" not in event and (event["preferred_id"], event["other_id"]) == (a, b)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("other repeated in others", 422),
        ("chosen repeated in others", 422),
        ("an id never shown", 404),
        ("sixteen others", 422),
        ("others not a list", 422),
        ("a malformed id", 422),
    ],
)
def test_bad_choices_are_refused_and_store_nothing(
    client: TestClient, case: str, status: int
) -> None:
    auth = sign_up(client)
    ids = _choice_card(client, auth)
    events = _events(client, auth)
    body: dict[str, Any] = {"preferred_id": ids[0], "other_id": ids[1], "others": ids[2:]}
    body["others"] = {
        "other repeated in others": [ids[2], ids[1]],
        "chosen repeated in others": [ids[2], ids[0]],
        "an id never shown": [ids[2], "f" * 32],
        "sixteen others": [f"x{i}" for i in range(16)],
        "others not a list": ids[2],
        "a malformed id": [ids[2], "not an id!"],
    }[case]
    response = client.post("/api/compare", headers=auth, json=body)
    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert _events(client, auth) == events
    # The card can still be answered once the request is right.
    body["others"] = ids[2:]
    assert client.post("/api/compare", headers=auth, json=body).status_code == 200


def test_a_retried_choice_changes_nothing_and_a_different_one_under_its_id_is_a_409(
    client: TestClient,
) -> None:
    auth = sign_up(client)
    ids = _choice_card(client, auth)
    body = {"preferred_id": ids[1], "other_id": ids[0], "others": ids[2:], "event_id": "c-7"}
    first = client.post("/api/compare", headers=auth, json=body)
    again = client.post("/api/compare", headers=auth, json=body)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    events = _events(client, auth)
    assert sum(e["event_id"] == "c-7" for e in events) == 1
    other = body | {"preferred_id": ids[3], "others": [ids[1], ids[2]]}
    conflict = client.post("/api/compare", headers=auth, json=other)
    assert conflict.status_code == 409 and conflict.json()["error"] == "event_conflict"
    assert _events(client, auth) == events


def _unrated(client: TestClient, auth: dict[str, str]) -> set[str]:
    exported = client.get("/api/me/export", headers=auth).json()
    rated = {
        item_id
        for event in exported["events"]
        for item_id in (
            event.get("item_id"),
            event.get("preferred_id"),
            event.get("other_id"),
            *event.get("others", []),
        )
    }
    return {item["id"] for item in exported["items"]} - rated


@pytest.mark.parametrize("cap", [3, 4, 9])
def test_cards_never_hold_more_unrated_items_than_the_cap(tmp_path: Path, cap: int) -> None:
    with _app(tmp_path, max_unrated_items=cap) as client:
        auth = sign_up(client)
        _like_one(client, auth)
        kinds: set[str] = set()
        for _ in range(6):
            cards = client.post("/api/cards?n=5", headers=auth).json()["cards"]
            assert 1 <= len(cards) <= max(1, cap // 4) or cap < 4
            kinds |= {card["kind"] for card in cards}
            assert len(_unrated(client, auth)) <= cap
        # Room for fewer than four items: swipes only (a choice card would not fit).
        assert kinds == {"swipe"} if cap < 4 else kinds <= {"swipe", "pair", "choice"}


def test_choice_cards_are_described_in_the_openapi_schema(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    others = schemas["CompareIn"]["properties"]["others"]
    assert others["type"] == "array" and others["maxItems"] == 15
    assert "others" not in schemas["CompareIn"]["required"]  # a pair sends none
    assert "choice card" in others["description"]
    kind = schemas["CardOut"]["properties"]["kind"]
    assert kind["enum"] == ["swipe", "pair", "choice"] and "choice:" in kind["description"]


def test_the_for_you_setting_is_checked_and_read_from_the_environment() -> None:
    assert Settings.from_env({"PLGL_FOR_YOU": "grounded"}).for_you == "grounded"
    assert Settings.from_env({}).for_you is None
    with pytest.raises(InvalidInputError, match="for_you must be one of top, grounded, judged"):
        Settings(for_you="best")
