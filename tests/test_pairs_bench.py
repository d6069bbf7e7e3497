"""The pairs suite runs every path at its tiniest (the numbers mean nothing there)."""

import re
from pathlib import Path

import numpy as np
import pytest

import plgl
from plgl.bench.cards import run_cards
from plgl.bench.suites import pairs as suite
from plgl.bench.users import make_user
from plgl.samplers.cards import SWIPES_PER_PAIR


@pytest.fixture(autouse=True)
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLGL_BENCH_TINY", "1")


def test_every_task_runs_and_reports_its_metrics() -> None:
    tasks = suite.plan(quick=True, seeds=None)
    assert {task.method for task in tasks} == {"swipes", "feed"}
    for task in tasks:
        rows = suite.run_task(task)
        metrics = {row["metric"] for row in rows}
        assert metrics == {"top1", "like_rate", "like_rate_learning", "pair_share", "seconds"}
        top1 = [row for row in rows if row["metric"] == "top1"]
        assert [row["step"] for row in top1] == list(range(1, 13))  # every answer is scored
        share = next(row["value"] for row in rows if row["metric"] == "pair_share")
        assert (share == 0.0) == (task.method == "swipes")


def test_a_comparison_counts_as_one_answer() -> None:
    engine = plgl.Engine(plgl.generators.get("identity", latent_dim=8), seed=0)
    curve = run_cards(engine, make_user("linear", 8, 0), 7, batch=3, seed=0, swipes=0)
    assert len(curve.best) == 7 and all(curve.pair)
    assert engine.session("simulated").n_ratings == 7
    assert np.all((np.array(curve.like_rate) >= 0) & (np.array(curve.like_rate) <= 1))


def test_the_feed_method_asks_for_what_the_web_app_asks_for() -> None:
    # The README reports "feed" as the feed as shipped: the web app's batch of cards per request
    # and the pair-vs-swipe rule that the /api/cards route passes to Session.next_cards.
    app = Path(plgl.__file__).parent / "server" / "static" / "app.js"
    batch = re.search(r"^const BATCH = (\d+);", app.read_text(), re.MULTILINE)
    assert batch is not None
    assert suite.METHODS["feed"] == (int(batch.group(1)), SWIPES_PER_PAIR)
