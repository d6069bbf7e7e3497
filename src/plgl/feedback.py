"""Turn what a user did into a training label and a weight.

An explicit answer (like, dislike, superlike) is evidence of weight 1 or more. A skip is implicit:
the user moved on without saying why, so it is weak evidence, and how long they looked decides
its direction: a quick skip leans towards "not for me", a long look before skipping towards
"interesting". Weights multiply the log-likelihood of the label in every model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from plgl.errors import InvalidInputError
from plgl.records import SIGNALS


@dataclass(frozen=True)
class FeedbackPolicy:
    """How each signal becomes (label, weight).

    Attributes:
        superlike_weight: a superlike counts as this many likes.
        skip_weight: weight of a skip, the weakest evidence.
        dwell_threshold: seconds of looking at which a skip turns from negative to positive.
        dwell_scale: seconds over which a skip's evidence grows as dwell moves from the threshold.
    """

    superlike_weight: float = 2.0
    skip_weight: float = 0.3
    dwell_threshold: float = 3.0
    dwell_scale: float = 2.0

    def label(self, signal: str, dwell_seconds: float | None = None) -> tuple[int, float]:
        """(label in {0, 1}, weight > 0) for one rating.

        >>> FeedbackPolicy().label("like")
        (1, 1.0)
        >>> label, weight = FeedbackPolicy().label("skip", dwell_seconds=0.4)
        >>> label, round(weight, 2)
        (0, 0.26)
        """
        check_signal(signal, dwell_seconds)
        if signal == "like":
            return 1, 1.0
        if signal == "dislike":
            return 0, 1.0
        if signal == "superlike":
            return 1, self.superlike_weight
        if dwell_seconds is None:
            return 0, self.skip_weight
        # Confidence in the skip's direction grows with distance from the threshold (tanh),
        # capped at skip_weight: a long look is still not an explicit like.
        lean = math.tanh(abs(dwell_seconds - self.dwell_threshold) / self.dwell_scale)
        label = 1 if dwell_seconds > self.dwell_threshold else 0
        return label, self.skip_weight * max(lean, 0.25)


def check_signal(signal: object, dwell_seconds: object) -> None:
    """Raise InvalidInputError unless `signal` is known and `dwell_seconds` is None or >= 0."""
    if signal not in SIGNALS:
        raise InvalidInputError(f"unknown signal {signal!r}: expected one of {', '.join(SIGNALS)}")
    if dwell_seconds is None:
        return
    if isinstance(dwell_seconds, bool) or not isinstance(dwell_seconds, int | float):
        raise InvalidInputError(
            f"dwell_seconds must be a number of seconds, got {type(dwell_seconds).__name__}"
        )
    if not math.isfinite(dwell_seconds) or dwell_seconds < 0:
        raise InvalidInputError(f"dwell_seconds must be finite and >= 0, got {dwell_seconds}")
