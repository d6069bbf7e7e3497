"""Argument checks shared by the public entry points. Each raises InvalidInputError that names
the argument, what it got and what was expected.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError


def integer(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidInputError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise InvalidInputError(f"{name} must be >= {minimum}{upper}, got {value}")
    return int(value)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidInputError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise InvalidInputError(f"{name} must be finite, got {value}")
    return float(value)


def probability(name: str, value: Any) -> float:
    """A number strictly between 0 and 1."""
    number = _number(name, value)
    if not 0.0 < number < 1.0:
        raise InvalidInputError(f"{name} must be strictly between 0 and 1, got {number}")
    return number


def unit_interval(name: str, value: Any) -> float:
    """A number in [0, 1]."""
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise InvalidInputError(f"{name} must be in [0, 1], got {number}")
    return number


def latents(name: str, value: Any, latent_dim: int) -> np.ndarray:
    """(n, latent_dim) finite float64 from an array of that shape or one (latent_dim,) vector."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{name} must be a numeric array: {error}") from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != latent_dim or len(array) == 0:
        raise InvalidInputError(
            f"{name} must have shape (n, {latent_dim}) or ({latent_dim},), got {np.shape(value)}"
        )
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} contains NaN or infinity")
    return array


def item_id(value: Any) -> str:
    """An item id: a string."""
    if not isinstance(value, str):
        raise InvalidInputError(f"item id must be a string, got {type(value).__name__}")
    return value


def event_id(value: Any) -> str:
    """The caller's idempotency key, or a new random one."""
    if value is None:
        return uuid.uuid4().hex
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInputError(f"event_id must be a non-empty string of <= 200 chars: {value!r}")
    return value
