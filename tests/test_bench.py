"""Baselines of the benchmark and the benchmark scripts' quick runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from plgl.bench import DriftingUser, LearningCurve, LinearUser, run_naive, run_random

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
Runner = Callable[..., LearningCurve]


@pytest.mark.parametrize("runner", [run_naive, run_random])
def test_curve_has_one_point_per_batch(runner: Runner) -> None:
    curve = runner(LinearUser(4, seed=0), 45, batch=10, seed=0)
    assert curve.ratings == [10, 20, 30, 40, 45]
    assert len(curve.best) == len(curve.liked_share) == 5
    assert all(np.isfinite(curve.best)) and max(curve.best) <= 1.0 + 1e-9
    assert all(0.0 <= share <= 1.0 for share in curve.liked_share)


@pytest.mark.parametrize("runner", [run_naive, run_random])
def test_curve_is_reproducible(runner: Runner) -> None:
    first = runner(LinearUser(4, seed=3), 30, seed=3)
    again = runner(LinearUser(4, seed=3), 30, seed=3)
    other = runner(LinearUser(4, seed=3), 30, seed=4)
    assert first == again
    assert first != other


@pytest.mark.parametrize("runner", [run_naive, run_random])
def test_drifting_user_answers_every_rating(runner: Runner) -> None:
    user = DriftingUser(4, seed=0, switch_after=20)
    curve = runner(user, 40, seed=0)
    assert user.answers == 40
    assert curve.ratings[-1] == 40


def test_naive_recipe_learns_a_linear_taste() -> None:
    seeds = range(5)
    naive = [run_naive(LinearUser(4, seed=s), 80, seed=s).best[-1] for s in seeds]
    rand = [run_random(LinearUser(4, seed=s), 80, seed=s).best[-1] for s in seeds]
    # Measured: naive 0.89 and random 0.50 on average at 80 ratings; picking the least likely
    # item of the pool (a flipped class) would score about -0.9, a random one about 0.
    assert np.mean(naive) > 0.7
    assert np.mean(naive) > np.mean(rand) + 0.15


def test_naive_recommends_a_random_sample_before_both_classes() -> None:
    # A threshold no item reaches: never a like, so the SVC is never fitted.
    user = LinearUser(4, seed=0, threshold=50.0)
    curve = run_naive(user, 20, seed=0)
    assert curve.liked_share == [0.0, 0.0]
    assert all(abs(value) < 1.0 for value in curve.best)


def _run_script(name: str) -> str:
    """The script's output in its quick mode. The timeout guards against a hang, not a slow
    machine: on a loaded 2-core host the latency script's quick mode took over 120 s."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_learning_curve_quick_prints_tables(tmp_path: Path) -> None:
    out = _run_script("learning_curve.py")
    assert "linear user, d=16" in out and "drift user, d=16" in out
    assert "N=80" in out and "plgl" in out and "naive" in out and "random" in out
    assert "Summary: median ratings to 0.9" in out
    assert "One-bit floor" in out


def test_latency_quick_prints_a_table() -> None:
    out = _run_script("latency.py")
    assert "Latency in ms" in out
    assert "tell" in out and "ask(10)" in out and "proba 10k" in out
    assert "target d=512 tell median" in out


def test_one_metric_name_per_quantity_across_suites() -> None:
    """A quantity measured by several suites (e.g. the utility of recommendation #1) carries
    one metric name everywhere, so that reports and tables line up."""
    from plgl.bench.suites import SUITES, load, metrics_of

    names_of: dict[str, set[str]] = {}
    for suite in SUITES:
        for name, metric in metrics_of(load(suite)).items():
            names_of.setdefault(metric.label, set()).add(name)
    assert {label: names for label, names in names_of.items() if len(names) > 1} == {}
    assert names_of["normalized utility of recommendation #1"] == {"top1"}
    assert names_of["like-rate of the batch shown"] == {"like_rate"}
