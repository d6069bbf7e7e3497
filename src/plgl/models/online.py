"""The online protocol: models that learn rating by rating and save their state as arrays.

Code that serves users asks `isinstance(model, OnlinePreferenceModel)`; it never probes a model
for methods.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Self

import numpy as np

from plgl.errors import InvalidInputError
from plgl.models._base import BasePreferenceModel

REFINE_BUDGET = 2e7  # n * d^2 of an exact refit that `refine` allows itself by default


class OnlinePreferenceModel(BasePreferenceModel):
    """A preference model with a posterior that ratings update one at a time.

    Subclasses implement `start` (the prior, ready to learn), `learn` and `learn_pair` (one
    rating or comparison, cheap), `refine` (an exact refit where affordable), `get_state` and
    `set_state` (everything learned, as named arrays, no pickle) and `weight_covariance`.
    """

    @property
    def online(self) -> bool:
        """Whether this model can learn rating by rating (a wrapper may depend on its base)."""
        return True

    @abstractmethod
    def start(self, n_features: int) -> Self:
        """Become the prior over latents of dimension `n_features`, ready to learn."""

    @abstractmethod
    def learn(self, latent: np.ndarray, label: float, weight: float = 1.0) -> None:
        """Online update with one labelled latent (d,) (label 1: liked), no input checks."""

    @abstractmethod
    def learn_pair(self, preferred: np.ndarray, other: np.ndarray, weight: float = 1.0) -> None:
        """Online update with one comparison: latent `preferred` (d,) won over `other` (d,)."""

    @abstractmethod
    def refine(self, budget: float | None = REFINE_BUDGET) -> bool:
        """Make the posterior exact again where affordable (n * d^2 <= budget; None: always);
        returns whether it refitted."""

    @abstractmethod
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything learned, as named arrays: `set_state` restores it exactly."""

    @abstractmethod
    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Restore what `get_state` returned (constructor parameters are kept)."""

    @abstractmethod
    def weight_covariance(self) -> np.ndarray | None:
        """(d, d) posterior covariance of the taste weights over latents; None when the model
        is not linear in latents."""


def attributes_state(model: Any, names: list[str]) -> dict[str, np.ndarray]:
    """The named attributes of `model` as arrays, keyed "<kind>:<name>".

    Kind is "array", "list" (numbers, or equal-length arrays, stacked) or "scalar".
    """
    state: dict[str, np.ndarray] = {}
    for name in names:
        value = vars(model)[name]
        if isinstance(value, np.ndarray):
            kind = "array"
        elif isinstance(value, list):
            kind = "list"
        elif isinstance(value, bool | int | float | np.number):
            kind = "scalar"
        else:
            raise TypeError(f"attribute {name!r} ({type(value).__name__}) has no array form")
        array = np.array(value)
        if array.dtype == object:
            raise TypeError(f"attribute {name!r} is not numeric")
        state[f"{kind}:{name}"] = array
    return state


def restore_attributes(model: Any, state: dict[str, np.ndarray], names: list[str]) -> None:
    """Set the attributes of `attributes_state` back on `model`; every name must be present."""
    seen = set()
    for key, value in state.items():
        kind, _, name = key.partition(":")
        if name not in names:
            raise InvalidInputError(f"state key {key!r} does not name a learned attribute")
        if kind == "array":
            setattr(model, name, np.array(value))
        elif kind == "list":
            setattr(model, name, list(np.array(value)) if value.ndim == 2 else value.tolist())
        elif kind == "scalar":
            setattr(model, name, value.item())
        else:
            raise InvalidInputError(f"state key {key!r} has an unknown kind {kind!r}")
        seen.add(name)
    missing = sorted(set(names) - seen)
    if missing:
        raise InvalidInputError(f"state lacks the learned attributes {missing}")


__all__ = ["REFINE_BUDGET", "OnlinePreferenceModel", "attributes_state", "restore_attributes"]
