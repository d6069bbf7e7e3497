"""The `criteria` bench suite: simulated users with several tastes, its tiny run and report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plgl.bench.multi_users import MultiTasteUser, directions
from plgl.cli import main


def test_directions_have_the_cosines_asked_for() -> None:
    rows = directions(16, [-0.5, 0.0, 0.8], np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0)
    np.testing.assert_allclose(rows[1:] @ rows[0], [-0.5, 0.0, 0.8], atol=1e-12)


def test_each_taste_answers_along_its_own_direction() -> None:
    rows = directions(8, [0.0], np.random.default_rng(1))
    user = MultiTasteUser({"energy": rows[0], "calm": rows[1]}, seed=0)
    z = 2.5 * rows
    assert user.probability("energy", z)[0] > 0.95 and user.probability("calm", z)[1] > 0.95
    assert 0.1 < user.probability("energy", z[1:])[0] < 0.9  # orthogonal: undecided
    best = user.best_feasible("calm", {"energy": 0.8}, np.random.default_rng(2), samples=20_000)
    assert 0.9 < best <= 1.0
    assert np.isnan(user.best_feasible("calm", {"energy": 1.0}, np.random.default_rng(2), 1000))


def test_the_tiny_suite_runs_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLGL_BENCH_TINY", "1")
    assert main(["bench", "--suite", "criteria", "--quick", "--out", str(tmp_path)]) == 0
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    metrics = {row.get("metric") for row in rows}
    assert {"meets", "within", "gap", "top1", "front"} <= metrics
    assert not [row for row in rows if row.get("kind") == "error"]
    report = (tmp_path / "report.md").read_text()
    assert "Several tastes" in report and "Pareto front" in report
