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


def test_earlier_swipers_tastes_rank_the_faces_as_their_true_tastes_do() -> None:
    tastes, directions = suite._earlier(60, 300)
    latents, embedding = suite._bank(300)
    truth = embedding @ directions.T  # (bank, users)
    learned = latents @ np.array([taste.mean for taste in tastes]).T
    agreement = [np.corrcoef(truth[:, i], learned[:, i])[0, 1] for i in range(len(tastes))]
    assert min(agreement) > 0.0 and np.median(agreement) > 0.3


def test_a_swiper_takes_its_normalization_from_given_values() -> None:
    from plgl.bench.swipers import ContentSwiper
    from plgl.errors import InvalidInputError
    from plgl.generators import get

    generator = get("faces")
    user = ContentSwiper(generator, lambda c: np.zeros(len(c)), prior_values=np.array([1.0, 3.0]))
    assert (user.prior_mean, user.best_utility) == (2.0, 3.0)
    with pytest.raises(InvalidInputError, match="prior_values"):
        ContentSwiper(generator, lambda c: np.zeros(len(c)), prior_values=np.array([1.0]))


def test_plans_cover_every_population_and_the_guard_rail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLGL_BENCH_TINY")
    problems = [task.problem for task in suite.plan(quick=False, seeds=None)]
    assert problems.count("no noise") == problems.count("epsilon 1") == 20
    assert problems.count("unrelated") == 10
