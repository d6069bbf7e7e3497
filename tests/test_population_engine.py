"""The population wired into the engine: refresh from storage, persistence, pinned priors,
deletion, and a new user learning faster through the public Engine/Session API."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from helpers import rate_more

import plgl
from plgl.errors import InvalidInputError, StorageError
from plgl.history import replay
from plgl.models.mixture import MixturePrior
from plgl.population import Match, Population, PopulationSummary
from plgl.population.service import PRIOR_SETTING

D = 8
CENTRES = np.linalg.qr(np.random.default_rng(7).standard_normal((D, 3)))[0].T  # 3 unit centres


def taste(user: int, rng: np.random.Generator) -> np.ndarray:
    """A unit taste near one of three centres (user % 3)."""
    w = CENTRES[user % 3] + 0.15 * rng.standard_normal(D) / np.sqrt(D)
    return np.asarray(w / np.linalg.norm(w))


def engine(storage: str = "memory://", **options: object) -> plgl.Engine:
    population = Population(epsilon=None, min_users=20, max_rank=3, **options)  # type: ignore[arg-type]
    return plgl.Engine(
        generator=plgl.generators.get("identity", latent_dim=D),
        storage=storage,
        seed=0,
        population=population,
    )


def fill(eng: plgl.Engine, users: int, ratings: int = 30, matching_every: int = 2) -> None:
    rng = np.random.default_rng(1)
    for user in range(users):
        s = eng.session(f"u{user:03d}")
        if user % matching_every == 0:
            s.set_matching(True)
        rate_more(s, taste(user, rng), ratings)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file with 45 users of three taste clusters, refreshed once."""
    url = f"sqlite:///{tmp_path_factory.mktemp('pop') / 'plgl.db'}"
    with engine(url) as eng:
        fill(eng, 45)
        assert eng.population is not None
        eng.population.refresh()
    return url


def copy_of(db: str, tmp_path: Path) -> str:
    target = tmp_path / "copy.db"
    # The backup API copies what is committed, also what still sits in the write-ahead log.
    source, copy = sqlite3.connect(db.removeprefix("sqlite:///")), sqlite3.connect(target)
    source.backup(copy)
    source.close()
    copy.close()
    return f"sqlite:///{target}"


def test_refresh_is_persisted_and_survives_a_restart(db: str) -> None:
    with engine(db) as eng:
        assert eng.population is not None
        summary = eng.population.summary()
        assert summary is not None and summary.users == 45 and summary.kind == "low-rank"
        assert summary.matching_users == 23
        clusters = eng.population.clusters()
        assert len(clusters) >= 3 and sum(c.size for c in clusters) == 45
        # Each true centre has a released cluster direction near it.
        cosines = np.array([[c.direction @ centre for centre in CENTRES] for c in clusters])
        assert cosines.max(axis=0).min() > 0.8
        prior = eng.population.prior()
        assert prior is not None and prior.dim == D


def test_new_user_starts_from_the_prior_and_stays_pinned(db: str, tmp_path: Path) -> None:
    url = copy_of(db, tmp_path)
    with engine(url) as eng:
        population = eng.population
        assert population is not None
        prior = population.prior()
        assert isinstance(prior, MixturePrior)  # the default: one component per cluster
        bob = eng.session("bob")
        np.testing.assert_allclose(bob.model.coef_, prior.moment_matched().mean)  # type: ignore[attr-defined]
        rate_more(bob, taste(0, np.random.default_rng(3)), 12)
        pinned = eng.storage.settings("bob")[PRIOR_SETTING]
        assert pinned == population.current_prior_id()
        replayed = population.taste("bob")  # his events replayed from his pinned prior
        assert replayed is not None
        # A later refresh releases another prior (bob's ratings changed the population) ...
        fill_more = eng.session("u100")
        rate_more(fill_more, taste(1, np.random.default_rng(4)), 30)
        population.refresh()
        assert population.current_prior_id() != pinned
        recipe, key = population.recipe_of(population.current_prior_id())
        newer = replay(recipe, eng.storage, "bob", key)
        # ... yet bob, replayed in a new process, follows the prior he started from.
    with engine(url) as again:
        bob = again.session("bob")
        np.testing.assert_allclose(bob.model.coef_, replayed.mean, atol=1e-9)  # type: ignore[attr-defined]
        assert again.storage.settings("bob")[PRIOR_SETTING] == pinned
        # (from the newer prior the same events would give another model)
        assert np.abs(newer[0].model.coef_ - replayed.mean).max() > 1e-3  # type: ignore[attr-defined]


def test_users_who_rated_before_any_refresh_keep_the_scratch_prior(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    with engine(url) as eng:
        fill(eng, 24, ratings=20)
        assert eng.population is not None
        early = eng.population.taste("u000")  # his events replayed from scratch
        assert early is not None
        eng.population.refresh()
    with engine(url) as eng:
        coef = eng.session("u000").model.coef_  # type: ignore[attr-defined]
        np.testing.assert_allclose(coef, early.mean, atol=1e-9)
        assert PRIOR_SETTING not in eng.storage.settings("u000")


def test_deleted_users_leave_no_aggregate(db: str, tmp_path: Path) -> None:
    url = copy_of(db, tmp_path)
    with engine(url) as eng:
        population = eng.population
        assert population is not None
        gone = "u004"  # opted in to matching
        assert population.population.is_matchable(gone)
        eng.session(gone).delete()
        assert not population.population.is_matchable(gone)  # out of matching at once
        summary = population.refresh()
        assert summary.users == 44
        state = population.population.get_state()
        assert gone not in state["matching"]["ids"]
        # The stored aggregates are exactly those of the users still there.
        remaining = [population.taste(u) for u in eng.storage.users()]
        alone = Population(epsilon=None, min_users=20, max_rank=3)
        alone.refresh([t for t in remaining if t is not None])
        for key in ("mean", "covariance", "subspace"):
            np.testing.assert_allclose(
                state["fitted"][key], alone.get_state()["fitted"][key], atol=1e-9
            )


def test_a_new_user_in_a_clustered_population_learns_faster(db: str, tmp_path: Path) -> None:
    """Cosine between the learned and the true taste after 8 ratings, 9 new users from the
    population's clusters, with the population prior and from scratch (same seeds)."""
    url = copy_of(db, tmp_path)
    scratch = plgl.Engine(generator=plgl.generators.get("identity", latent_dim=D), seed=0)
    with engine(url) as eng, scratch:
        cosines: dict[str, list[float]] = {"population": [], "scratch": []}
        for user in range(9):
            w = taste(user, np.random.default_rng(100 + user))
            for name, which in (("population", eng), ("scratch", scratch)):
                s = which.session(f"new{user}")
                rate_more(s, w, 8, batch=4)
                coef = np.asarray(s.model.coef_)  # type: ignore[attr-defined]
                cosines[name].append(float(coef @ w / np.linalg.norm(coef)))
    assert np.median(cosines["population"]) > np.median(cosines["scratch"]) + 0.1
    assert np.median(cosines["population"]) > 0.8


def test_an_engine_without_stored_state_starts_from_scratch() -> None:
    with engine() as eng:
        assert eng.population is not None
        assert eng.population.summary() is None and eng.population.clusters() == []
        s = eng.session("alice")
        np.testing.assert_allclose(s.model.coef_, 0.0)  # type: ignore[attr-defined]
        with pytest.raises(InvalidInputError, match="at least one user"):
            eng.population.refresh()  # nobody has rated yet


def test_population_needs_a_linear_model() -> None:
    with pytest.raises(InvalidInputError, match="LinearPreference"):
        plgl.Engine(
            generator=plgl.generators.get("identity", latent_dim=D),
            model=plgl.models.KernelPreference(),
            population=Population(epsilon=None),
        )
    with pytest.raises(InvalidInputError, match=r"plgl\.Population"):
        plgl.Engine(
            generator=plgl.generators.get("identity", latent_dim=D),
            population="yes",  # type: ignore[arg-type]
        )


def test_a_missing_pinned_prior_is_a_storage_error() -> None:
    with engine() as eng:
        eng.storage.put_settings("carol", {PRIOR_SETTING: "0" * 32})
        with pytest.raises(StorageError, match="missing"):
            eng.session("carol")


def test_the_readme_population_example_runs_as_written() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text()
    found = re.search(r"## Many users: `plgl.Population`\n.*?```python\n(.*?)```", text, re.S)
    assert found is not None
    namespace: dict[str, object] = {}
    exec(compile(found.group(1), "README.md", "exec"), namespace)
    summary = namespace["summary"]
    assert isinstance(summary, PopulationSummary)
    count_scale = summary.releases[0][2]  # the DP noise of the released count
    assert abs(summary.users - 200) < 5 * count_scale and summary.epsilon == pytest.approx(1.0)
    assert summary.kind != "none" and summary.clusters >= 1  # few users: coarse at epsilon 1
    bob = namespace["s"]
    assert isinstance(bob, plgl.Session) and bob.matching
    matches = bob.matches(5)
    assert len(matches) == 5 and all(isinstance(m, Match) for m in matches)


def test_a_pin_written_by_another_process_is_followed() -> None:
    """Two engines over one storage: a session built before a refresh follows the prior the
    other engine pinned when it stored the user's first rating."""
    storage = plgl.storage.MemoryStorage()

    def bound() -> plgl.Engine:
        return plgl.Engine(
            generator=plgl.generators.get("identity", latent_dim=D),
            storage=storage,
            seed=0,
            population=Population(epsilon=None, min_users=20, max_rank=3),
        )

    first, second = bound(), bound()
    fill(first, 30, ratings=20)
    assert first.population is not None and second.population is not None
    first.population.refresh()
    before = first.population.current_prior_id()
    early = first.session("zoe")  # built from the first prior, no rating yet
    rate_more(first.session("u100"), taste(1, np.random.default_rng(5)), 20)
    second.population.refresh()  # another prior, released by the other process
    rate_more(second.session("zoe"), taste(0, np.random.default_rng(6)), 6)
    assert storage.settings("zoe")[PRIOR_SETTING] == second.population.current_prior_id() != before
    assert early.n_ratings == 6  # caught up, from the prior the other process pinned
    expected = second.population.taste("zoe")
    assert expected is not None
    np.testing.assert_allclose(early.model.coef_, expected.mean, atol=1e-9)  # type: ignore[attr-defined]
