"""The faces population suite runs every path at its tiniest, and its earlier swipers teach."""

import numpy as np
import pytest

from plgl.bench.suites import population_faces as suite

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")


@pytest.fixture(autouse=True)
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLGL_BENCH_TINY", "1")


def test_both_engines_answer_the_same_swiper_and_report_every_batch() -> None:
    (task,) = suite.plan(quick=True, seeds=None)
    rows = suite.run_task(task)
    seen = {(row["method"], row["step"], row["metric"]) for row in rows}
    assert seen == {
        (method, step, metric)
        for method in suite.METHODS
        for step in (10, 20)
        for metric in suite.METRICS
    }
    assert all(np.isfinite(row["value"]) for row in rows)


def test_the_population_prior_points_where_members_like_the_faces() -> None:
    import torch

    from plgl.bench.swipers import blurred
    from plgl.generators import get

    prior = suite._prior("no noise", 0.1, 0)
    generator = get("faces")
    direction = prior.mean / np.linalg.norm(prior.mean)
    faces = blurred(generator.generate(np.array([2.0 * direction, -2.0 * direction])))
    rng = np.random.default_rng(5)
    members = torch.stack([suite._member(suite._centres(), rng) for _ in range(50)])
    utility = (faces.flatten(1) @ members.flatten(1).T).numpy()  # (2, members)
    # Held-back members like the face along the prior's mean better than the opposite one.
    assert np.mean(utility[0] > utility[1]) > 0.8


def test_plans_cover_every_population_and_the_guard_rail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLGL_BENCH_TINY")
    problems = [task.problem for task in suite.plan(quick=False, seeds=None)]
    assert problems.count("no noise") == problems.count("epsilon 1") == 20
    assert problems.count("unrelated") == 10
