"""The swipe feed's cards and "which of two" over the REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import identity_app, sign_up

from plgl.errors import InvalidInputError
from plgl.server import Settings


def _app(tmp_path: Path, **overrides: Any) -> TestClient:
    return TestClient(identity_app(tmp_path, **overrides))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _app(tmp_path) as test_client:
        yield test_client


def test_cards_are_answered_with_compare_or_feedback(client: TestClient) -> None:
    auth = sign_up(client)
    response = client.post("/api/cards?n=4", headers=auth)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 4
    for card in cards:
        assert len(card["items"]) == (2 if card["kind"] == "pair" else 1)
        first = card["items"][0]
        url = next(iter(first["content"].values()))
        assert client.get(url, headers=auth).status_code == 200
        if card["kind"] == "pair":
            body = {"preferred_id": card["items"][1]["id"], "other_id": first["id"]}
            answer = client.post("/api/compare", headers=auth, json=body)
        else:
            answer = client.post(
                "/api/feedback", headers=auth, json={"item_id": first["id"], "signal": "like"}
            )
        assert answer.status_code == 200, answer.text
    assert any(card["kind"] == "pair" for card in cards)  # a new user: pairs teach most
    assert client.get("/api/me", headers=auth).json()["ratings"] == 4


def test_pair_returns_two_items_to_compare(client: TestClient) -> None:
    auth = sign_up(client)
    items = client.post("/api/pair", headers=auth).json()["items"]
    assert len(items) == 2 and items[0]["id"] != items[1]["id"]
    assert {item["source"] for item in items} == {"pair"}
    body = {"preferred_id": items[0]["id"], "other_id": items[1]["id"], "event_id": "e1"}
    assert client.post("/api/compare", headers=auth, json=body).json()["ratings"] == 1


def test_pair_cards_can_be_turned_off(tmp_path: Path) -> None:
    with _app(tmp_path, pair_cards=False) as client:
        auth = sign_up(client)
        cards = client.post("/api/cards?n=6", headers=auth).json()["cards"]
        assert [card["kind"] for card in cards] == ["swipe"] * 6
        # "Which of two" still asks for the most telling pair.
        assert len(client.post("/api/pair", headers=auth).json()["items"]) == 2


def test_swipe_cards_only_expire_no_more_unrated_items_than_they_show(tmp_path: Path) -> None:
    with _app(tmp_path, pair_cards=False, max_unrated_items=8) as client:
        auth = sign_up(client)
        first = client.post("/api/cards?n=6", headers=auth).json()["cards"]
        shown = [card["items"][0]["id"] for card in first]

        def held() -> set[str]:
            items = client.get("/api/me/export", headers=auth).json()["items"]
            return {item["id"] for item in items}

        client.post("/api/cards?n=2", headers=auth)  # room for two more: nothing expires
        assert set(shown) <= held()
        client.post("/api/cards?n=2", headers=auth)  # at the cap: the two oldest make room
        assert set(shown[2:]) <= held() and not set(shown[:2]) & held()
        like = {"item_id": shown[2], "signal": "like"}
        assert client.post("/api/feedback", headers=auth, json=like).status_code == 200
        like = {"item_id": shown[1], "signal": "like"}
        assert client.post("/api/feedback", headers=auth, json=like).status_code == 404


def test_pair_cards_setting_reads_the_environment() -> None:
    assert Settings.from_env({"PLGL_PAIR_CARDS": "false"}).pair_cards is False
    assert Settings.from_env({"PLGL_PAIR_CARDS": "1"}).pair_cards is True
    with pytest.raises(InvalidInputError, match="PLGL_PAIR_CARDS must be true or false"):
        Settings.from_env({"PLGL_PAIR_CARDS": "maybe"})


@pytest.mark.parametrize("query", ["n=0", "n=51", "n=five"])
def test_bad_card_counts_get_a_422(client: TestClient, query: str) -> None:
    auth = sign_up(client)
    assert client.post(f"/api/cards?{query}", headers=auth).status_code == 422


def test_cards_and_pairs_need_a_token(client: TestClient) -> None:
    assert client.post("/api/cards").status_code == 401
    assert client.post("/api/pair").status_code == 401


def test_at_the_unrated_cap_old_unrated_items_expire_for_new_cards_and_pairs(
    tmp_path: Path,
) -> None:
    with _app(tmp_path, max_unrated_items=8) as client:
        auth = sign_up(client)
        first = client.post("/api/cards?n=2", headers=auth).json()["cards"]
        shown = [item["id"] for card in first for item in card["items"]]
        # Two pair cards (a new user's), with room kept for two choice cards of four items.
        assert len(shown) == 4
        again = client.post("/api/cards?n=3", headers=auth).json()["cards"]
        fresh = [item["id"] for card in again for item in card["items"]]
        assert fresh and not set(fresh) & set(shown)  # new content, not old cards again
        pair = [item["id"] for item in client.post("/api/pair", headers=auth).json()["items"]]
        assert len(pair) == 2 and not set(pair) & set(shown + fresh)
        held = [item["id"] for item in client.get("/api/me/export", headers=auth).json()["items"]]
        assert len(held) <= 8 and set(pair) <= set(held)
        expired = client.post(
            "/api/feedback", headers=auth, json={"item_id": shown[0], "signal": "like"}
        )
        assert expired.status_code == 404
