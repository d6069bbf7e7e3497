"""The web UI's "people with your taste" panel end to end: a real uvicorn server over a stored,
refreshed population, Debian's chromium driven by Playwright.

Screenshots land in test-artifacts/browser/ at the repository root.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from browser import ARTIFACTS, CHROMIUM, needs_chromium, serve
from helpers import two_taste_population

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")


def test_opt_in_shows_people_with_your_taste_and_opt_out_hides_them(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    storage = two_taste_population(tmp_path)
    with (
        serve(tmp_path, storage=storage) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(base + "/")
        expect = sync_api.expect
        expect(page.locator(".card.top")).to_have_count(1, timeout=20_000)
        for count, key in enumerate(["ArrowRight", "ArrowLeft", "ArrowRight", "ArrowLeft"], 1):
            page.keyboard.press(key)
            expect(page.locator("#rating-count")).to_have_text(str(count), timeout=20_000)

        page.get_by_role("tab", name="Profile").click()
        toggle = page.get_by_label("Let people with a similar taste find me")
        expect(toggle).not_to_be_checked()
        expect(page.locator("#people-note")).to_contain_text("Off")
        expect(page.locator("#people-list li")).to_have_count(0)

        toggle.check()
        people = page.locator("#people-list .person")
        expect(people).to_have_count(5)
        badges = [b.lower() for b in people.locator(".badge").all_inner_texts()]  # CSS uppercases
        assert set(badges) <= {"very similar", "similar", "somewhat similar", "different"}
        handles = people.locator(".handle").all_inner_texts()
        assert all(len(h) == 16 and not h.startswith("u") for h in handles)
        page.screenshot(path=str(ARTIFACTS / "population-people.png"), full_page=True)

        token = page.evaluate("localStorage.getItem('plgl.token')")
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(base + "/api/me/matching", headers=auth).json()["enabled"] is True

        toggle.uncheck()
        expect(page.locator("#people-list li")).to_have_count(0)
        expect(page.locator("#people-note")).to_contain_text("Off")
        assert httpx.get(base + "/api/me/matching", headers=auth).json()["enabled"] is False
        assert problems == []
        browser.close()
