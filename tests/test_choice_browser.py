"""Choice cards in the web UI's swipe feed: the user's champion and challengers made near it in
a 2x2 grid, answered by a click (a tap on a phone) or the keys 1-4.

A real uvicorn server (identity domain, grounded For-you: choice cards from the first positive
answer), Debian's chromium driven by Playwright; screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browser import ARTIFACTS, DESKTOP, PHONE, needs_chromium, open_page, serve

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")

_SHOWN = (
    "prev => { const c = document.querySelector('.card.top');"
    " if (!c || c.dataset.itemId === prev) return false;"
    " const imgs = [...c.querySelectorAll('img')];"
    " return imgs.length > 0 && imgs.every(i => i.src.startsWith('blob:')); }"
)


def _top(page: Any, previous: str) -> str:
    """Wait for a new card on top with all its pictures shown; return its item id."""
    page.wait_for_function(_SHOWN, arg=previous)
    value: str = page.locator(".card.top").get_attribute("data-item-id")
    return value


def _click(locator: Any, phone: bool) -> None:
    locator.tap() if phone else locator.click()


def _next_choice(page: Any, previous: str, phone: bool) -> str:
    """Answer pair and swipe cards (left one, like) until a choice card is on top."""
    for _ in range(20):
        previous = _top(page, previous)
        top = page.locator(".card.top")
        if "choice-card" in (top.get_attribute("class") or ""):
            return previous
        if "pair-card" in (top.get_attribute("class") or ""):
            _click(top.get_by_role("button", name="Prefer the left one"), phone)
        else:
            _click(page.get_by_role("button", name="Like", exact=True), phone)
    raise AssertionError("no choice card in twenty answers")


def _choice_ids(page: Any) -> list[str]:
    """The item ids of the choice card on top, in the order shown."""
    choices = page.locator(".card.top .choice")
    return [choices.nth(i).get_attribute("data-item-id") for i in range(choices.count())]


def _ratings(page: Any) -> int:
    return int(page.locator("#rating-count").inner_text())


def _wait_for_more_ratings(page: Any, before: int) -> None:
    page.wait_for_function(
        "n => Number(document.querySelector('#rating-count').textContent) > n", arg=before
    )


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_choice_cards_are_answered_by_click_and_by_key(
    chromium: Any, tmp_path: Path, device: str
) -> None:
    phone = device == "phone"
    viewport = (PHONE if phone else DESKTOP)["viewport"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(tmp_path, "identity", for_you="grounded") as base:
        context, page, problems = open_page(chromium, base, device)
        expect = sync_api.expect
        answered: list[tuple[str, list[str]]] = []  # (chosen id, the card's item ids)

        # A choice card after the first answers: a question, four labelled items in a 2x2 grid
        # that fits the screen, and no like or dislike.
        top_id = _next_choice(page, "", phone)
        top = page.locator(".card.top")
        expect(top.locator(".title")).to_contain_text("Which of these do you like most?")
        choices = top.locator(".choice")
        expect(choices).to_have_count(4)
        for i in range(4):
            button = top.get_by_role("button", name=f"Choose item {i + 1} of 4")
            expect(button).to_be_visible()
            expect(button).to_have_attribute("aria-keyshortcuts", str(i + 1))
        for action in ("Like", "Dislike", "Superlike", "Skip"):
            expect(page.get_by_role("button", name=action, exact=True)).to_be_disabled()
        page.wait_for_function("() => document.getAnimations().length === 0")  # card settled
        boxes = [choices.nth(i).bounding_box() for i in range(4)]
        card_box = top.bounding_box()
        rows = [(0, 1), (2, 3)]
        for left, right in rows:  # two items a row, the second row below the first
            assert abs(boxes[left]["y"] - boxes[right]["y"]) < 2
            assert boxes[right]["x"] > boxes[left]["x"] + boxes[left]["width"] - 1
        assert boxes[2]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1
        assert abs(boxes[0]["x"] - boxes[2]["x"]) < 2
        for box in boxes:
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            assert box["y"] + box["height"] <= card_box["y"] + card_box["height"] + 1
        page.screenshot(path=str(ARTIFACTS / f"{device}-feed-choice-card.png"))

        # By a click (a tap): the third item.
        ids = _choice_ids(page)
        before = _ratings(page)
        _click(top.get_by_role("button", name="Choose item 3 of 4"), phone)
        answered.append((ids[2], ids))
        expect(page.locator("#announce")).to_have_text("You chose item 3 of 4.")
        _wait_for_more_ratings(page, before)

        # By a key: the second item.
        top_id = _next_choice(page, top_id, phone)
        ids, before = _choice_ids(page), _ratings(page)
        page.keyboard.press("2")
        answered.append((ids[1], ids))
        expect(page.locator("#announce")).to_have_text("You chose item 2 of 4.")
        _wait_for_more_ratings(page, before)

        # With the keyboard's focus: Tab from the first item to the second, Enter picks it.
        top_id = _next_choice(page, top_id, phone)
        ids, choices = _choice_ids(page), page.locator(".card.top .choice")
        choices.first.focus()
        page.keyboard.press("Tab")
        expect(choices.nth(1)).to_be_focused()
        page.keyboard.press("Enter")
        answered.append((ids[1], ids))
        expect(page.locator("#announce")).to_have_text("You chose item 2 of 4.")
        _top(page, top_id)
        if page.locator(".card.top.pick-card").count():  # focus stays in the deck
            expect(page.locator(".card.top .choice").first).to_be_focused()

        with page.expect_download() as download:
            page.get_by_role("tab", name="Profile").click()
            page.get_by_role("button", name="Export my data").click()
        exported = json.loads(Path(download.value.path()).read_text())
        choices_made = [e for e in exported["events"] if e.get("others")]
        assert len(choices_made) == 3  # one event per choice card
        for event, (chosen, ids) in zip(choices_made, answered, strict=True):
            assert event["kind"] == "comparison" and event["preferred_id"] == chosen
            losers = [event["other_id"], *event["others"]]
            assert sorted(losers) == sorted(set(ids) - {chosen})
        assert problems == []
        context.close()
