"""The online model contract, as tests every `OnlinePreferenceModel` must pass: what the engine
relies on when it clones a template per user, learns rating by rating, snapshots the state as
arrays and resumes from it.

class TestMyModel(OnlineModelConformance):
    @pytest.fixture
    def model(self) -> OnlinePreferenceModel:
        return MyModel()  # unfitted: the engine's template

    @pytest.fixture
    def latents(self) -> np.ndarray:
        return np.random.default_rng(0).standard_normal((40, 8))  # what users rate
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from plgl.errors import InvalidInputError
from plgl.models import OnlinePreferenceModel


def _rated(model: OnlinePreferenceModel, latents: np.ndarray, n: int) -> OnlinePreferenceModel:
    """A copy of the template, started and taught n ratings of a fixed taste of `latents`."""
    learner = copy.deepcopy(model).start(latents.shape[1])
    taste = np.random.default_rng(11).standard_normal(latents.shape[1])
    for row in latents[:n]:
        learner.learn(row, float(row @ taste > 0))
    return learner


class OnlineModelConformance:
    """Subclass and override the `model` (an unfitted template) and `latents` (n >= 30, d)
    fixtures."""

    @pytest.fixture
    def model(self) -> OnlinePreferenceModel:
        raise NotImplementedError("override the model fixture")

    @pytest.fixture
    def latents(self) -> np.ndarray:
        raise NotImplementedError("override the latents fixture")

    def test_is_online(self, model: OnlinePreferenceModel) -> None:
        assert isinstance(model, OnlinePreferenceModel) and model.online

    def test_the_prior_predicts_and_is_unsure(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        prior = copy.deepcopy(model).start(latents.shape[1])
        assert np.all(np.isfinite(prior.decision_function(latents)))
        assert np.all(prior.uncertainty(latents) > 0)

    def test_a_like_raises_and_a_dislike_lowers_the_item(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        for label, sign in ((1.0, 1.0), (0.0, -1.0)):
            learner = copy.deepcopy(model).start(latents.shape[1])
            before = float(learner.decision_function(latents[:1])[0])
            learner.learn(latents[0], label)
            assert sign * (float(learner.decision_function(latents[:1])[0]) - before) > 0

    def test_a_comparison_ranks_the_winner_higher(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        learner = copy.deepcopy(model).start(latents.shape[1])
        for _ in range(3):
            learner.learn_pair(latents[0], latents[1])
        scores = learner.decision_function(latents[:2])
        assert scores[0] > scores[1]

    def test_state_is_named_numeric_arrays(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        state = _rated(model, latents, 20).get_state()
        assert state and all(isinstance(key, str) for key in state)
        for value in state.values():
            assert isinstance(value, np.ndarray) and value.dtype != object

    def test_a_restored_state_predicts_and_learns_like_the_original(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        original = _rated(model, latents, 20)
        twin = copy.deepcopy(model).set_state(original.get_state())
        np.testing.assert_allclose(
            twin.decision_function(latents), original.decision_function(latents), atol=1e-10
        )
        for learner in (original, twin):
            learner.learn(latents[25], 1.0)
            learner.refine()
        np.testing.assert_allclose(
            twin.decision_function(latents), original.decision_function(latents), atol=1e-10
        )

    def test_a_state_with_an_unknown_key_is_rejected(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        state = _rated(model, latents, 5).get_state()
        state["not a key"] = np.zeros(1)
        with pytest.raises(InvalidInputError):
            copy.deepcopy(model).set_state(state)

    def test_copies_learn_apart(self, model: OnlinePreferenceModel, latents: np.ndarray) -> None:
        first = _rated(model, latents, 10)
        before = first.decision_function(latents)
        second = copy.deepcopy(first)
        for row in latents[10:30]:
            second.learn(row, 1.0)
        np.testing.assert_array_equal(first.decision_function(latents), before)
        assert not np.allclose(second.decision_function(latents), before)

    def test_refine_keeps_what_was_learned(
        self, model: OnlinePreferenceModel, latents: np.ndarray
    ) -> None:
        learner = _rated(model, latents, 30)
        before = learner.decision_function(latents)
        assert isinstance(learner.refine(), bool)
        after = learner.decision_function(latents)
        assert np.all(np.isfinite(after)) and np.corrcoef(before, after)[0, 1] > 0.9

    def test_pickles(self, model: OnlinePreferenceModel, latents: np.ndarray) -> None:
        learner = _rated(model, latents, 10)
        again = pickle.loads(pickle.dumps(learner))
        np.testing.assert_allclose(
            again.decision_function(latents), learner.decision_function(latents), atol=1e-12
        )


__all__ = ["OnlineModelConformance"]
