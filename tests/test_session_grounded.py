"""The product's grounded navigation: the latent model's geometry prior, For-you grounded in
the best-rated items (with a content judge), reverse within the evidence, read-only reading."""

import numpy as np
import pytest

import plgl
from plgl.engine import model_named
from plgl.errors import InvalidInputError
from plgl.grounding import FOR_YOU, for_you_mode
from plgl.models import LinearPreference, confidence
from plgl.navigation import improvement_bound, trust_radius
from plgl.records import Item


def identity(d: int = 4) -> plgl.Generator:
    return plgl.generators.get("identity", latent_dim=d)


def serve(engine: plgl.Engine, user: str, latents: np.ndarray) -> list[str]:
    """Show chosen latents to a user (as a feed would) and return their item ids."""
    items = [Item(f"item-{i}", latent, None, "explore") for i, latent in enumerate(latents)]
    engine.storage.put_items(user, items)
    return [item.id for item in items]


def rate_faces(session: plgl.Session, n: int) -> None:
    """Likes faces brighter than the batch's median (a taste of the content)."""
    while session.n_ratings < n:
        items = session.ask(10)
        light = np.array([float(np.asarray(item.content).mean()) for item in items])
        for item, value in zip(items, light, strict=True):
            session.tell(item.id, "like" if value > np.median(light) else "dislike")


def test_the_latent_model_takes_the_shipped_geometry_of_faces() -> None:
    faces = plgl.generators.get("faces")
    prior = plgl.Engine(faces, model=model_named("latent", faces)).model.prior
    assert isinstance(prior, plgl.models.GaussianPrior)
    eigen = np.linalg.eigvalsh(prior.covariance)
    assert eigen[-1] > 10 * np.median(eigen)  # anisotropic: the metric's shape
    assert np.trace(prior.covariance) == pytest.approx(16.0)  # as decisive as the isotropic one
    assert plgl.Engine(faces).for_you == FOR_YOU["faces"]


def test_identity_keeps_the_isotropic_prior_and_the_models_top() -> None:
    engine = plgl.Engine(identity())
    prior = engine.model.prior
    assert prior is not None
    np.testing.assert_allclose(prior.covariance, np.eye(4) * 4.0)  # (4 / sqrt(4))^2
    assert engine.for_you == "top"


def test_a_model_passed_explicitly_is_untouched() -> None:
    model = LinearPreference()
    engine = plgl.Engine(plgl.generators.get("faces"), model=model)
    assert engine.model is model and model.prior is None


def test_for_you_modes_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="for_you must be one of"):
        plgl.Engine(identity(), for_you="best")
    with pytest.raises(InvalidInputError, match="perceptual map"):
        for_you_mode(identity(), "judged")
    assert for_you_mode(identity(), "grounded") == "grounded"


def test_for_you_is_the_favourite_when_nothing_is_confidently_better() -> None:
    engine = plgl.Engine(identity(), for_you="grounded")
    session = engine.session("u")
    favourite = np.array([2.0, 0.0, 0.0, 0.0])  # on the shell, along the taste
    others = np.array([[-2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, -2.0, 0, 0], [0, 0, 2.0, 0]])
    ids = serve(engine, "u", np.vstack([favourite, others]))
    session.tell(ids[0], "like")
    for item_id in ids[1:]:
        session.tell(item_id, "dislike")
    picks = session.recommend(2)
    assert picks[0].source == "favourite"
    np.testing.assert_allclose(picks[0].latent, favourite)
    assert picks[1].source in {"liked", "recommend"}


def test_new_picks_are_confidently_better_than_the_favourite() -> None:
    engine = plgl.Engine(identity(8), for_you="grounded", seed=3)
    session = engine.session("u")
    direction = np.linspace(1.0, -1.0, 8)
    rate_with = np.random.default_rng(0)
    while session.n_ratings < 40:
        for item in session.ask(10):
            liked = item.latent @ direction + 0.5 * rate_with.standard_normal() > 1.0
            session.tell(item.id, "like" if liked else "dislike")
    rated, labels = session._grounding.evidence()
    liked = rated[labels > 0.5]
    favourite = liked[np.argmax(session.model.decision_function(liked))]
    picks = session.recommend(3)
    assert {p.source for p in picks} <= {"recommend", "favourite", "liked"}
    for pick in picks:
        if pick.source == "recommend":
            assert improvement_bound(session.model, pick.latent[None], favourite)[0] > 0
        else:
            assert np.any(np.all(rated == pick.latent, axis=1))


def test_reading_never_changes_the_next_batch() -> None:
    def run(read: bool) -> np.ndarray:
        faces = plgl.generators.get("faces")
        engine = plgl.Engine(faces, seed=1, model=model_named("latent", faces))
        session = engine.session("u")
        rate_faces(session, 20)
        if read:
            session.recommend(3)
            session.reverse(0.99, 2)
            session.reverse_items(0.3, 2)
        return np.array([item.latent for item in session.ask(10)])

    np.testing.assert_array_equal(run(False), run(True))


def test_faces_for_you_comes_from_the_grounded_path_with_the_judge() -> None:
    faces = plgl.generators.get("faces")
    engine = plgl.Engine(faces, seed=0, model=model_named("latent", faces))
    session = engine.session("u")
    rate_faces(session, 30)
    picks = session.recommend(2)
    assert len(picks) == 2 and all(p.content is not None for p in picks)
    rated, labels = session._grounding.evidence()
    assert rated.shape == (30, 100) and set(labels.tolist()) == {0.0, 1.0}
    liked = rated[labels > 0.5]  # swipes only: the positives are the likes
    logits = session._grounding.favourite_logits(session.model, rated, labels, liked)
    favourite = liked[np.argmax(logits)]
    champion = session._grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(champion, favourite)
    for pick in picks:
        if pick.source == "favourite":
            np.testing.assert_array_equal(pick.latent, favourite)
        else:
            assert pick.source in {"recommend", "liked"}
    # Recommending twice at the same state gives the same picks (a read-only stream).
    again = session.recommend(2)
    np.testing.assert_array_equal(again[0].latent, picks[0].latent)


def test_reverse_at_a_high_target_stays_within_the_evidence() -> None:
    d = 8
    engine = plgl.Engine(identity(d), for_you="grounded", seed=2)
    session = engine.session("u")
    direction = np.eye(d)[0]
    while session.n_ratings < 30:
        for item in session.ask(10):
            session.tell(item.id, "like" if item.latent @ direction > 0.5 else "dislike")
    rated, labels = session._grounding.evidence()
    liked = rated[labels > 0.5]
    radius = trust_radius(d, confidence(session.model, session.n_ratings))
    far = session.reverse(0.999999, 3)
    gaps = np.linalg.norm(far[:, None] - liked[None], axis=2).min(axis=1)
    assert np.all(gaps <= radius + 1e-6)
    # A low target is not bound by the evidence: reverse aims at it as before.
    low = session.reverse(0.2, 2)
    np.testing.assert_allclose(session.score(low), 0.2, atol=0.05)


def test_evidence_counts_explicit_overall_ratings_only() -> None:
    engine = plgl.Engine(identity(), for_you="grounded", criteria=["calm"])
    session = engine.session("u")
    items = session.ask(4)
    session.tell(items[0].id, "like")
    session.tell(items[1].id, "skip", dwell_seconds=5.0)  # implicit: not evidence here
    session.tell(items[2].id, "like", criterion="calm")  # a criterion's, not the taste's
    session.tell(items[3].id, "superlike")
    rated, labels = session._grounding.evidence()
    np.testing.assert_array_equal(rated, [items[0].latent, items[3].latent])
    assert labels.tolist() == [1.0, 1.0]
    more = session.ask(1)[0]
    session.tell(more.id, "dislike")
    rated, labels = session._grounding.evidence()  # read incrementally
    assert labels.tolist() == [1.0, 1.0, 0.0]


def test_the_feed_mixes_in_latents_near_the_best_rated() -> None:
    engine = plgl.Engine(identity(8), for_you="grounded", seed=5)
    session = engine.session("u")
    direction = np.eye(8)[1]
    while session.n_ratings < 30:
        for item in session.ask(10):
            session.tell(item.id, "like" if item.latent @ direction > 0.3 else "dislike")
    rated, labels = session._grounding.evidence()
    liked = rated[labels > 0.5]
    favourite = liked[np.argmax(session.model.decision_function(liked))]
    near = session._grounding.near_best(
        session.model, 10, session.n_ratings, np.random.default_rng(0)
    )
    assert 0 < len(near) <= 10
    assert np.all(improvement_bound(session.model, near, favourite) > 0)
    assert not np.any(np.all(np.isclose(near[:, None], rated[None]), axis=2))


def test_grounded_recommendations_stay_out_of_the_marked_region() -> None:
    favourite = np.array([2.0, 0.0, 0.0, 0.0])

    def near_favourite(content: object) -> bool:  # marks the favourite and its surroundings
        return bool(np.linalg.norm(np.asarray(content) - favourite) < 1.0)

    engine = plgl.Engine(
        identity(), for_you="grounded", safety=plgl.Safety(predicate=near_favourite)
    )
    session = engine.session("u")
    ids = serve(engine, "u", np.vstack([favourite, [[-2.0, 0, 0, 0], [0, 2.0, 0, 0]]]))
    session.tell(ids[0], "like")
    session.tell(ids[1], "dislike")
    session.tell(ids[2], "dislike")
    picks = session.recommend(3) + session.reverse_items(0.999, 2)
    assert len(picks) == 5
    assert not any(near_favourite(pick.latent) for pick in picks)


def test_faces_for_you_is_new_content_and_a_variation_stays_near_the_champion() -> None:
    from plgl.making import VARIATION

    faces = plgl.generators.get("faces")
    engine = plgl.Engine(faces, seed=0, model=model_named("latent", faces))
    session = engine.session("u")
    rate_faces(session, 30)
    first = session.recommend(1)[0]
    grounding = session._grounding
    rated, labels = grounding.evidence()
    assert first.source == "recommend"
    assert not np.any(np.all(rated == first.latent, axis=1))
    # What For-you shows when nothing new is predicted better than the champion:
    champion = grounding.champion(session.model, rated, labels, None)
    assert champion is not None
    variation = grounding._variation(
        session.model, rated, labels, champion, np.random.default_rng(0)
    )
    assert variation is not None and variation.shape == (1, 100)
    gap = float(np.linalg.norm(variation[0] - champion))
    assert 0 < gap <= VARIATION * trust_radius(100, 0.0) * 1.01
    made = faces.generate(np.vstack([variation, champion[None]]))
    assert not np.array_equal(np.asarray(made[0]), np.asarray(made[1]))
