from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

import plgl

torch.set_num_threads(1)


@pytest.fixture
def engine() -> plgl.Engine:
    return plgl.Engine(generator=plgl.generators.get("identity", latent_dim=8), seed=0)


@pytest.fixture
def session(engine: plgl.Engine) -> plgl.Session:
    return engine.session("alice")


@pytest.fixture
def event_reads(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], list[int]]:
    """`event_reads(storage)`: from then on, the `start` of every `storage.events` call."""

    def spy_on(storage: Any) -> list[int]:
        starts: list[int] = []
        read = storage.events

        def spy(user_id: str, start: int = 0) -> list[plgl.Feedback | plgl.Comparison]:
            starts.append(start)
            return list(read(user_id, start))

        monkeypatch.setattr(storage, "events", spy)
        return starts

    return spy_on


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (browser tests; see tests/browser.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser import CHROMIUM

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()
