"""The population suite runs every path at its tiniest (the numbers mean nothing there)."""

from dataclasses import replace

import numpy as np
import pytest

from plgl.bench.populations import PopulationSpec, SimulatedPopulation, laplace_posterior
from plgl.bench.suites import population as suite

pytest.importorskip("opendp", reason="the population extra: pip install 'plgl[population]'")


@pytest.fixture(autouse=True)
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLGL_BENCH_TINY", "1")


def test_every_kind_of_task_runs_and_reports_its_metrics() -> None:
    tasks = suite.plan(quick=True, seeds=None)
    methods = {task.method for task in tasks}
    matching = {"gaussian vectors (before)", "cluster response", "bound (any mechanism)"}
    learning = {"population prior", "mixture prior", "scratch"}
    assert methods == {*learning, "dp", "stream", *matching}
    chosen = [next(t for t in tasks if t.method == m) for m in sorted(methods)]
    chosen.append(next(t for t in tasks if t.params.get("kind") == "unrelated"))
    metrics = set()
    for task in chosen:
        rows = suite.run_task(task)
        assert rows and all(row["suite"] == "population" for row in rows)
        metrics |= {row["metric"] for row in rows}
    assert metrics == {"top1", "ari", "clusters_found", "top5_own_cluster", "seconds", "peak_mb"}


def test_simulated_tastes_concentrate_in_the_subspace() -> None:
    spec = PopulationSpec("p", d=12, subspace=3, clusters=2, off=0.1)
    population = SimulatedPopulation(spec, seed=0)
    directions, labels = population.draw(200, np.random.default_rng(0))
    inside = np.linalg.norm(directions @ population.basis, axis=1)
    assert inside.min() > 0.95 and set(labels.tolist()) == {0, 1}


def test_the_laplace_shortcut_points_towards_the_taste() -> None:
    direction = np.eye(8)[0]
    taste = laplace_posterior("u", direction, 300, np.random.default_rng(0))
    cosine = taste.mean @ direction / np.linalg.norm(taste.mean)
    assert cosine > 0.8 and taste.covariance.shape == (8, 8)


def test_the_matching_rows_stand_side_by_side_with_the_bound() -> None:
    tasks = [t for t in suite.plan(quick=True, seeds=None) if "matching" in t.problem]
    assert len({t.problem for t in tasks}) == 1  # tiny: match epsilon 1 only
    bound = next(t for t in tasks if t.method == "bound (any mechanism)")
    assert bound.seed is None
    [row] = suite.run_task(bound)
    assert row["value"] == pytest.approx(0.4754, abs=1e-3)  # e / (e + 3), delta negligible


def test_every_population_kind_of_the_full_plan_learns() -> None:
    tasks = suite.plan(quick=False, seeds=[0])
    priors = [t for t in tasks if t.method in ("population prior", "mixture prior")]
    assert {t.params["kind"] for t in priors} == {"clustered", "unrelated", "subspace", "many"}
    # Run without noise: a private release of a tiny population may rightly release no prior.
    kinds = {
        (t.params["kind"], t.method): replace(t, params={**t.params, "epsilon": None})
        for t in priors
    }
    for task in kinds.values():
        rows = suite.run_task(task)
        assert rows and {row["metric"] for row in rows} == {"top1"}
