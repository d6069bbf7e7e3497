"""The web UI end to end: a real uvicorn server, Debian's chromium driven by Playwright.

Screenshots land in test-artifacts/browser/ at the repository root.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import ARTIFACTS, DESKTOP, needs_chromium, open_page, serve

import plgl
from plgl.server import Settings

pytestmark = needs_chromium
sync_api = pytest.importorskip("playwright.sync_api")


def _top_id(page: Any) -> str:
    top = page.locator(".card.top")
    sync_api.expect(top).to_have_count(1)
    value: str = top.get_attribute("data-item-id")
    return value


def _next_card(page: Any, previous: str) -> str:
    """Wait until a new card is on top (and its picture is shown); return its item id."""
    page.wait_for_function(
        "prev => { const c = document.querySelector('.card.top');"
        " return c && c.dataset.itemId !== prev && c.querySelector('img[src^=\"blob:\"]'); }",
        arg=previous,
    )
    return _top_id(page)


def _drag(page: Any, dx: float, dy: float, steps: int) -> None:
    box = page.locator(".card.top").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=steps)
    page.mouse.up()


def _flick(page: Any, dx: float) -> None:
    """A short, fast horizontal flick, as fast on a busy machine as on an idle one: the page's
    clock stands still while the pointer moves (the app tells a flick by its speed)."""
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.001)
    _drag(page, dx, 0, 2)
    page.clock.resume()


def _press(page: Any, name: str, phone: bool) -> None:
    button = page.get_by_role("button", name=name, exact=True)
    if phone:
        button.tap()  # touch events, as a finger would
    else:
        button.click()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_swipe_thirty_then_for_you_match_export_delete(
    chromium: Any, tmp_path: Path, device: str
) -> None:
    phone = device == "phone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Like/dislike cards only: these gestures rate single items (pair cards:
    # tests/test_pairs_browser.py).
    with serve(tmp_path, "identity", pair_cards=False) as base:
        context, page, problems = open_page(chromium, base, device, clock=True)
        expect = sync_api.expect
        card = _next_card(page, "")
        assert page.locator(".card.top img").get_attribute("alt").startswith("Bar chart")
        page.screenshot(path=str(ARTIFACTS / f"{device}-feed.png"))

        # 30 ratings: 10 by dragging (some slow drags, some quick flicks), 10 by buttons,
        # 10 by keys; the learning indicator follows the server's count.
        gestures: list[tuple[str, Any]] = []
        for i in range(10):
            direction = 1 if i % 2 == 0 else -1
            if i < 6:
                gestures.append(("drag", (260 * direction, 15, 12)))
            else:
                gestures.append(("flick", 70 * direction))  # short and fast
        gestures += [("button", n) for n in ["Like", "Dislike", "Superlike", "Skip", "Like"] * 2]
        gestures += [
            ("key", k)
            for k in ["ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown", "ArrowRight"] * 2
        ]
        for count, (kind, what) in enumerate(gestures, start=1):
            if kind == "drag":
                _drag(page, *what)
            elif kind == "flick":
                _flick(page, what)
            elif kind == "button":
                _press(page, what, phone)
            else:
                page.keyboard.press(what)
            expect(page.locator("#rating-count")).to_have_text(str(count), timeout=20_000)
            if count == 12:
                page.screenshot(path=str(ARTIFACTS / f"{device}-feed-learning.png"))
            card = _next_card(page, card)
        expect(page.locator("#confidence")).to_have_text(re.compile(r"^\d+%$"))

        # Which of two, by keyboard: Tab from the tab into the pair, then a key picks the left.
        page.get_by_role("tab", name="Which of two").click()
        expect(page.locator(".choice img[src^='blob:']")).to_have_count(2)
        page.screenshot(path=str(ARTIFACTS / f"{device}-pair.png"))
        page.keyboard.press("Tab")
        expect(page.locator(".choice").first).to_be_focused()
        page.keyboard.press("ArrowLeft")
        expect(page.locator("#rating-count")).to_have_text("31")

        page.get_by_role("tab", name="For you").click()
        tiles = page.locator("#foryou-gallery .tile")
        expect(tiles).to_have_count(12)
        expect(page.locator("#foryou-gallery img[src^='blob:']")).to_have_count(12)
        expect(tiles.first.locator(".score")).to_have_text(re.compile(r"^\d+% match$"))
        page.screenshot(path=str(ARTIFACTS / f"{device}-for-you.png"), full_page=True)

        page.get_by_role("tab", name="Perfect match").click()
        slider = page.get_by_label("Show me what I'd like")
        slider.focus()
        for _ in range(8):  # 70% -> 30% by keyboard
            page.keyboard.press("ArrowLeft")
        expect(page.locator("#target-out")).to_have_text("30%")
        page.get_by_role("button", name="Show me").click()
        scores = page.locator("#match-gallery .score")
        expect(scores).to_have_count(6)
        expect(scores.first).to_have_text("predicted 30%")
        page.screenshot(path=str(ARTIFACTS / f"{device}-perfect-match.png"), full_page=True)

        page.get_by_role("tab", name="Profile").click()
        expect(page.locator("#why-summary")).to_contain_text("After 31 ratings")
        with page.expect_download() as download:
            page.get_by_role("button", name="Export my data").click()
        exported = json.loads(Path(download.value.path()).read_text())
        signals = Counter(e.get("signal", e["kind"]) for e in exported["events"])
        assert signals == {"like": 13, "dislike": 9, "superlike": 4, "skip": 4, "comparison": 1}
        page.screenshot(path=str(ARTIFACTS / f"{device}-profile.png"), full_page=True)

        token = page.evaluate("localStorage.getItem('plgl.token')")
        page.get_by_role("button", name="Delete my data").click()
        page.get_by_role("button", name="Delete for good").click()
        expect(page.get_by_role("heading", name="Your data is gone")).to_be_visible()
        assert page.evaluate("localStorage.getItem('plgl.token')") is None
        gone = httpx.get(base + "/api/me", headers={"Authorization": f"Bearer {token}"})
        assert gone.status_code == 410
        page.screenshot(path=str(ARTIFACTS / f"{device}-deleted.png"))
        assert problems == []
        context.close()


def test_for_you_says_which_tiles_the_user_rated_before(chromium: Any, tmp_path: Path) -> None:
    """Where For-you shows an item again (the API's source "favourite" or "liked": nothing new
    was predicted better), its tile says so; new content carries no such badge."""
    with serve(tmp_path, "identity", pair_cards=False) as base:
        context, page, problems = open_page(chromium, base, "desktop")
        _next_card(page, "")

        def shown_again(route: Any) -> None:  # the server's own answer, two sources changed
            response = route.fetch()
            body = response.json()
            body["items"][0]["source"], body["items"][1]["source"] = "favourite", "liked"
            route.fulfill(response=response, json=body)

        page.route("**/api/recommendations*", shown_again)
        page.get_by_role("tab", name="For you").click()
        tiles = page.locator("#foryou-gallery .tile")
        sync_api.expect(tiles).to_have_count(12)
        sync_api.expect(tiles.nth(0).locator(".badge")).to_have_text("your favourite")
        sync_api.expect(tiles.nth(1).locator(".badge")).to_have_text("you liked")
        sync_api.expect(page.locator("#foryou-gallery .badge")).to_have_count(2)
        sync_api.expect(tiles.nth(0).locator(".score")).to_have_text(re.compile(r"^\d+% match$"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "desktop-for-you-again.png"))
        assert problems == []
        context.close()


@pytest.mark.skipif("faces" not in plgl.generators.available(), reason="no faces generator")
def test_the_default_domain_shows_faces(chromium: Any, tmp_path: Path) -> None:
    domain = Settings().domain_name()
    assert domain == "faces"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve(tmp_path, domain, pair_cards=False) as base:
        page = chromium.new_page(viewport=DESKTOP["viewport"])
        page.goto(base + "/")
        card = _next_card(page, "")
        image = page.locator(".card.top img")
        assert image.get_attribute("alt").startswith("Generated face")
        assert image.evaluate("img => img.naturalWidth") == 64  # the DCGAN's 64x64 PNG
        for key in ["ArrowRight", "ArrowLeft", "ArrowRight"]:
            page.keyboard.press(key)
            card = _next_card(page, card)
        sync_api.expect(page.locator("#rating-count")).to_have_text("3", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "desktop-faces.png"))
        page.close()


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        # Swagger UI lists every operation; one of ours by its path proves the spec loaded.
        ("/docs", ".opblock-summary-path[data-path='/api/users']"),
        # ReDoc draws a section per operation once the spec is parsed.
        ("/redoc", "h2:has-text('Create User')"),
    ],
)
def test_api_docs_render_offline(chromium: Any, tmp_path: Path, path: str, rendered: str) -> None:
    with serve(tmp_path, "identity") as base:
        context = chromium.new_context(**DESKTOP)
        page = context.new_page()
        left_origin: list[str] = []
        problems: list[str] = []

        def only_local(route: Any) -> None:
            if route.request.url.startswith(base + "/") or route.request.url.startswith("data:"):
                route.continue_()
            else:
                left_origin.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(base + path)
        sync_api.expect(page.locator(rendered).first).to_be_visible(timeout=15000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"api{path.replace('/', '-')}.png"))
        context.close()
    assert left_origin == []
    # ReDoc's menu footer always draws Redocly's logo from their CDN; the page's policy blocks it
    # (the image hides itself), so that one console error is expected and nothing else is.
    blocked_logo = "Loading the image 'https://cdn.redoc.ly/redoc/logo-mini.svg' violates"
    assert [p for p in problems if not p.startswith(blocked_logo)] == []
