"""The online protocol, Gaussian priors and the compact (folded) state of LinearPreference."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from plgl.errors import InvalidInputError
from plgl.models import (
    FeaturePreference,
    GaussianPrior,
    KernelPreference,
    LinearPreference,
    OnlinePreferenceModel,
    confidence,
    is_linear,
)
from plgl.models.folding import FOLD


def _stream(seed: int, n: int, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    taste = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ taste))).astype(float)
    return X, y


def _learned(model: LinearPreference, X: np.ndarray, y: np.ndarray) -> LinearPreference:
    for row, label in zip(X, y, strict=True):
        model.learn(row, label)
    return model


# --------------------------------------------------------------------------------- protocol
def test_online_models_share_the_protocol() -> None:
    assert issubclass(LinearPreference, OnlinePreferenceModel)
    assert issubclass(FeaturePreference, OnlinePreferenceModel)
    assert not issubclass(KernelPreference, OnlinePreferenceModel)


def test_weight_covariance_is_the_weight_block() -> None:
    model = _learned(LinearPreference().start(4), *_stream(0, 30, 4))
    cov = model.weight_covariance()
    assert np.array_equal(cov, model.covariance_[:4, :4])
    cov[0, 0] = 99.0  # a copy: the model is untouched
    assert model.covariance_[0, 0] != 99.0


def test_is_linear_and_confidence() -> None:
    fresh = LinearPreference().start(4)
    assert is_linear(fresh) and not is_linear(KernelPreference())
    assert confidence(fresh, 0) == 0.0
    learned = _learned(LinearPreference().start(4), *_stream(1, 200, 4))
    assert 0.5 < confidence(learned, 200) < 1.0
    assert confidence(KernelPreference(), 10) == 10 / (10 + 5)


# ----------------------------------------------------------------------------------- priors
def test_gaussian_prior_rejects_bad_shapes_and_matrices() -> None:
    with pytest.raises(InvalidInputError, match="must be \\(2, 2\\)"):
        GaussianPrior(np.zeros(2), np.eye(3))
    with pytest.raises(InvalidInputError, match="symmetric"):
        GaussianPrior(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(InvalidInputError, match="positive definite"):
        GaussianPrior(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(InvalidInputError, match="finite"):
        GaussianPrior(np.array([np.nan, 0.0]), np.eye(2))
    with pytest.raises(ValueError):  # also the builtin
        GaussianPrior.isotropic(0, 1.0)
    with pytest.raises(InvalidInputError, match="factor"):
        GaussianPrior.isotropic(2, 1.0).widened(-1.0)


def test_gaussian_prior_is_frozen_and_widens() -> None:
    prior = GaussianPrior.isotropic(3, 0.5)
    with pytest.raises(ValueError):
        prior.mean[0] = 1.0
    assert np.allclose(prior.widened(4.0).covariance, np.eye(3))
    assert np.allclose(prior.precision(), 4.0 * np.eye(3))
    # Computed once (every session's model starts from it) and as frozen as the prior.
    assert prior.precision() is prior.precision()
    with pytest.raises(ValueError):
        prior.precision()[0, 0] = 1.0
    # Models copied from one (a session's from the engine's) share it rather than copy it.
    model = LinearPreference(prior=prior)
    assert copy.deepcopy(model).prior is prior
    # ... and the (weights, intercept) matrices each model starts from (read-only).
    first, second = (LinearPreference(prior=prior).start(3) for _ in range(2))
    assert first._prior_covariance is second._prior_covariance
    assert not first._prior_precision.flags.writeable


def test_no_prior_is_the_isotropic_prior_exactly() -> None:
    d = 8
    X, y = _stream(2, 120, d)
    default = _learned(LinearPreference().start(d), X, y)
    explicit = _learned(
        LinearPreference(prior=GaussianPrior.isotropic(d, 4.0 / math.sqrt(d))).start(d), X, y
    )
    assert np.array_equal(default.mean_, explicit.mean_)
    assert np.array_equal(default.covariance_, explicit.covariance_)
    assert default.refine() and explicit.refine()
    assert np.allclose(default.mean_, explicit.mean_, atol=1e-8)


def test_a_prior_mean_is_where_learning_starts() -> None:
    d = 4
    taste = np.array([2.0, 0.0, 0.0, 0.0])
    model = LinearPreference(prior=GaussianPrior(taste, 0.01 * np.eye(d))).start(d)
    assert model.predict_proba([[2.0, 0, 0, 0]])[0, 1] > 0.9
    # A confident prior is hardly moved by a few ratings against it; a vague one is.
    X = np.tile([[1.0, 0, 0, 0]], (5, 1))
    sure = _learned(model, X, np.zeros(5))
    vague = _learned(
        LinearPreference(prior=GaussianPrior(taste, 4.0 * np.eye(d))).start(d), X, np.zeros(5)
    )
    assert sure.coef_[0] > 1.5 > vague.coef_[0]
    sure.refine(budget=None)
    assert sure.coef_[0] > 1.5


def test_a_full_prior_covariance_steers_learning() -> None:
    # The prior says only the first two dimensions matter: the taste is found in them.
    d = 6
    cov = np.diag([1.0, 1.0, 1e-4, 1e-4, 1e-4, 1e-4])
    X, y = _stream(3, 40, d)
    model = _learned(LinearPreference(prior=GaussianPrior(np.zeros(d), cov)).start(d), X, y)
    model.refine(budget=None)
    assert np.abs(model.coef_[2:]).max() < 0.05 < np.abs(model.coef_[:2]).max()


def test_a_prior_of_the_wrong_dimension_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="3 weights"):
        LinearPreference(prior=GaussianPrior.isotropic(3, 1.0)).start(4)


# ------------------------------------------------------------------------------ compact state
def test_state_is_bounded_whatever_the_number_of_ratings() -> None:
    d = 8
    X, y = _stream(4, 20 * FOLD, d)
    model = _learned(LinearPreference().start(d), X, y)
    state = model.get_state()
    assert len(state["list:_phi"]) < 3 * FOLD
    assert sum(value.size for value in state.values()) < (d + 1) ** 2 + 3 * FOLD * (d + 1) + 100


@pytest.mark.parametrize("n", [7, FOLD, 2 * FOLD + 3, 7 * FOLD + 11])
def test_resume_equals_replay_exactly(n: int) -> None:
    d = 6
    X, y = _stream(5, n + 40, d)
    head = _learned(LinearPreference().start(d), X[:n], y[:n])
    resumed = LinearPreference().set_state(copy.deepcopy(head.get_state()))
    assert np.array_equal(resumed.mean_, head.mean_)
    assert np.array_equal(resumed.covariance_, head.covariance_)
    full = _learned(LinearPreference().start(d), X, y)
    _learned(resumed, X[n:], y[n:])
    assert np.array_equal(resumed.mean_, full.mean_)
    assert np.array_equal(resumed.covariance_, full.covariance_)


def test_a_refined_live_model_round_trips_and_agrees_with_replay() -> None:
    d = 6
    X, y = _stream(6, 5 * FOLD, d)
    # What the answers' surprise drives (a learned lapse, detected changes) depends on the
    # posterior each answer met, so refines can shift it: exact agreement holds without them.
    live = LinearPreference(change_threshold=None, lapse=0.0).start(d)
    for i, (row, label) in enumerate(zip(X, y, strict=True)):
        live.learn(row, label)
        if i % 7 == 3:
            live.refine()  # as the feed does before each batch
            twin = LinearPreference(change_threshold=None, lapse=0.0).set_state(live.get_state())
            assert np.array_equal(twin.mean_, live.mean_)
            assert np.array_equal(twin.covariance_, live.covariance_)
    replay = _learned(LinearPreference(change_threshold=None, lapse=0.0).start(d), X, y)
    # Folds happen at the same counts whatever refines came between: after a refine both
    # hold the same folded posterior and window, so they agree exactly.
    assert replay.refine(budget=None) and live.refine(budget=None)
    assert np.array_equal(live.base_precision_, replay.base_precision_)
    assert np.array_equal(live.mean_, replay.mean_)


def test_folding_keeps_the_batch_answer() -> None:
    d = 8
    X, y = _stream(7, 6 * FOLD, d)
    batch = LinearPreference(drift=0.0, change_threshold=None, lapse=0.0).fit(X, y)
    online = _learned(LinearPreference(drift=0.0, change_threshold=None, lapse=0.0).start(d), X, y)
    online.refine(budget=None)
    cosine = batch.coef_ @ online.coef_ / np.linalg.norm(batch.coef_) / np.linalg.norm(online.coef_)
    assert cosine > 0.99
    assert np.linalg.norm(online.coef_) == pytest.approx(np.linalg.norm(batch.coef_), rel=0.1)


def test_bad_states_are_refused() -> None:
    model = _learned(LinearPreference().start(3), *_stream(8, 20, 3))
    state = model.get_state()
    with pytest.raises(InvalidInputError, match="learned attribute"):
        LinearPreference().set_state({**state, "array:prior": np.zeros(1)})
    broken = dict(state)
    del broken["array:base_shift_"]
    with pytest.raises(InvalidInputError, match="lacks"):
        LinearPreference().set_state(broken)
