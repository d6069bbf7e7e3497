"""ContentPreference: a Bayesian logistic model over an embedding of the perceptual map (and the
latent), its embedding and bank, the online contract, scikit-learn's checks and the engine."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.utils.estimator_checks import parametrize_with_checks

import plgl
from plgl.engine import DEFAULT_MODEL, model_named
from plgl.errors import InvalidInputError
from plgl.generators import Generator, IdentityGenerator
from plgl.models import ContentPreference, FeaturePreference, LinearPreference
from plgl.models.embedding import ContentEmbedding
from plgl.models.mapped import latent_key
from plgl.testing import OnlineModelConformance

BANK = 300


class Painted(Generator):
    """Content is the latent; its perceptual map is twelve smooth, nonlinear traits of it.

    Any width is accepted (scikit-learn's checks fit data of many widths, while a generator has
    one latent_dim): each trait is a smooth function of the latent's leading coordinates.
    """

    name = "painted"
    modality = "vector"
    feature_names = ("first", "mean")

    def __init__(self, latent_dim: int = 6) -> None:
        self.latent_dim = latent_dim

    def generate(self, latents: np.ndarray) -> list[Any]:
        return list(np.atleast_2d(np.asarray(latents, dtype=np.float64)))

    def _render(self, content: Any, media_type: str) -> bytes:
        return repr(content).encode()

    def features(self, contents: Sequence[Any]) -> np.ndarray:
        rows = np.asarray(contents, dtype=np.float64).reshape(len(contents), -1)
        return np.column_stack([rows[:, 0], rows.mean(axis=1)])

    def perceptual(self, latents: torch.Tensor) -> torch.Tensor:
        z = latents.double()
        lead = torch.nn.functional.pad(z, (0, max(0, 3 - z.shape[1])))[:, :3]
        traits = [torch.tanh(lead), torch.sin(lead), lead**2 / 4, z.mean(dim=1, keepdim=True)]
        traits += [torch.tanh(lead.sum(dim=1, keepdim=True)), (z**2).mean(dim=1, keepdim=True)]
        return torch.cat(traits, dim=1).to(latents.dtype)


def _content_taste(generator: Generator, latents: np.ndarray) -> np.ndarray:
    """(n,) a taste linear in the perceptual map (what the model can represent)."""
    weights = np.random.default_rng(5).standard_normal(12)
    with torch.no_grad():
        maps = generator.perceptual(torch.as_tensor(latents)).numpy()
    return np.asarray(maps @ weights)


@pytest.fixture(scope="module")
def painted() -> Painted:
    return Painted()


def _model(generator: Generator, **options: Any) -> ContentPreference:
    return ContentPreference(generator, n_components=8, n_bank=BANK, **options)


# ------------------------------------------------------------------------- the contract
class TestContentOnly(OnlineModelConformance):
    @pytest.fixture
    def model(self, painted: Painted) -> ContentPreference:
        return _model(painted)

    @pytest.fixture
    def latents(self, painted: Painted) -> np.ndarray:
        return painted.project(painted.sample(40, np.random.default_rng(0)))


class TestHybrid(TestContentOnly):
    @pytest.fixture
    def model(self, painted: Painted) -> ContentPreference:
        return _model(painted, latent_scale=2.0)


class TestLinear(OnlineModelConformance):
    @pytest.fixture
    def model(self) -> LinearPreference:
        return LinearPreference()

    @pytest.fixture
    def latents(self) -> np.ndarray:
        return np.random.default_rng(0).standard_normal((40, 6))


class TestFeatures(TestContentOnly):
    @pytest.fixture
    def model(self, painted: Painted) -> FeaturePreference:  # type: ignore[override]
        return FeaturePreference(painted)


EXPECTED_FAILURES = {
    # The generator holds its embedding once made (`ContentEmbedding.of`), so the parameter's
    # hash changes during fit although what it generates does not.
    "check_estimators_overwrite_params": "the generator holds its embedding once made",
    "check_n_features_in_after_fitting": "online start needs latents of the generator's width",
}


@parametrize_with_checks(
    [ContentPreference(Painted(latent_dim=2), n_components=4, n_bank=64)],
    expected_failed_checks=lambda _: EXPECTED_FAILURES,
)
def test_sklearn_contract(estimator: ContentPreference, check: Any) -> None:
    check(estimator)


# -------------------------------------------------------------------------- learning
def test_learns_a_taste_of_the_content(painted: Painted) -> None:
    rng = np.random.default_rng(1)
    model = _model(painted).start(painted.latent_dim)
    shown = painted.project(painted.sample(120, rng))
    taste = _content_taste(painted, shown)
    for row, value in zip(shown, taste, strict=True):
        model.learn(row, float(value > np.median(taste)))
    model.refine()
    held_out = painted.project(painted.sample(300, rng))
    agreement = spearmanr(model.decision_function(held_out), _content_taste(painted, held_out))
    assert agreement.statistic > 0.8


def test_hybrid_sees_the_latent_too(painted: Painted) -> None:
    content = _model(painted).start(painted.latent_dim)
    hybrid = _model(painted, latent_scale=2.0).start(painted.latent_dim)
    z = painted.project(painted.sample(3, np.random.default_rng(2)))
    assert content._features(z).shape == (3, 9)  # 8 components and the squared norm
    np.testing.assert_array_equal(hybrid._features(z)[:, 9:], z)


def test_ratings_of_shown_items_decode_nothing(
    painted: Painted, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _model(painted).start(painted.latent_dim)
    rng = np.random.default_rng(3)
    shown = model.reverse_search(0.0, painted.sample(10, rng), np.sqrt(painted.latent_dim))

    def decode(latents: np.ndarray) -> np.ndarray:
        raise AssertionError("a bank item was decoded again")

    monkeypatch.setattr(model.embedding_, "maps", decode)
    for row in shown:
        model.learn(row, 1.0)
    assert len(model.rated_) == 10


# ------------------------------------------------------------------------ navigation
def test_search_draws_unrated_bank_items_near_their_targets(painted: Painted) -> None:
    model = _model(painted, local_step=0.0).start(painted.latent_dim)
    bank = model.embedding_.latents
    for row in bank[:40]:
        model.learn(row, float(row[0] > 0))
    radius = np.sqrt(painted.latent_dim)
    targets = np.array([-1.0, 0.0, 1.0, 2.0])
    found = model.reverse_search(targets, np.zeros((4, painted.latent_dim)), radius)
    keys = {latent_key(row) for row in bank}
    assert all(latent_key(row) in keys for row in found)
    assert not {latent_key(row) for row in found} & model.rated_
    scores = model.decision_function(bank)
    unrated = scores[40:]
    for target, got in zip(targets, model.decision_function(found), strict=True):
        assert abs(got - target) <= np.min(np.abs(unrated - target)) + 1e-9 or got in unrated
    best = model.reverse_search(None, np.zeros((1, painted.latent_dim)), radius)
    assert model.decision_function(best)[0] == pytest.approx(unrated.max())


# ----------------------------------------------------------------------- the embedding
def test_embedding_is_saved_and_loaded(painted: Painted, tmp_path: Path) -> None:
    made = ContentEmbedding(painted, n_bank=80, n_components=5, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("content-*-80-5.npz"))) == 1
    loaded = ContentEmbedding(painted, n_bank=80, n_components=5, cache_dir=tmp_path)
    np.testing.assert_allclose(loaded.features, made.features, atol=1e-5)  # saved as float32
    z = painted.sample(4, np.random.default_rng(4))
    np.testing.assert_allclose(loaded.transform(z), made.transform(z), atol=1e-5)
    np.testing.assert_allclose(made.lookup(made.latents[:3]), made.transform(made.latents[:3]))
    assert np.mean((made.features[:, :-1] ** 2).sum(axis=1)) == pytest.approx(1.0)


def test_torch_features_match_the_features(painted: Painted) -> None:
    model = _model(painted, latent_scale=1.0).start(painted.latent_dim)
    z = painted.sample(5, np.random.default_rng(6))
    exact = model._features(z)
    with torch.no_grad():
        differentiable = model._torch_features(torch.as_tensor(z)).numpy()
    np.testing.assert_allclose(differentiable, exact, atol=1e-6)  # maps() runs in float32


# ---------------------------------------------------------------------------- bad input
def test_bad_settings_raise_and_say_what(painted: Painted) -> None:
    with pytest.raises(InvalidInputError, match="perceptual map"):
        ContentPreference(IdentityGenerator(4)).start(4)
    with pytest.raises(InvalidInputError, match="latent_scale"):
        _model(painted, latent_scale=-1.0).start(painted.latent_dim)
    with pytest.raises(InvalidInputError, match="both be 0"):
        _model(painted, content_scale=0.0).start(painted.latent_dim)
    with pytest.raises(InvalidInputError, match="6 dimensions"):
        _model(painted).start(5)
    with pytest.raises(ValueError, match="n_bank"):
        ContentEmbedding(painted, n_bank=1)
    with pytest.raises(InvalidInputError, match="LinearPreference"):
        _model(painted, base=FeaturePreference(painted)).start(6)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ engine
def test_copies_share_the_bank_and_cache(painted: Painted) -> None:
    template = _model(painted).start(painted.latent_dim)
    user = copy.deepcopy(template)
    assert user.embedding_ is template.embedding_
    assert user._cache() is template._cache()
    assert pickle.loads(pickle.dumps(user)).embedding_.features.shape == (BANK, 9)


def test_the_engine_serves_and_resumes_it(painted: Painted) -> None:
    with plgl.Engine(painted, storage="memory://", seed=0, model=_model(painted)) as engine:
        session = engine.session("ada")
        for _ in range(3):
            for item in session.ask(5):
                session.tell(item.id, "like" if item.latent[0] > 0 else "dislike")
        picks = session.recommend(2)
        assert len(picks) == 2
        probe = painted.project(painted.sample(20, np.random.default_rng(8)))
        before = session.score(probe)
        engine.flush()
        engine.evict("ada")
        resumed = engine.session("ada")
        assert resumed.n_ratings == 15
        # A replay refits where the live session refined between batches: close, not equal
        # (as for the linear model, tests/test_session.py).
        np.testing.assert_allclose(resumed.score(probe), before, atol=0.05)


def test_explains_the_taste_in_the_generators_words(painted: Painted) -> None:
    model = _model(painted).start(painted.latent_dim)
    bank = model.embedding_.latents
    for row in bank[:80]:
        model.learn(row, float(row[0] > 0))  # likes a large first coordinate
    model.refine()
    weights = dict(model.feature_weights())
    assert set(weights) == {"first", "mean"}
    assert weights["first"] > abs(weights["mean"]) and weights["first"] > 0
    assert np.isclose(np.linalg.norm(list(weights.values())), 1.0)


def test_climbing_steps_past_the_bank(painted: Painted) -> None:
    bank_only = _model(painted, local_step=0.0).start(painted.latent_dim)
    climber = _model(painted, local_step=0.3).start(painted.latent_dim)
    for row in bank_only.embedding_.latents[:60]:
        for model in (bank_only, climber):
            model.learn(row, float(row[0] > 1.0))
    radius = np.sqrt(painted.latent_dim)
    starts = painted.sample(4, np.random.default_rng(9))
    top = bank_only.reverse_search(None, starts, radius)
    climbed = climber.reverse_search(None, starts, radius)
    assert np.allclose(np.linalg.norm(climbed, axis=1), radius)
    assert climber.decision_function(climbed)[0] >= bank_only.decision_function(top)[0]
    assert not {latent_key(row) for row in climbed} & climber.rated_


def test_the_engine_picks_each_domains_model(monkeypatch: pytest.MonkeyPatch) -> None:
    faces, melodies = plgl.generators.get("faces"), plgl.generators.get("melodies")
    assert DEFAULT_MODEL == {}  # the swipers suite: the latent model with duels, everywhere
    assert isinstance(plgl.Engine(faces).model, LinearPreference)
    monkeypatch.setitem(DEFAULT_MODEL, "faces", "content")
    assert isinstance(plgl.Engine(faces).model, ContentPreference)
    assert isinstance(plgl.Engine(melodies).model, LinearPreference)
    with_population = plgl.Engine(faces, population=plgl.Population())
    assert isinstance(with_population.model, LinearPreference)  # its prior is over latents
    assert isinstance(model_named("latent", faces), LinearPreference)
    with pytest.raises(InvalidInputError, match="latent, content"):
        model_named("kernel", faces)


def test_reading_never_changes_the_next_batch(painted: Painted) -> None:
    def run(read: bool) -> np.ndarray:
        engine = plgl.Engine(painted, seed=1, model=_model(painted))
        session = engine.session("u")
        for _ in range(2):
            for item in session.ask(10):
                session.tell(item.id, "like" if item.latent[0] > 0 else "dislike")
        if read:
            session.recommend(3)  # climbs: decodes new latents near the best bank items
            session.reverse(0.9, 2)
        return np.array([item.latent for item in session.ask(10)])

    np.testing.assert_array_equal(run(False), run(True))
