"""How a user's answers surprise the model: the lapse rate (mis-swipes) and changes of taste.

Both are read from the predictive probability of each answer before it is learned:

* the lapse rate has a small grid posterior, updated with each answer's likelihood under
  P(label 1) = lapse / 2 + (1 - lapse) p (Wichmann & Hill 2001): a user whose confident
  predictions are often contradicted at random gains a lapse; one whose surprises are explained
  by the taste's own uncertainty keeps it near zero;
* a change of taste is a spike of the recent excess surprise (log-loss minus its expectation,
  averaged over about 10 answers) over its long-run level (about 200 answers), by more than the
  threshold and by more than `Z` standard deviations of that average under the model (a run of
  uncertain answers is noisy, a run of confident ones is not: the check cut false alarms on
  steady users at the same recovery from a change), looked for only once 10 answers have been
  seen since the start or the last change.
"""

from __future__ import annotations

import math

import numpy as np

from plgl.errors import InvalidInputError

LAPSE_GRID = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4])  # P(coin-toss answer); 0.4: 20% flipped
LAPSE_PRIOR = np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1])  # half the mass on a careful user
_SHORT, _LONG = 0.1, 0.005  # rates of the recent and long-run averages of excess surprise
_WARMUP = 10  # answers since the start, or the last change, before a change can be detected
Z = 3.0  # the recent excess must also stand this many of its own standard deviations out


class AnswerMonitor:
    """Running lapse posterior and change-of-taste detector of one user.

    Args:
        threshold: excess surprise (nats) of the recent average over the long-run one that is
            taken as a change of taste; None never detects one.
        lapse: a fixed lapse rate in [0, 1), or None to learn it on `LAPSE_GRID`.

    >>> monitor = AnswerMonitor(threshold=0.25, lapse=None)
    >>> for _ in range(50):
    ...     _ = monitor.observe(0.99, 0.0, 1.0)  # sure likes, answered "no" every time
    >>> monitor.lapse > 0.2
    True
    """

    def __init__(self, threshold: float | None, lapse: float | None) -> None:
        if lapse is not None and not 0.0 <= lapse < 1.0:
            raise InvalidInputError(f"lapse must be None or in [0, 1); got {lapse!r}")
        if threshold is not None and not threshold > 0:
            raise InvalidInputError(f"change_threshold must be None or > 0; got {threshold!r}")
        self.threshold = threshold
        self.fixed_lapse = lapse
        self.surprise = 0.0  # recent average excess surprise
        self.spread = 0.0  # recent average of its variance under the model
        self.usual = 0.0  # its long-run average
        self.recent = 0  # answers since the start or the last change
        self.seen = 0  # answers in all
        self.log_weights = np.log(LAPSE_PRIOR)

    @property
    def lapse(self) -> float:
        """The lapse rate in use: the fixed one, or the posterior mean."""
        if self.fixed_lapse is not None:
            return self.fixed_lapse
        weights = np.exp(self.log_weights - self.log_weights.max())
        return float(weights @ LAPSE_GRID / weights.sum())

    def observe(self, taste: float, label: float, weight: float) -> bool:
        """Take one answer `label` (1: liked) of weight `weight` that the taste predicted liked
        with probability `taste`; returns whether it completes a change of taste."""
        lapse = self.lapse
        if self.fixed_lapse is None:
            liked = 0.5 * LAPSE_GRID + (1.0 - LAPSE_GRID) * taste
            likelihood = np.clip(np.where(label > 0.5, liked, 1.0 - liked), 1e-12, 1.0)
            self.log_weights = self.log_weights + min(weight, 1.0) * np.log(likelihood)
            self.log_weights -= self.log_weights.max()  # stays finite
        if self.threshold is None:
            return False
        p = min(max(0.5 * lapse + (1.0 - lapse) * taste, 1e-6), 1 - 1e-6)
        loss = -math.log(p if label else 1.0 - p)
        entropy = -(p * math.log(p) + (1 - p) * math.log(1 - p))
        excess = min(weight, 1.0) * (loss - entropy)
        spread = min(weight, 1.0) ** 2 * p * (1 - p) * math.log(p / (1 - p)) ** 2
        self.surprise = (1.0 - _SHORT) * self.surprise + _SHORT * excess
        self.spread = (1.0 - _SHORT) * self.spread + _SHORT * spread
        self.usual = (1.0 - _LONG) * self.usual + _LONG * excess
        self.recent += 1
        self.seen += 1
        # A model that is merely miscalibrated is surprised all the time; a change of taste
        # shows as surprise well above the model's own long-run level.
        if self.recent < _WARMUP:
            return False
        excess_now = self.surprise - max(self.usual, 0.0)
        noise = math.sqrt(self.spread * _SHORT / (2.0 - _SHORT))
        if excess_now > self.threshold and excess_now > Z * noise:
            self.surprise, self.recent = 0.0, 0
            return True
        return False

    def to_array(self) -> np.ndarray:
        """(5 + len(LAPSE_GRID),) the running state, for snapshots."""
        head = [self.surprise, self.usual, float(self.recent), float(self.seen), self.spread]
        return np.concatenate([head, self.log_weights])

    def load_array(self, values: np.ndarray) -> None:
        """Restore what `to_array` returned (or, from snapshots written before the spread was
        kept, the same without it: the spread then restarts at 0)."""
        values = np.asarray(values, dtype=np.float64)
        lapses = len(LAPSE_GRID)
        if values.shape not in ((5 + lapses,), (4 + lapses,)):
            raise InvalidInputError(f"monitor state must have {5 + lapses} numbers")
        self.surprise, self.usual = float(values[0]), float(values[1])
        self.recent, self.seen = int(values[2]), int(values[3])
        self.spread = float(values[4]) if len(values) == 5 + lapses else 0.0
        self.log_weights = values[-lapses:].copy()


__all__ = ["LAPSE_GRID", "LAPSE_PRIOR", "AnswerMonitor"]
