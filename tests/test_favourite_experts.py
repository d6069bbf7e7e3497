"""The favourite before the first duel: the content judge's log-odds, plus the posterior's
where its prior carries other users' taste (a product of experts)."""

import numpy as np
import pytest
from helpers import FixedJudge, session_with_likes

from plgl.errors import InvalidInputError
from plgl.grounding import informed
from plgl.models import GaussianPrior, LinearPreference
from plgl.models.mixture import MixturePreference, MixturePrior


def test_the_favourite_adds_the_two_experts_log_odds() -> None:
    session, likes = session_with_likes()
    grounding = session._grounding
    rated, labels = grounding.evidence()
    posterior = session.model.decision_function(likes)
    assert np.argmax(posterior) == 2  # the posterior alone: the third like
    # A judge that prefers the first like by less than the posterior's margin: the third stays.
    gap = float(posterior[2] - posterior[0])
    grounding.judge = FixedJudge({1.0: 0.5 * gap})  # type: ignore[assignment]
    logits = grounding.favourite_logits(session.model, rated, labels, likes)
    np.testing.assert_allclose(logits, posterior + np.array([0.5 * gap, 0.0, 0.0]))
    champion = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(champion, likes[2])
    # By more than the margin: the first like is the favourite.
    grounding.judge = FixedJudge({1.0: 2.0 * gap})  # type: ignore[assignment]
    champion = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(champion, likes[0])


def test_where_both_experts_agree_their_favourite_is_chosen() -> None:
    session, likes = session_with_likes()
    grounding = session._grounding
    grounding.judge = FixedJudge({3.0: 1.0, 2.0: 0.5})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(champion, likes[2])
    pick = session.recommend(1)[0]  # For-you builds on it: new content, not the favourite
    assert pick.source == "recommend"
    assert not np.any(np.all(np.isclose(rated, pick.latent), axis=1))


def test_without_a_judge_the_posterior_picks_the_favourite() -> None:
    session, likes = session_with_likes()
    grounding = session._grounding
    assert grounding.judge is None  # identity has no perceptual map
    rated, labels = grounding.evidence()
    logits = grounding.favourite_logits(session.model, rated, labels, likes)
    np.testing.assert_allclose(logits, session.model.decision_function(likes))


@pytest.mark.parametrize(
    "positives",
    [np.zeros((0, 4)), np.zeros((2, 3)), np.zeros(4), np.full((1, 4), np.nan)],
)
def test_bad_positives_are_refused(positives: np.ndarray) -> None:
    session, _ = session_with_likes()
    grounding = session._grounding
    rated, labels = grounding.evidence()
    before = grounding.favourite_logits(session.model, rated, labels, rated[:3])
    with pytest.raises(InvalidInputError, match="positives"):
        grounding.favourite_logits(session.model, rated, labels, positives)
    after = grounding.favourite_logits(session.model, rated, labels, rated[:3])
    np.testing.assert_array_equal(before, after)


def test_in_the_judged_mode_the_judge_alone_picks_the_favourite() -> None:
    session, likes = session_with_likes()
    grounding = session._grounding
    grounding.mode = "judged"  # a decoder whose content jumps
    grounding.judge = FixedJudge({1.0: 0.1})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    champion = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(champion, likes[0])  # the posterior would take likes[2]


def test_from_a_prior_without_a_mean_the_judge_alone_picks_the_favourite() -> None:
    session, likes = session_with_likes(population=False)
    grounding = session._grounding
    grounding.judge = FixedJudge({1.0: 0.1})  # type: ignore[assignment]
    rated, labels = grounding.evidence()
    logits = grounding.favourite_logits(session.model, rated, labels, likes)
    np.testing.assert_allclose(logits, [0.1, 0.0, 0.0])
    champion = grounding.champion(session.model, rated, labels, None)
    np.testing.assert_array_equal(champion, likes[0])


def test_which_priors_carry_other_users_taste() -> None:
    d = 3
    mean = np.array([1.0, 0.0, 0.0])
    assert informed(LinearPreference(prior=GaussianPrior(mean, np.eye(d))))
    assert not informed(LinearPreference(prior=GaussianPrior(np.zeros(d), np.eye(d))))
    assert not informed(LinearPreference())
    near, far = GaussianPrior(mean, np.eye(d)), GaussianPrior(-mean, np.eye(d))
    mixture = MixturePrior((near, far), np.ones(2))
    assert informed(MixturePreference(mixture=mixture))
