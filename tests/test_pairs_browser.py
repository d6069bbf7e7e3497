"""Pair cards in the web UI's swipe feed, and "Which of two" asking for the most telling pair.

A real uvicorn server, Debian's chromium driven by Playwright; screenshots land in
test-artifacts/browser/.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from browser import ARTIFACTS, needs_chromium, open_page, serve

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")


def _top_pair(page: Any, previous: str) -> str:
    """Wait for a new pair card on top with both pictures shown; return its first item id."""
    page.wait_for_function(
        "prev => { const c = document.querySelector('.card.top.pair-card');"
        " return c && c.dataset.itemId !== prev"
        " && c.querySelectorAll('img[src^=\"blob:\"]').length === 2; }",
        arg=previous,
    )
    value: str = page.locator(".card.top").get_attribute("data-item-id")
    return value


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_pair_cards_in_the_feed_are_answered_by_picking_one(
    chromium: Any, tmp_path: Path, device: str
) -> None:
    phone = device == "phone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(tmp_path, "identity") as base:
        context, page, problems = open_page(chromium, base, device)
        expect = sync_api.expect
        # A new user's feed opens with pair cards: comparisons of two items teach the most.
        card = _top_pair(page, "")
        top = page.locator(".card.top")
        expect(top.locator(".title")).to_contain_text("Which of these two?")
        expect(top.get_by_role("button", name="Prefer the left one")).to_be_visible()
        for action in ("Like", "Dislike", "Superlike", "Skip"):  # no like/dislike on a pair
            expect(page.get_by_role("button", name=action, exact=True)).to_be_disabled()
        page.screenshot(path=str(ARTIFACTS / f"{device}-feed-pair-card.png"))

        # Five answers (the first batch: a new user's cards are all pairs): by clicking (tapping)
        # either item, and by an arrow key.
        for count in range(1, 6):
            if count <= 4:
                side = "left" if count % 2 else "right"
                button = page.locator(".card.top").get_by_role(
                    "button", name=f"Prefer the {side} one"
                )
                button.tap() if phone else button.click()
            else:
                page.keyboard.press("ArrowLeft")
            expect(page.locator("#rating-count")).to_have_text(str(count), timeout=20_000)
            if count < 5:
                card = _top_pair(page, card)

        # "Which of two" shows the pair the server asks for; a key answers it.
        page.get_by_role("tab", name="Which of two").click()
        expect(page.locator("#pair .choice img[src^='blob:']")).to_have_count(2)
        page.keyboard.press("Tab")  # from the tab into the pair
        expect(page.locator("#pair .choice").first).to_be_focused()
        page.keyboard.press("ArrowRight")
        expect(page.locator("#rating-count")).to_have_text("6")

        with page.expect_download() as download:
            page.get_by_role("tab", name="Profile").click()
            page.get_by_role("button", name="Export my data").click()
        exported = json.loads(Path(download.value.path()).read_text())
        kinds = Counter(e["kind"] for e in exported["events"])
        assert kinds == {"comparison": 6}
        sources = Counter(item["source"] for item in exported["items"])
        assert sources["pair"] >= 12  # the first batch's five pair cards, and the asked pair
        assert problems == []
        context.close()
