"""The web UI's "people with your taste" panel end to end: a real uvicorn server over a stored,
refreshed population, Debian's chromium driven by Playwright.

Screenshots land in test-artifacts/browser/ at the repository root.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

import plgl
from plgl.cli import main
from plgl.generators import IdentityGenerator
from plgl.server import Settings, create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
)
sync_api = pytest.importorskip("playwright.sync_api")


def _populated(tmp_path: Path) -> str:
    """A SQLite storage with 24 users of two tastes (even ones opted in), refreshed."""
    url = f"sqlite:///{tmp_path / 'plgl.db'}"
    generator = IdentityGenerator()
    with plgl.Engine(generator=generator, storage=url, seed=0) as engine:
        for user in range(24):
            s = engine.session(f"u{user}")
            s.set_matching(user % 2 == 0)
            axis = np.eye(generator.latent_dim)[user % 2]
            for item in s.ask(20):
                s.tell(item.id, "like" if item.latent @ axis > 0 else "dislike")
    args = ["population", "refresh", "--storage", url, "--epsilon", "none", "--min-users", "10"]
    assert main(args) == 0
    return url


@contextmanager
def _server(tmp_path: Path, storage: str) -> Iterator[str]:
    """A uvicorn server on a free loopback port, in a thread; yields its base URL."""
    settings = Settings(domain="identity", storage=storage, secret="b" * 32, data_dir=tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(settings), log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_opt_in_shows_people_with_your_taste_and_opt_out_hides_them(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    storage = _populated(tmp_path)
    with (
        _server(tmp_path, storage) as base,
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
