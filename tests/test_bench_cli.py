"""`plgl bench`: the command's outputs, its usage errors, and the report computed from rows."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from plgl.bench.report import render_body
from plgl.bench.results import Results
from plgl.bench.suites import Metric, SuiteSkipped, Task
from plgl.bench.suites.latent import floor_ratings
from plgl.bench.tables import reach_table, value_table
from plgl.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def latent_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny latent run (PLGL_BENCH_TINY: d=16, 20 ratings, one seed), shared by the tests."""
    out = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLGL_BENCH_TINY", "1")
        assert main(["bench", "--suite", "latent", "--quick", "--out", str(out)]) == 0
    return out


def _records(out: Path) -> list[dict[str, Any]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_results_are_json_lines_with_a_header(latent_run: Path) -> None:
    records = _records(latent_run)
    header = records[0]
    assert header["kind"] == "header" and header["quick"] is True and header["tiny"] is True
    assert header["suites"] == ["latent"] and header["version"] and header["date"]
    rows = [r for r in records if "kind" not in r]
    keys = {"suite", "problem", "method", "seed", "step", "metric", "value"}
    assert rows and all(keys <= set(r) for r in rows)
    methods = {r["method"] for r in rows}
    assert {"plgl", "naive", "random", "floor"} <= methods
    top1 = [r for r in rows if r["metric"] == "top1" and r["method"] == "plgl"]
    assert [r["step"] for r in top1] == [10, 20]
    assert all(-1.5 <= r["value"] <= 1.0 + 1e-9 for r in top1)


def test_floor_rows_come_from_the_information_bound(latent_run: Path) -> None:
    floor = [r for r in _records(latent_run) if r.get("method") == "floor"]
    assert len(floor) == 1
    assert floor[0]["seed"] is None and floor[0]["draw"] == "vline"
    assert floor[0]["step"] == 21 and floor[0]["value"] == 0.9
    # The floor of docs/references.md (van Trees inequality, Gill & Levit 1995): one-bit bound
    # 21 / 80 / 618 ratings at d = 16 / 64 / 512; noise bound at temperature 0.25: 17 / 76 / 627.
    assert [round(floor_ratings(d)[0]) for d in (16, 64, 512)] == [21, 80, 618]
    assert [round(floor_ratings(d)[1]) for d in (16, 64, 512)] == [17, 76, 627]


def test_report_has_tables_and_references_its_plots(latent_run: Path) -> None:
    report = (latent_run / "report.md").read_text()
    assert "| method | N=20 | seeds |" in report  # the steps of Metric.steps within 20
    assert "ratings until normalized utility of recommendation #1 >= 0.9" in report
    assert "| floor | 21 | ref | 21 |" in report
    plots = sorted(latent_run.glob("*.png"))
    assert {p.name for p in plots} >= {"latent-linear-d16-top1.png", "latent-linear-d16-top10.png"}
    for plot in plots:
        assert plot.read_bytes()[:8] == PNG_MAGIC
        assert f"]({plot.name})" in report
    fragment = (latent_run / "readme-fragment.md").read_text()
    assert fragment.startswith("Measured by `plgl bench`") and "### Binary swipes" in fragment


def test_botorch_runs_or_is_reported_as_skipped(latent_run: Path) -> None:
    records = _records(latent_run)
    ran = [r for r in records if r.get("method") == "botorch" and "kind" not in r]
    skipped = [r for r in records if r.get("kind") == "skip" and r.get("method") == "botorch"]
    assert ran or skipped
    if ran:
        assert {r["metric"] for r in ran} >= {"top1", "top10", "seconds_per_iteration"}


@pytest.mark.parametrize("suite", ["nope", "latent,nope", ""])
def test_unknown_suite_is_a_usage_error(
    suite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--suite", suite, "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "suite" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written


def test_bad_seeds_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--suite", "latent", "--seeds", "a-b"])
    assert exit_info.value.code == 2
    assert "--seeds" in capsys.readouterr().err


def test_a_skipped_suite_and_a_failing_task_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plgl.bench import command
    from plgl.bench import suites as registry

    class Broken:
        TITLE = "broken"

        @staticmethod
        def plan(quick: bool, seeds: Any) -> list[Task]:
            return [Task("latent", "p", "m", 0), Task("latent", "p", "needs-extra", 0)]

        @staticmethod
        def run_task(task: Task) -> list[dict[str, Any]]:
            if task.method == "needs-extra":
                raise SuiteSkipped("extra not installed")
            raise RuntimeError("boom")

    def fake_load(name: str) -> Any:
        if name == "cache":
            raise SuiteSkipped("not here")
        return Broken

    monkeypatch.setattr(registry, "load", fake_load)
    monkeypatch.setattr("plgl.bench.report.load", fake_load)
    code = command.run_bench(["latent", "cache"], quick=True, seeds=None, out=tmp_path)
    assert code == 1  # the error is recorded, the run finished
    kinds = [r.get("kind") for r in _records(tmp_path)]
    assert kinds.count("skip") == 2 and kinds.count("error") == 1
    report = (tmp_path / "report.md").read_text()
    assert "**skipped**: not here" in report
    assert "**skipped** p / needs-extra: extra not installed" in report
    assert "**error** p / m / seed 0: `RuntimeError('boom')`" in report


def _row(method: str, seed: int | None, step: int, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "suite": "latent",
        "problem": "p",
        "method": method,
        "seed": seed,
        "step": step,
        "metric": "top1",
        "value": value,
    } | extra


HAND_MADE = [
    # method a: seeds reach 0.9 at 20, 30 and never (horizon 40)
    *(_row("a", 0, n, v) for n, v in [(10, 0.5), (20, 0.95), (30, 0.8), (40, 0.99)]),
    *(_row("a", 1, n, v) for n, v in [(10, 0.4), (20, 0.7), (30, 0.92), (40, 0.93)]),
    *(_row("a", 2, n, v) for n, v in [(10, 0.1), (20, 0.2), (30, 0.3), (40, 0.4)]),
    # method b: one seed, reaches at 40
    *(_row("b", 0, n, v) for n, v in [(10, 0.1), (20, 0.2), (30, 0.5), (40, 0.9)]),
    # method c: two seeds, neither reaches
    *(_row("c", s, n, 0.3) for s in (0, 1) for n in (10, 20)),
    _row("floor", None, 21, 0.9, draw="vline"),
]


def test_ratings_to_reach_median_and_counts() -> None:
    table = {r.method: r for r in reach_table(HAND_MADE, "top1", 0.9)}
    assert (table["a"].median, table["a"].reached, table["a"].seeds) == (30.0, 2, 3)
    assert (table["b"].median, table["b"].reached, table["b"].horizon) == (40.0, 1, 40)
    assert math.isinf(table["c"].median) and table["c"].reached == 0 and table["c"].horizon == 20
    assert (table["floor"].median, table["floor"].reached) == (21.0, 1)
    lower = {r.method: r for r in reach_table(HAND_MADE, "top1", 0.45, higher_is_better=False)}
    assert (lower["a"].median, lower["a"].reached) == (10.0, 2)  # seed 0 never got <= 0.45
    assert lower["b"].median == 10.0


def test_value_table_mean_se_and_median_iqr() -> None:
    steps, table = value_table(HAND_MADE, "top1", Metric("u", steps=(20, 40)))
    assert steps == [20, 40]
    rows = {row[0]: row[1:] for row in table}
    assert "floor" not in rows  # drawn as a line, not a row of values
    # a at 20: 0.95, 0.7, 0.2 -> mean 0.617, s.e. 0.220; at 40: 0.99, 0.93, 0.4 -> 0.773, 0.188
    assert rows["a"] == ["0.62 ± 0.22", "0.77 ± 0.19", "3"]
    assert rows["b"] == ["0.20", "0.90", "1"]
    assert rows["c"] == ["0.30 ± 0", "-", "2"]  # c's runs ended at 20
    _, median = value_table(HAND_MADE, "top1", Metric("u", steps=(20,), summary="median"))
    # a at 20: median 0.7, quartiles 0.45 and 0.825; the last step 40 is always shown
    assert median[0] == ["a", "0.70 [0.45, 0.82]", "0.93 [0.67, 0.96]", "3"]


def test_report_body_lists_reach_table_with_counts() -> None:
    results = Results(header={"suites": ["latent"]}, rows=list(HAND_MADE))
    body = render_body(results, plots={}, level=2)
    assert "| a | 30 | 2/3 | 40 |" in body
    assert "| c | > 20 | 0/2 | 20 |" in body
    assert "| floor | 21 | ref | 21 |" in body


def test_readme_tables_are_spliced_between_the_markers(latent_run: Path, tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "update_readme_tables.py"
    spec = importlib.util.spec_from_file_location("update_readme_tables", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:begin -->\nold\n<!-- bench:end -->\noutro\n")
    images = tmp_path / "docs" / "bench"
    args = [str(latent_run), "--readme", str(readme), "--images", str(images)]
    assert module.main(args) == 0
    text = readme.read_text()
    assert text.startswith("intro\n<!-- bench:begin -->\nMeasured by `plgl bench`")
    assert text.endswith("<!-- bench:end -->\noutro\n") and "old" not in text
    assert "![linear d=16: normalized utility of recommendation #1]" in text
    assert "(docs/bench/latent-linear-d16-top1.png)" in text
    assert (images / "latent-linear-d16-top1.png").read_bytes()[:8] == PNG_MAGIC
    assert "top 10" not in text  # the README gets the headline metric only
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit):
        module.main(args)
    assert readme.read_text() == "no markers\n"


# ------------------------------------------------------------------ plans and simulated users
def test_latent_plans_follow_the_research_protocol() -> None:
    from plgl.bench.suites import latent

    def count(tasks: list[Task], problem: str, method: str) -> int:
        return sum(t.problem == problem and t.method == method for t in tasks)

    quick = latent.plan(True, None)
    assert {t.problem for t in quick} == {"linear d=16", "linear d=64"}
    assert (
        count(quick, "linear d=16", "botorch") == 1 and count(quick, "linear d=64", "botorch") == 0
    )
    full = latent.plan(False, None)
    assert count(full, "linear d=16", "plgl") == 5 and count(full, "linear d=512", "plgl") == 3
    assert count(full, "linear d=16", "botorch") == 3 and count(full, "linear d=64", "botorch") == 2
    assert {t.params["horizon"] for t in full if t.problem == "linear d=64"} >= {320}
    assert all(count(full, p, "floor") == 1 for p in ("linear d=16", "linear d=64", "linear d=512"))
    assert count(full, "ideal d=16", "floor") == 0  # the floor is the linear user's
    assert [t.seed for t in latent.plan(True, [7]) if t.method == "plgl"] == [7, 7]


def test_user_kinds_and_noise_presets() -> None:
    import numpy as np

    from plgl.bench import NOISE, USER_KINDS, MultiIdealUser, make_user

    prior = np.random.default_rng(0).standard_normal((4000, 8))
    rng = np.random.default_rng(1)
    liked = {kind: make_user(kind, 8, seed=0).likes(prior, rng).mean() for kind in USER_KINDS}
    assert 0.2 < liked["linear"] < 0.4 and liked["picky"] < 0.12  # picky: few likes
    assert list(NOISE.values()) == sorted(NOISE.values())  # nearly clean ... very noisy
    assert MultiIdealUser(8, seed=0, n_ideals=3).ideals.shape == (3, 8)
    clean = make_user("linear", 8, seed=0)
    clean.noise = 0.0  # no noise: answers follow the utility exactly
    assert set(np.unique(clean.like_probability(prior))) <= {0.0, 1.0}


def test_pairwise_responder_flips_the_share_it_is_told() -> None:
    import numpy as np

    from plgl.bench import LinearUser, PairwiseResponder

    user = LinearUser(8, seed=0, noise=0.0)
    a, b = np.random.default_rng(0).standard_normal((2, 5000, 8))
    truth = user.standardized(a) > user.standardized(b)  # utility inside |z| <= sqrt(d)
    exact = PairwiseResponder(user).prefers(a, b, np.random.default_rng(1))
    flipped = PairwiseResponder(user, flip=0.2).prefers(a, b, np.random.default_rng(1))
    assert np.array_equal(exact, truth)
    assert 0.18 < np.mean(flipped != truth) < 0.22


@pytest.mark.parametrize(
    "build",
    [
        lambda: __import__("plgl.bench", fromlist=["x"]).make_user("grumpy", 8, 0),
        lambda: __import__("plgl.bench", fromlist=["x"]).LinearUser(0, 0),
        lambda: __import__("plgl.bench", fromlist=["x"]).LinearUser(8, 0, noise=-1.0),
        lambda: __import__("plgl.bench", fromlist=["x"]).MultiIdealUser(8, 0, n_ideals=0),
    ],
)
def test_bad_user_arguments_are_clear_errors(build: Any) -> None:
    from plgl.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        build()


def test_pairwise_responder_rejects_mismatched_shapes() -> None:
    import numpy as np

    from plgl.bench import LinearUser, PairwiseResponder
    from plgl.errors import InvalidInputError

    responder = PairwiseResponder(LinearUser(4, seed=0))
    with pytest.raises(InvalidInputError, match="must both be"):
        responder.prefers(np.zeros((3, 4)), np.zeros((2, 4)), np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="flip"):
        PairwiseResponder(LinearUser(4, seed=0), flip=0.7)
