"""Robust answers: the lapse likelihood, the answer monitor and changes of taste."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from plgl.errors import InvalidInputError
from plgl.models import LinearPreference
from plgl.models.laplace import lapse_log_likelihood, lapse_terms, newton_map
from plgl.models.monitor import AnswerMonitor


def _stream(seed: int, n: int, d: int = 8, flip: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    taste = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < expit(2.0 * X @ taste)).astype(float)
    flipped = rng.random(n) < flip
    return X, np.where(flipped, 1.0 - y, y)


def test_lapse_terms_are_the_derivatives_of_the_log_likelihood() -> None:
    f = np.linspace(-6, 6, 25)
    for lapse in (0.0, 0.2):
        for target in (0.0, 1.0):
            score, information = lapse_terms(f, target, lapse)
            step = 1e-6
            numeric = (
                lapse_log_likelihood(f + step, np.full(25, target), lapse)
                - lapse_log_likelihood(f - step, np.full(25, target), lapse)
            ) / (2 * step)
            assert np.allclose(score, numeric, atol=1e-6)
            assert np.all(information > 0)


def test_newton_with_a_lapse_finds_a_stationary_point() -> None:
    X, y = _stream(0, 80, 4, flip=0.2)
    phi = np.column_stack([X, np.ones(len(X))])
    precision = np.full(5, 0.5)
    theta, _ = newton_map(phi, y, np.ones(len(y)), precision, np.zeros(5), lapse=0.3)
    score, _ = lapse_terms(phi @ theta, y, 0.3)
    assert np.allclose(phi.T @ score - precision * theta, 0.0, atol=1e-4)


def test_a_lapse_makes_a_contradicting_answer_move_the_taste_less() -> None:
    X, y = _stream(1, 60, 4)
    moved = []
    for lapse in (0.0, 0.3):
        model = LinearPreference(lapse=lapse, change_threshold=None).start(4)
        for row, label in zip(X, y, strict=True):
            model.learn(row, label)
        sure = X[np.argmax(np.abs(model.decision_function(X)))]
        before = model.coef_.copy()
        model.learn(sure, float(model.decision_function(sure[None, :])[0] < 0))  # a mis-swipe
        moved.append(np.linalg.norm(model.coef_ - before))
    assert moved[1] < 0.5 * moved[0]


def test_a_learned_lapse_reads_the_user() -> None:
    lapses = {}
    for flip in (0.0, 0.25):
        X, y = _stream(2, 300, 4, flip=flip)
        model = LinearPreference(lapse=None).start(4)
        for row, label in zip(X, y, strict=True):
            model.learn(row, label)
        lapses[flip] = model.lapse_
    assert lapses[0.0] < 0.05
    assert lapses[0.25] > 0.2


def test_a_batch_fit_chooses_its_lapse_by_evidence() -> None:
    careful = LinearPreference(lapse=None).fit(*_stream(3, 300, 4))
    sloppy = LinearPreference(lapse=None).fit(*_stream(3, 300, 4, flip=0.25))
    assert careful.lapse_ < 0.1 < sloppy.lapse_


def test_monitor_refuses_bad_settings_and_restores_its_state() -> None:
    with pytest.raises(InvalidInputError, match="lapse"):
        AnswerMonitor(threshold=0.25, lapse=1.0)
    with pytest.raises(InvalidInputError, match="change_threshold"):
        AnswerMonitor(threshold=-1.0, lapse=None)
    monitor = AnswerMonitor(threshold=0.25, lapse=None)
    for _ in range(30):
        monitor.observe(0.9, 0.0, 1.0)
    twin = AnswerMonitor(threshold=0.25, lapse=None)
    twin.load_array(monitor.to_array())
    assert np.array_equal(twin.to_array(), monitor.to_array()) and twin.lapse == monitor.lapse
    with pytest.raises(InvalidInputError, match="numbers"):
        twin.load_array(np.zeros(2))


def test_no_change_is_seen_in_a_new_users_first_answers() -> None:
    monitor = AnswerMonitor(threshold=0.25, lapse=0.0)
    assert not any(monitor.observe(0.99, 0.0, 1.0) for _ in range(9))
    assert any(monitor.observe(0.99, 0.0, 1.0) for _ in range(5))


def test_a_change_of_taste_is_detected_and_followed() -> None:
    rng = np.random.default_rng(4)
    d = 8
    old, new = rng.standard_normal((2, d))
    new -= (new @ old) / (old @ old) * old
    model = LinearPreference().start(d)
    for step in range(240):
        z = rng.standard_normal(d)
        taste = old if step < 120 else new
        model.learn(z, float(rng.random() < expit(4.0 * z @ taste / np.linalg.norm(taste))))
        if step % 10 == 9:
            model.refine()
    assert model.changes_detected_ >= 1
    assert 120 < model.change_step_ < 160
    cosine = model.coef_ @ new / np.linalg.norm(model.coef_) / np.linalg.norm(new)
    assert cosine > 0.9


def test_resume_equals_replay_with_a_learned_lapse_and_changes() -> None:
    X, y = _stream(5, 330, 6, flip=0.1)
    y[200:] = 1.0 - y[200:]  # a change of taste
    head = LinearPreference(lapse=None).start(6)
    full = LinearPreference(lapse=None).start(6)
    for row, label in zip(X[:260], y[:260], strict=True):
        head.learn(row, label)
    for row, label in zip(X, y, strict=True):
        full.learn(row, label)
    resumed = LinearPreference(lapse=None).set_state(head.get_state())
    for row, label in zip(X[260:], y[260:], strict=True):
        resumed.learn(row, label)
    assert np.array_equal(resumed.mean_, full.mean_)
    assert np.array_equal(resumed.covariance_, full.covariance_)
    assert resumed.change_steps_ == full.change_steps_ and resumed.lapse_ == full.lapse_
