import json
import math

import numpy as np
import pytest
from scipy.stats import spearmanr

import plgl
from plgl.bench.content import PRESETS, ContentUser, content_user
from plgl.bench.domains import METHODS, run_domain
from plgl.errors import InvalidInputError
from plgl.generators import Generator
from plgl.models import FeaturePreference
from plgl.navigation import reverse_gradient
from plgl.samplers import MixtureSampler

FACE_TRAITS = {"brightness", "warmth", "face brightness", "face warmth"}


@pytest.fixture(scope="module")
def faces() -> Generator:
    return plgl.generators.get("faces")


@pytest.fixture(scope="module")
def user(faces: Generator) -> ContentUser:
    """Likes bright, warm faces."""
    return content_user("faces", faces, n_prior=200, climb_steps=20)


@pytest.fixture(scope="module")
def fitted(faces: Generator, user: ContentUser) -> FeaturePreference:
    latents = faces.sample(80, np.random.default_rng(0))
    liked = user.likes(latents, np.random.default_rng(1))
    return FeaturePreference(faces).fit(latents, liked.astype(int))


def test_the_content_user_likes_bright_warm_faces(faces: Generator, user: ContentUser) -> None:
    latents = faces.sample(60, np.random.default_rng(2))
    features = faces.features(faces.generate(latents))
    utility = user.utility(latents)
    for trait in ("brightness", "warmth"):
        column = features[:, faces.feature_names.index(trait)]
        assert spearmanr(column, utility).statistic > 0.4
    normalized = user.normalized(latents)
    assert abs(normalized.mean()) < 0.25 and normalized.max() < 1.0  # 0 = random, 1 = best found


def test_a_feature_model_learns_the_face_user(
    faces: Generator, user: ContentUser, fitted: FeaturePreference
) -> None:
    held_out = faces.sample(60, np.random.default_rng(3))
    agreement = spearmanr(fitted.decision_function(held_out), user.utility(held_out)).statistic
    assert agreement > 0.7
    top = fitted.feature_weights()[:3]
    assert all(weight > 0 for _, weight in top[:2])
    assert {name for name, _ in top} & FACE_TRAITS


def test_gradient_navigation_raises_predicted_and_true_utility(
    faces: Generator, user: ContentUser, fitted: FeaturePreference
) -> None:
    radius = math.sqrt(faces.latent_dim)
    starts = faces.project(faces.sample(3, np.random.default_rng(4)))
    climbed = reverse_gradient(fitted, None, starts, radius)  # best prior picks, then gradient
    np.testing.assert_allclose(np.linalg.norm(climbed, axis=1), radius)
    pool = faces.feature_sample()[0]
    best_pick = pool[np.argmax(fitted.decision_function(pool))]
    assert fitted.decision_function(climbed)[0] > fitted.decision_function(best_pick[None, :])[0]
    assert user.utility(climbed[:1])[0] > user.utility(best_pick[None, :])[0]
    assert user.normalized(climbed[:1])[0] > 0.3
    scaled = fitted.range_.standardize(faces.features(faces.generate(climbed)))
    assert np.all(fitted.range_.excess(scaled) < 0.5)  # still content the generator makes


def test_the_user_dislikes_the_ghosts_at_the_top_of_the_shell(
    faces: Generator, user: ContentUser
) -> None:
    latents = faces.feature_sample()[0]
    design = np.column_stack([latents, np.ones(len(latents))])
    coef = np.linalg.lstsq(design, user.utility(latents), rcond=None)[0][:-1]
    unit = coef / np.linalg.norm(coef)
    start = faces.project(faces.sample(4, np.random.default_rng(8)))
    ortho = start - np.outer(start @ unit, unit)
    ortho /= np.linalg.norm(ortho, axis=1, keepdims=True)
    near = 2.0 * unit + math.sqrt(96.0) * ortho  # a real face, brighter and warmer
    top = np.tile(10.0 * unit, (1, 1))  # the top of the shell: a washed-out yellow ghost
    assert user.utility(near).mean() > user.utility(start).mean()
    assert user.utility(top)[0] < user.utility(near).min()


def test_reverse_search_meets_a_target(faces: Generator, fitted: FeaturePreference) -> None:
    radius = math.sqrt(faces.latent_dim)
    starts = faces.project(faces.sample(6, np.random.default_rng(5)))
    found = reverse_gradient(fitted, 0.0, starts, radius)
    assert np.all(np.abs(fitted.decision_function(found)) < 0.5)
    assert len({row.tobytes() for row in found}) == 6


def test_feature_model_in_the_engine_asks_learns_recommends_and_explains(
    faces: Generator, user: ContentUser
) -> None:
    model = FeaturePreference(faces, gradient_starts=2, gradient_steps=10)  # a cheap search
    engine = plgl.Engine(
        generator=faces, seed=0, model=model, sampler=MixtureSampler(n_candidates=30)
    )
    session = engine.session("ada")
    rng = np.random.default_rng(6)
    first_batch: list[float] = []
    shown: list[bytes] = []
    while session.n_ratings < 30:
        items = session.ask(10)
        latents = np.array([item.latent for item in items])
        shown += [latent.tobytes() for latent in latents]
        first_batch = first_batch or list(user.normalized(latents))
        for item, liked in zip(items, user.likes(latents, rng), strict=True):
            session.tell(item.id, "like" if liked else "dislike")
    assert len(set(shown)) == len(shown)  # no face is shown twice
    best = session.recommend(2)
    assert best[0].content.shape == (64, 64, 3)
    assert user.normalized(best[0].latent[None, :])[0] > max(0.3, np.mean(first_batch))
    reversed_ = session.reverse(0.8, n=2)
    assert reversed_.shape == (2, 100)
    explained = session.explain()
    assert explained["traits"] and explained["traits"][0]["trait"] in faces.feature_names
    assert {t["trait"] for t in explained["traits"][:3]} & FACE_TRAITS
    json.dumps(explained)
    # A restart replays the stored events into the same model (both refit exactly on ask).
    again = plgl.Engine(
        generator=faces,
        storage=engine.storage,
        seed=0,
        model=model,
        sampler=MixtureSampler(n_candidates=30),
    ).session("ada")
    assert again.n_ratings == 30
    session.ask(1), again.ask(1)
    probe = faces.sample(4, np.random.default_rng(7))
    np.testing.assert_allclose(again.score(probe), session.score(probe), atol=0.02)


def test_feature_model_needs_a_generator_with_features() -> None:
    identity = plgl.generators.get("identity", latent_dim=3)
    with pytest.raises(ValueError, match="feature_names"):
        FeaturePreference(identity).fit(np.eye(3), [0, 1, 0])
    with pytest.raises(ValueError, match="feature_names"):
        FeaturePreference().start(3)


def test_content_users_refuse_unknown_features(faces: Generator) -> None:
    with pytest.raises(InvalidInputError, match="brightness"):
        ContentUser(faces, {"loudness": 1.0}, n_prior=8)
    with pytest.raises(InvalidInputError, match="no content user"):
        content_user("poetry", faces)
    assert set(PRESETS) >= {"faces", "melodies", "molecules"}


def test_run_domain_rows_are_json_native_and_cover_every_method() -> None:
    rows = run_domain("faces", ratings=10, quick=True)
    assert json.loads(json.dumps(rows)) == rows
    assert {row["method"] for row in rows} == set(METHODS)
    assert {row["metric"] for row in rows} == {"top1", "top10", "like_rate"}
    assert {(row["suite"], row["problem"], row["seed"], row["step"]) for row in rows} == {
        ("domains", "faces", 0, 10)
    }


@pytest.mark.parametrize(
    ("options", "message"), [({"ratings": 0}, "ratings"), ({"seeds": ()}, "seeds")]
)
def test_run_domain_refuses_bad_settings(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        run_domain("faces", **options)  # type: ignore[arg-type]
