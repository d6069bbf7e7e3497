"""Several tastes in the web UI (Debian's chromium driven by Playwright): rate a card on a
criterion, ask Perfect match for items under a constraint, switch to another context.

Screenshots land in test-artifacts/browser/ at the repository root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import ARTIFACTS, DESKTOP, needs_chromium, serve
from test_server_browser import _next_card

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")


def test_rate_a_criterion_set_a_constraint_switch_context(chromium: Any, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect = sync_api.expect
    with serve(tmp_path, "identity", pair_cards=False) as base:
        context = chromium.new_context(**DESKTOP)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/")
        card = _next_card(page, "")

        # Name two criteria, then rate 12 cards on both with the chips, swiping each away.
        for name in ("energy", "calm"):
            page.get_by_label("Rate cards on a criterion too").fill(name)
            page.get_by_role("button", name="Add", exact=True).click()
        top = page.locator(".card.top")
        expect(top.get_by_role("button", name="More energy")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "criteria-chips.png"))
        for i in range(12):
            more = top.get_by_role("button", name="More energy" if i % 3 else "Less energy")
            more.click()
            expect(more).to_have_attribute("aria-pressed", "true")
            calm = top.get_by_role("button", name="Less calm" if i % 3 else "More calm")
            calm.click()
            expect(calm).to_have_attribute("aria-pressed", "true")
            page.get_by_role("button", name="Like", exact=True).click()
            card = _next_card(page, card)

        # Perfect match: at least 60% energy, as calm as possible.
        page.get_by_role("tab", name="Perfect match").click()
        expect(page.locator("#constraints")).to_be_visible()
        page.get_by_label("As high as possible on").select_option("calm")
        page.get_by_label("Require energy").check()
        page.get_by_label("energy at least").fill("60")
        page.get_by_role("button", name="Show matches").click()
        tiles = page.locator("#match-gallery .tile")
        expect(tiles).to_have_count(6)
        expect(tiles.first.locator(".score")).to_contain_text("energy")
        page.screenshot(path=str(ARTIFACTS / "criteria-constraint.png"))

        # A context of its own: its ratings count start over there.
        page.get_by_role("tab", name="Swipe").click()
        page.get_by_role("button", name="Add a context").click()
        page.get_by_label("Context name").fill("workout")
        page.get_by_role("button", name="Switch", exact=True).click()
        expect(page.get_by_label("Context", exact=True)).to_have_value("workout")
        card = _next_card(page, card)
        expect(page.locator("#rating-count")).to_have_text("0")
        for _ in range(3):
            page.get_by_role("button", name="Like", exact=True).click()
            card = _next_card(page, card)
        expect(page.locator("#rating-count")).to_have_text("3")
        page.screenshot(path=str(ARTIFACTS / "criteria-context.png"))
        token = page.evaluate("localStorage.getItem('plgl.token')")
        auth = {"Authorization": f"Bearer {token}"}
        contexts = httpx.get(f"{base}/api/contexts", headers=auth).json()
        assert contexts["contexts"] == ["workout"]
        exported = httpx.get(f"{base}/api/me/export", headers=auth).json()["events"]
        assert sum(e.get("criterion") == "energy" for e in exported) == 12
        assert sum(e.get("context") == "workout" for e in exported) == 3

        # The everyday profile is the overall taste: it learns the workout's ratings too.
        page.get_by_label("Context", exact=True).select_option("")
        expect(page.locator("#rating-count")).to_have_text("15")
        assert problems == []
        context.close()
