"""What the browser tests share: Debian's chromium, a real uvicorn server on a free loopback
port, the device shapes, and where screenshots land (test-artifacts/browser/)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from plgl.server import Settings, create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 860}}

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
)


@contextmanager
def serve(tmp_path: Path, domain: str = "identity", **overrides: Any) -> Iterator[str]:
    """A uvicorn server of `Settings(domain, memory storage, **overrides)` in a thread; yields
    its base URL."""
    options: dict[str, Any] = {
        "domain": domain,
        "storage": "memory://",
        "secret": "b" * 32,
        "data_dir": tmp_path,
    }
    settings = Settings(**(options | overrides))
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


def open_page(
    chromium: Any, base: str, device: str, clock: bool = False
) -> tuple[Any, Any, list[str]]:
    """A browser context on a desktop or a phone (`device` "phone"), its page open at the web
    app `base`, and the page errors and console errors it logs (a test asserts there are none
    and closes the context). With `clock`, the page runs on Playwright's clock (`page.clock`):
    time flows as usual until the test pauses it."""
    context = chromium.new_context(
        **(PHONE if device == "phone" else DESKTOP), accept_downloads=True
    )
    page = context.new_page()
    if clock:
        page.clock.install()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    return context, page, problems
