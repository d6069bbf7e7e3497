from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (browser tests; see tests/browser.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser import CHROMIUM

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()
