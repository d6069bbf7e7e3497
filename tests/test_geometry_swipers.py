import numpy as np
import pytest

import plgl
from plgl.bench.suites import load
from plgl.bench.suites._base import TINY_ENV
from plgl.bench.swipers import KINDS, swiper
from plgl.errors import InvalidInputError


@pytest.mark.parametrize(("domain", "kind"), [(d, k) for d, ks in KINDS.items() for k in ks])
def test_swipers_are_normalized_on_their_prior_sample(domain: str, kind: str) -> None:
    generator = plgl.generators.get(domain)
    user = swiper(domain, kind, generator, seed=1, n_prior=60)
    prior = np.random.default_rng(30_001).standard_normal((60, generator.latent_dim))
    values = user.normalized(prior)  # the very sample behind the normalization
    assert values.mean() == pytest.approx(0.0, abs=1e-9)
    assert values.max() == pytest.approx(1.0)
    again = swiper(domain, kind, generator, seed=1, n_prior=60)  # same seed, same taste
    np.testing.assert_allclose(again.utility(prior[:5]), user.utility(prior[:5]))
    other = swiper(domain, kind, generator, seed=2, n_prior=60)
    assert not np.allclose(other.utility(prior[:5]), user.utility(prior[:5]))


def test_a_target_swiper_loves_its_target() -> None:
    faces = plgl.generators.get("faces")
    user = swiper("faces", "target", faces, seed=0, n_prior=200)
    assert user.target_latent is not None
    assert user.normalized(user.target_latent[None])[0] > 1.0


def test_unknown_swipers_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="faces/target"):
        swiper("faces", "nose-length", plgl.generators.get("identity"))


def test_the_suite_reports_the_pick_beside_the_favourite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TINY_ENV, "1")
    suite = load("swipers")
    tasks = suite.plan(quick=False, seeds=None)
    assert {t.problem.split()[0] for t in tasks} == set(KINDS)
    assert len(tasks) == 3  # tiny: one kind and one seed per domain
    task = next(t for t in tasks if t.problem.startswith("melodies"))
    assert task.params["engines"][:2] == ["before", "default"]
    rows = suite.run_task(task)
    assert {row["method"] for row in rows} == set(task.params["engines"])
    assert {row["step"] for row in rows} == {10, 20}
    rows = [row for row in rows if row["method"] == "default"]
    for row in rows:
        assert row["metric"] in {"for_you", "favourite", "gap", "below", "new"}
        assert row["value"] is None or np.isfinite(row["value"])
    by_key = {(r["step"], r["metric"]): r["value"] for r in rows}
    you, fav, gap = (by_key[(20, m)] for m in ("for_you", "favourite", "gap"))
    assert gap == pytest.approx(you - fav)
    assert by_key[(20, "below")] == float(you < fav - 1e-9)
