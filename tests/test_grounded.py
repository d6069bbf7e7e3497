import math

import numpy as np
import pytest
import torch
from helpers import count_perceptual, perceptual_melodies
from sklearn.linear_model import LogisticRegression

import plgl
from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.navigation import (
    ContentJudge,
    content_scores,
    grounded_best,
    improvement_bound,
    trust_radius,
)

D = 8


@pytest.fixture
def generator() -> plgl.Generator:
    return plgl.generators.get("identity", latent_dim=D)


def _rated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n shell latents rated by a linear user (like when <z, w> > 0.5), and w."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(D)
    w /= np.linalg.norm(w)
    z = rng.standard_normal((n, D))
    z *= math.sqrt(D) / np.linalg.norm(z, axis=1, keepdims=True)
    return z, (z @ w > 0.5).astype(float), w


def _model(rated: np.ndarray, labels: np.ndarray) -> LinearPreference:
    model = LinearPreference().start(D)
    for z, y in zip(rated, labels, strict=True):
        model.learn(z, y)
    model.refine()
    return model


def test_picks_are_new_latents_confidently_better_than_the_favourite(
    generator: plgl.Generator,
) -> None:
    rated, labels, w = _rated(60)
    model = _model(rated, labels)
    picks = grounded_best(model, rated, labels, 3, generator, np.random.default_rng(0), 0.8)
    assert picks.shape == (3, D)
    np.testing.assert_allclose(np.linalg.norm(picks, axis=1), math.sqrt(D))  # on the shell
    assert not any(np.allclose(p, r) for p in picks for r in rated)  # new content
    liked = rated[labels > 0.5]
    favourite = liked[np.argmax(liked @ model.coef_)]
    assert np.all(improvement_bound(model, picks, favourite) > 0)
    assert (picks[0] @ w) >= (favourite @ w)  # the model is right here: truly better


def test_a_pick_stays_within_the_trust_region_of_a_rated_item(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(30)
    model = _model(rated, labels)
    pick = grounded_best(model, rated, labels, 1, generator, np.random.default_rng(0), 0.0)[0]
    nearest = float(np.min(np.linalg.norm(rated[labels > 0.5] - pick, axis=1)))
    # Steps go out to the trust radius; moving back onto the shell bends them only slightly.
    assert 0 < nearest <= 1.1 * trust_radius(D, 0.0)


def test_nothing_predicted_better_returns_the_favourite(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(30)
    model = LinearPreference().start(D)  # the prior: no direction, nothing is better
    pick = grounded_best(model, rated, labels, 1, generator, np.random.default_rng(0), 0.0)
    assert any(np.allclose(pick[0], r) for r in rated[labels > 0.5])


def test_scores_choose_the_favourite_to_build_on(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(40)
    model = LinearPreference().start(D)
    liked = np.flatnonzero(labels > 0.5)
    scores = np.zeros(len(rated))
    scores[liked[-1]] = 1.0
    pick = grounded_best(
        model, rated, labels, 1, generator, np.random.default_rng(0), 0.0, scores=scores
    )
    np.testing.assert_allclose(pick[0], rated[liked[-1]])


def test_same_rng_same_picks(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(50)
    model = _model(rated, labels)
    a = grounded_best(model, rated, labels, 2, generator, np.random.default_rng(3), 0.5)
    b = grounded_best(model, rated, labels, 2, generator, np.random.default_rng(3), 0.5)
    np.testing.assert_array_equal(a, b)


def test_the_trust_region_widens_with_confidence() -> None:
    assert trust_radius(D, 0.0) < trust_radius(D, 0.5) < trust_radius(D, 1.0)
    assert trust_radius(D, 1.0) == pytest.approx(2 * math.sqrt(D))


def test_bad_input_is_refused(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(10)
    model = _model(rated, labels)
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidInputError, match="labels"):
        grounded_best(model, rated, labels[:-1], 1, generator, rng, 0.5)
    with pytest.raises(InvalidInputError, match="latents"):
        grounded_best(model, rated[:, :4].reshape(-1, 4), labels, 1, generator, rng, 0.5)
    with pytest.raises(InvalidInputError, match="n_out"):
        grounded_best(model, rated, labels, 0, generator, rng, 0.5)
    with pytest.raises(InvalidInputError, match="confidence"):
        grounded_best(model, rated, labels, 1, generator, rng, 1.5)
    with pytest.raises(InvalidInputError, match="scores"):
        grounded_best(model, rated, labels, 1, generator, rng, 0.5, scores=np.zeros(3))
    with pytest.raises(InvalidInputError, match="fitted nor started"):
        grounded_best(LinearPreference(), rated, labels, 1, generator, rng, 0.5)


def test_content_scores_need_a_perceptual_map(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(10)
    with pytest.raises(InvalidInputError, match="perceptual"):
        content_scores(generator, rated, labels)


def test_content_scores_rank_melodies_by_what_they_sound_like() -> None:
    melodies = plgl.generators.get("melodies")
    rng = np.random.default_rng(0)
    rated = melodies.project(melodies.sample(60, rng))
    registers = melodies.features(melodies.generate(rated))[:, 0]
    labels = (registers > np.median(registers)).astype(float)  # likes high melodies
    scores = content_scores(melodies, rated, labels)
    assert scores.shape == (60,)
    assert np.corrcoef(scores, registers)[0, 1] > 0.5
    np.testing.assert_array_equal(content_scores(melodies, rated, np.ones(60)), np.zeros(60))


def test_a_judge_computes_each_perceptual_map_once(monkeypatch: pytest.MonkeyPatch) -> None:
    melodies = perceptual_melodies()
    rows = count_perceptual(monkeypatch, melodies)
    judge = ContentJudge(melodies, window=30)
    rated = melodies.project(melodies.sample(41, np.random.default_rng(0)))
    labels = (np.arange(41) % 2).astype(float)
    first = judge.scores(rated[:40], labels[:40])
    assert sum(rows) == 30  # only the window is judged
    assert np.all(first[:10] < first[10:].min())  # items before the window rank last
    judge.scores(rated, labels)
    assert sum(rows) == 31  # one new rating, one new map


def test_the_judge_refits_only_for_new_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    melodies = plgl.generators.get("melodies")
    fits: list[int] = []
    fit = LogisticRegression.fit

    def counting(self: LogisticRegression, X: np.ndarray, y: np.ndarray) -> LogisticRegression:
        fits.append(len(X))
        return fit(self, X, y)

    monkeypatch.setattr(LogisticRegression, "fit", counting)
    judge = ContentJudge(melodies)
    rated = melodies.project(melodies.sample(21, np.random.default_rng(1)))
    labels = (np.arange(21) % 2).astype(float)
    first = judge.scores(rated[:20], labels[:20])
    again, _ = judge.compare(rated[:20], labels[:20], rated[20:])
    assert fits == [20]  # the same evidence: the same regression
    np.testing.assert_array_equal(first, again)
    more = judge.scores(rated, labels)
    assert fits == [20, 21]
    # As a fresh judge sees it (its maps come in one batch: float rounding may differ).
    np.testing.assert_allclose(more, ContentJudge(melodies).scores(rated, labels), atol=1e-6)


def test_before_the_first_like_the_top_of_the_shell(generator: plgl.Generator) -> None:
    rated, labels, _ = _rated(20)
    model = _model(rated, labels)
    disliked = np.zeros(len(rated))
    pick = grounded_best(model, rated, disliked, 2, generator, np.random.default_rng(0), 0.1)
    top = model.coef_ / np.linalg.norm(model.coef_) * math.sqrt(D)  # identity has no reach
    np.testing.assert_allclose(pick, [top, top])
    prior = LinearPreference().start(D)  # no direction yet: prior samples on the shell
    pick = grounded_best(prior, rated[:0], disliked[:0], 2, generator, np.random.default_rng(0), 0)
    np.testing.assert_allclose(np.linalg.norm(pick, axis=1), math.sqrt(D))


def test_a_judge_can_prefer_one_kind_of_face() -> None:
    faces = plgl.generators.get("faces")
    latents = faces.project(faces.sample(80, np.random.default_rng(1)))
    with torch.no_grad():
        maps = faces.perceptual(torch.as_tensor(latents, dtype=torch.float32)).double().numpy()
    distance = ((maps - maps[0]) ** 2).sum(axis=1)  # likes faces that look like the first one
    labels = (distance < np.quantile(distance, 0.3)).astype(float)
    scores, prototype = ContentJudge(faces).compare(latents[1:], labels[1:], latents[:1])
    assert np.corrcoef(scores, -distance[1:])[0, 1] > 0.5
    assert prototype[0] > np.median(scores[labels[1:] > 0.5])  # unseen, and judged a top like


def test_a_long_list_never_repeats_rated_items_nor_shows_dislikes(
    generator: plgl.Generator,
) -> None:
    # A few new picks, too few for the list: the rest comes from the liked items only.
    rng = np.random.default_rng(4)
    rated = rng.standard_normal((6, D))
    rated *= math.sqrt(D) / np.linalg.norm(rated, axis=1, keepdims=True)
    labels = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    model = _model(rated, labels)
    picks = grounded_best(
        model, rated, labels, 20, generator, np.random.default_rng(4), 0.3, kappa=1.0
    )
    assert len(np.unique(picks, axis=0)) == len(picks) == 20
    for disliked in rated[labels == 0]:
        assert not np.any(np.all(picks == disliked, axis=1))


def test_one_favourite_for_the_anchors_and_the_for_you_label(generator: plgl.Generator) -> None:
    from plgl.navigation import liked_order

    rated, labels, _ = _rated(40, seed=2)
    model = _model(rated, labels)
    order = liked_order(model, rated, labels)
    liked = rated[labels > 0.5]
    np.testing.assert_array_equal(rated[order[0]], liked[np.argmax(liked @ model.coef_)])
    scores = np.arange(len(rated), dtype=float)  # a judge that prefers the latest
    assert order.tolist() != liked_order(model, rated, labels, scores).tolist()
    assert liked_order(model, rated, labels, scores)[0] == np.flatnonzero(labels > 0.5)[-1]
