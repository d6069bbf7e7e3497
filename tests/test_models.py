"""Preference models: the scikit-learn contract, and that each learns what it should."""

from typing import Any

import numpy as np
import pytest
import torch
from scipy.special import expit
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from plgl.models import BasePreferenceModel, KernelPreference, LinearPreference, PairwiseRankSVM
from plgl.navigation import is_linear

D = 8
MODELS = [LinearPreference(), KernelPreference(), PairwiseRankSVM(random_state=0)]
Pairs = tuple[np.ndarray, np.ndarray]


def _expected_failed_checks(estimator: BasePreferenceModel) -> dict[str, str]:
    failed = {}
    if isinstance(estimator, PairwiseRankSVM):
        failed["check_sample_weight_equivalence_on_dense_data"] = (
            "liblinear solves to its tolerance only: weights and repeats agree to ~1e-5, not 1e-7"
        )
    return failed


@parametrize_with_checks(MODELS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_contract(estimator: BasePreferenceModel, check: Any) -> None:
    check(estimator)


# ------------------------------------------------------------------------------------ helpers
def _taste(rng: np.random.Generator) -> np.ndarray:
    """(D,) a unit preference direction."""
    w = rng.standard_normal(D)
    return np.asarray(w / np.linalg.norm(w))


def _rated(
    rng: np.random.Generator, taste: np.ndarray, n: int, sharpness: float = 4.0
) -> tuple[np.ndarray, np.ndarray]:
    """n random latents and noisy likes: P(like) = sigmoid(sharpness * taste . z)."""
    X = rng.standard_normal((n, D))
    return X, (rng.random(n) < expit(sharpness * (X @ taste))).astype(int)


def _compared(rng: np.random.Generator, taste: np.ndarray, m: int) -> Pairs:
    """m noiseless comparisons between random latents: (preferred, other)."""
    a, b = rng.standard_normal((2, m, D))
    a_wins = (a @ taste > b @ taste)[:, None]
    return np.where(a_wins, a, b), np.where(a_wins, b, a)


def _pair_accuracy(model: BasePreferenceModel, pairs: Pairs) -> float:
    return float(np.mean(model.decision_function(pairs[0]) > model.decision_function(pairs[1])))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _fitted(model: BasePreferenceModel, seed: int = 0) -> tuple[BasePreferenceModel, np.ndarray]:
    """The model fitted on 200 rated latents and 50 comparisons; and those latents."""
    rng = np.random.default_rng(seed)
    taste = _taste(rng)
    X, y = _rated(rng, taste, 200)
    return clone(model).fit(X, y, pairs=_compared(rng, taste, 50)), X


by_model = pytest.mark.parametrize("model", MODELS, ids=lambda model: type(model).__name__)


# ---------------------------------------------------------------------------------- learning
@by_model
def test_learns_a_linear_taste_from_labels(model: BasePreferenceModel) -> None:
    rng = np.random.default_rng(0)
    taste = _taste(rng)
    fitted = clone(model).fit(*_rated(rng, taste, 200))
    X_test = rng.standard_normal((1000, D))
    assert np.mean(fitted.predict(X_test) == (X_test @ taste > 0)) > 0.85
    if is_linear(fitted):
        assert _cosine(np.asarray(fitted.coef_), taste) > 0.95


@by_model
def test_comparisons_alone_teach_the_taste(model: BasePreferenceModel) -> None:
    rng = np.random.default_rng(1)
    taste = _taste(rng)
    no_labels = {"X": np.zeros((2, D)), "y": [0, 1], "sample_weight": [0.0, 0.0]}
    fitted = clone(model).fit(**no_labels, pairs=_compared(rng, taste, 150))
    assert _pair_accuracy(fitted, _compared(rng, taste, 1000)) > 0.85


@by_model
def test_comparisons_add_to_few_labels(model: BasePreferenceModel) -> None:
    alone, together = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        taste = _taste(rng)
        X, y = _rated(rng, taste, 20)
        pairs, held_out = _compared(rng, taste, 40), _compared(rng, taste, 1000)
        alone.append(_pair_accuracy(clone(model).fit(X, y), held_out))
        together.append(_pair_accuracy(clone(model).fit(X, y, pairs=pairs), held_out))
    assert np.mean(together) > np.mean(alone) + 0.03


def test_kernel_model_learns_a_taste_no_line_separates() -> None:
    rng = np.random.default_rng(2)
    radius = np.sqrt(D - 2 / 3)  # about the median norm: half the latents are liked
    X = rng.standard_normal((300, D))
    model = KernelPreference(C=10.0).fit(X, np.linalg.norm(X, axis=1) < radius)
    X_test = rng.standard_normal((1000, D))
    assert np.mean(model.predict(X_test) == (np.linalg.norm(X_test, axis=1) < radius)) > 0.8


def test_linear_preference_is_calibrated() -> None:
    rng = np.random.default_rng(3)
    weights, intercept = rng.standard_normal(D) * 0.5, -0.5
    X, X_test = rng.standard_normal((2, 2000, D))
    y, y_test = rng.random((2, 2000)) < expit(np.stack([X, X_test]) @ weights + intercept)
    p = LinearPreference().fit(X, y).predict_proba(X_test)[:, 1]
    for members in np.array_split(np.argsort(p), 10):
        assert abs(p[members].mean() - y_test[members].mean()) < 0.1


# -------------------------------------------------------------------------------- prediction
@by_model
def test_probabilities_are_probabilities(model: BasePreferenceModel) -> None:
    fitted, _ = _fitted(model)
    X_test = 5.0 * np.random.default_rng(4).standard_normal((500, D))
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (500, 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X_test), proba[:, 1] > 0.5)


def test_probabilities_of_extreme_log_odds() -> None:
    fitted, _ = _fitted(PairwiseRankSVM(random_state=0))
    far = 1000.0 * np.sign(fitted.coef_)[None, :]
    np.testing.assert_allclose(fitted.predict_proba(np.vstack([far, -far]))[:, 1], [1.0, 0.0])


@by_model
def test_torch_decision_matches_decision_function(model: BasePreferenceModel) -> None:
    fitted, _ = _fitted(model)
    X_test = np.random.default_rng(5).standard_normal((100, D))
    z = torch.tensor(X_test, requires_grad=True)
    decision = fitted.torch_decision(z)
    np.testing.assert_allclose(
        decision.detach().numpy(), fitted.decision_function(X_test), rtol=0, atol=1e-8
    )
    decision.sum().backward()
    assert z.grad is not None
    assert np.all(np.isfinite(z.grad.numpy())) and np.any(z.grad.numpy() != 0)


def test_navigation_reads_linear_models_in_closed_form() -> None:
    assert is_linear(_fitted(LinearPreference())[0])
    assert not is_linear(_fitted(KernelPreference())[0])
    fitted, X = _fitted(PairwiseRankSVM(random_state=0))
    assert is_linear(fitted)
    coef, intercept = fitted.coef_, fitted.intercept_
    np.testing.assert_allclose(fitted.decision_function(X), X @ coef + intercept)


# ------------------------------------------------------------------------------- uncertainty
@by_model
def test_uncertainty_is_larger_far_from_the_data(model: BasePreferenceModel) -> None:
    fitted, X = _fitted(model)
    directions = np.random.default_rng(6).standard_normal((50, D))
    far = 10.0 * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    assert fitted.uncertainty(far).min() > fitted.uncertainty(X).max()


@by_model
def test_predictive_covariance_is_a_covariance(model: BasePreferenceModel) -> None:
    fitted, X = _fitted(model)
    X_test = np.vstack([X[:20], 3.0 * np.random.default_rng(7).standard_normal((20, D))])
    cov = fitted.predictive_covariance(X_test)
    np.testing.assert_allclose(cov, cov.T, atol=1e-12)
    assert np.linalg.eigvalsh(cov).min() > -1e-9 * np.abs(cov).max()
    np.testing.assert_allclose(np.diag(cov), fitted.uncertainty(X_test))


# ---------------------------------------------------------------------------- reproducibility
@by_model
def test_same_random_state_same_model(model: BasePreferenceModel) -> None:
    first, X = _fitted(model)
    second, _ = _fitted(model)
    np.testing.assert_array_equal(first.decision_function(X), second.decision_function(X))


def test_pairwise_samples_derived_pairs_by_random_state() -> None:
    # 200 labelled rows give about 100 * 100 derived pairs, over max_pairs: a sample is drawn.
    first, X = _fitted(PairwiseRankSVM(random_state=0))
    other, _ = _fitted(PairwiseRankSVM(random_state=1))
    assert not np.array_equal(first.decision_function(X), other.decision_function(X))


# ----------------------------------------------------------------------------- online updates
@pytest.mark.parametrize("seed", range(3))
def test_partial_fit_one_by_one_ends_where_fit_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, y = _rated(rng, _taste(rng), 200)
    batch = LinearPreference(change_threshold=None).fit(X, y)
    online = LinearPreference(change_threshold=None)
    for row, label in zip(X, y, strict=True):
        online.partial_fit(row[None, :], [label], classes=[0, 1])
    assert online.refine()
    assert _cosine(online.coef_, batch.coef_) > 0.99


def test_change_alarms_on_steady_tastes_are_rare() -> None:
    """Regression pin: 13 of these 40 steady streams raised an alarm before the detector
    asked the recent surprise to stand out of its own noise; 6 do now."""
    alarmed = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        taste = _taste(rng)
        X = rng.standard_normal((200, D))
        y = (rng.random(200) < expit(4.0 * (X @ taste))).astype(int)
        online = LinearPreference()
        for row, label in zip(X, y, strict=True):
            online.partial_fit(row[None, :], [label], classes=[0, 1])
        alarmed += online.changes_detected_ > 0
    assert alarmed <= 6


def test_monitor_state_from_older_snapshots_loads() -> None:
    from plgl.errors import InvalidInputError
    from plgl.models.monitor import LAPSE_GRID, AnswerMonitor

    monitor = AnswerMonitor(threshold=0.25, lapse=None)
    for _ in range(30):
        monitor.observe(0.8, 1.0, 1.0)
    older = np.delete(monitor.to_array(), 4)  # written before the spread was kept
    restored = AnswerMonitor(threshold=0.25, lapse=None)
    restored.load_array(older)
    assert restored.spread == 0.0 and restored.seen == 30
    assert restored.lapse == monitor.lapse
    with pytest.raises(InvalidInputError, match=f"{5 + len(LAPSE_GRID)} numbers"):
        restored.load_array(np.zeros(3))


@pytest.mark.xfail(
    strict=True,
    reason="monitor.py: the change detector still fires on some stationary streams of 200 noisy "
    "ratings (13 in 100 at d=8), and refine() then discounts the ratings before it",
)
def test_a_steady_taste_raises_no_change_alarm() -> None:
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X, y = _rated(rng, _taste(rng), 200)
        online = LinearPreference()
        for row, label in zip(X, y, strict=True):
            online.partial_fit(row[None, :], [label], classes=[0, 1])
        assert online.changes_detected_ == 0, f"seed {seed}"
