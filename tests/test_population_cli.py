"""`plgl population refresh|report` and `plgl pregenerate --by-cluster` over a SQLite storage."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import plgl
from plgl.cache import ContentCache
from plgl.cli import main
from plgl.generators import IdentityGenerator

D = 4


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """24 users of two tastes in a SQLite file (no population refreshed yet)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'plgl.db'}"
    with plgl.Engine(generator=IdentityGenerator(latent_dim=D), storage=url, seed=0) as engine:
        for user in range(24):
            s = engine.session(f"u{user}")
            s.set_matching(user % 2 == 0)
            axis = np.eye(D)[user % 2]
            for item in s.ask(20):
                s.tell(item.id, "like" if item.latent @ axis > 0 else "dislike")
    return url


def population_args(action: str, storage: str, *extra: str) -> list[str]:
    base = ["population", action, "--storage", storage, "--latent-dim", str(D)]
    return [*base, "--epsilon", "none", "--min-users", "10", *extra]


def test_refresh_then_report(
    storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(population_args("refresh", storage)) == 0
    out = capsys.readouterr().out
    assert "24 users" in out and "12 matchable" in out and "none (no noise)" in out
    with plgl.Engine(
        IdentityGenerator(latent_dim=D), storage=storage, population=plgl.Population()
    ) as engine:
        assert engine.population is not None and len(engine.population.clusters()) >= 2
    assert main(population_args("report", storage, "--out", str(tmp_path / "r"))) == 0
    report = (tmp_path / "r" / "population.md").read_text()
    assert "# Population report" in report and "from 24 users" in report
    assert "| 0 |" in report and (tmp_path / "r" / "clusters").is_dir()


def test_a_private_refresh_spends_epsilon(
    storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.db"
    # The backup API copies what is committed, also what still sits in the write-ahead log.
    source = sqlite3.connect(storage.removeprefix("sqlite:///"))
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    args = ["population", "refresh", "--storage", f"sqlite:///{copy}", "--latent-dim", str(D)]
    assert main([*args, "--epsilon", "1", "--min-users", "10"]) == 0
    out = capsys.readouterr().out
    # 24 users: the noisy count (OpenDP, unseeded) may fall below 10, and then only the
    # count's share of the budget is spent and nothing else is fitted.
    spent = re.search(r"epsilon ([0-9.]+) this refresh, ([0-9.]+) in total", out)
    assert spent is not None, out
    assert spent[1] == spent[2]
    assert spent[1] == "1" or ("0 clusters" in out and 0 < float(spent[1]) < 1)


def test_pregenerate_by_cluster_fills_a_pool_per_cluster(
    storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(population_args("refresh", storage))
    cache = f"sqlite:///{tmp_path / 'pool.db'}"
    args = ["pregenerate", "identity", "--latent-dim", str(D), "--cache", cache]
    assert main([*args, "--n", "40", "--by-cluster", "--storage", storage]) == 0
    out = capsys.readouterr().out
    assert "40 items each" in out
    with plgl.Engine(
        IdentityGenerator(latent_dim=D), storage=storage, population=plgl.Population()
    ) as engine:
        population = engine.population
        assert population is not None
        clusters, refresh = population.clusters(), population.refresh_id
        mixture = population.population.mixture_prior()
        assert mixture is not None
    pool = ContentCache(cache).attach(IdentityGenerator(latent_dim=D))
    assert len(pool.pool_latents()) == 40 * len(clusters)
    for cluster, component in zip(clusters, mixture.components[1 : 1 + len(clusters)], strict=True):
        rows = pool.group_pool_rows(f"{refresh}:{cluster.id}")
        assert len(rows) == 40
        # Aimed at the sampler's targets for the cluster's members: a taste along the
        # centroid with the prior mean's length predicts them liked 38% to 80% of the time.
        logits = pool.pool_latents()[rows] @ cluster.direction * np.linalg.norm(component.mean)
        assert logits.min() >= -0.5 - 1e-6 and logits.max() <= np.log(4) + 1e-6
        assert np.median(logits) > 0  # the sampler's exploit share


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["population", "report", "--storage", "memory://"], "needs --out"),
        (["population", "report", "--storage", "memory://", "--out", "x"], "refresh` first"),
        (["population", "refresh", "--storage", "memory://"], "at least one user"),
        (["population", "refresh", "--storage", "ftp://x"], "storage"),
        (["population", "refresh", "--storage", "memory://", "--epsilon", "-1"], "epsilon"),
        (["population", "refresh", "--storage", "memory://", "--generator", "nope"], "nope"),
        (["pregenerate", "identity", "--cache", "memory://", "--by-cluster"], "go together"),
        (
            [
                "pregenerate",
                "identity",
                "--cache",
                "memory://",
                "--by-cluster",
                "--storage",
                "memory://",
            ],
            "no population clusters",
        ),
    ],
)
def test_bad_input_is_a_usage_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_report_measures_the_speedup_on_held_back_users(
    storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(population_args("refresh", storage))
    out = tmp_path / "r"
    assert main(population_args("report", storage, "--out", str(out), "--held-back", "4")) == 0
    report = (out / "population.md").read_text()
    assert "measured on held-back users" in report
    rows = dict(re.findall(r"\| (population prior|from scratch) \| ([\d.]+) \|", report))
    assert set(rows) == {"population prior", "from scratch"}
    assert float(rows["population prior"]) < float(rows["from scratch"])
