"""What constrained navigation looks for, and how sure a bound must be."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

from plgl.models.laplace import PROBIT


@dataclass(frozen=True)
class Goal:
    """What to find, in log-odds per model name.

    Attributes:
        maximize: the model whose log-odds should be as high as possible (None: none).
        at_least: name -> lowest acceptable log-odds, met with posterior probability
            `confidence` (a chance constraint: mean - z_confidence * sd >= bound; Charnes &
            Cooper 1959), so a bound holds for the true taste, not only for the model's guess.
        targets: name -> wanted (moderated) log-odds, met as equalities.
        confidence: see `at_least`; 0.5 bounds the posterior mean.
        spare: the maximized log-odds may fall this share below its best, so that the answers
            can differ (the best point of the shell is unique).
    """

    maximize: str | None = None
    at_least: Mapping[str, float] = field(default_factory=dict)
    targets: Mapping[str, float] = field(default_factory=dict)
    confidence: float = 0.9
    spare: float = 0.05

    @property
    def kappa(self) -> float:
        """Standard deviations between the posterior mean and the bound."""
        return float(norm.ppf(self.confidence))

    def names(self) -> list[str]:
        """Every model name the goal uses, objective first."""
        names = [] if self.maximize is None else [self.maximize]
        return names + [n for n in [*self.at_least, *self.targets] if n not in names]


def variance(model: Any, z: np.ndarray) -> np.ndarray:
    """(n,) posterior variance of each latent's log-odds (0 for a model without one)."""
    return np.maximum(np.asarray(model.uncertainty(z), dtype=np.float64), 0.0)


def lower_bound(model: Any, latents: np.ndarray, confidence: float = 0.9) -> np.ndarray:
    """(n,) log-odds that each latent's true log-odds exceed with posterior probability
    `confidence` (mean - z * sd, the mean recovered from the moderated log-odds)."""
    spread = variance(model, latents)
    mean = model.decision_function(latents) * np.sqrt(1.0 + PROBIT * spread)
    return np.asarray(mean - float(norm.ppf(confidence)) * np.sqrt(spread))
