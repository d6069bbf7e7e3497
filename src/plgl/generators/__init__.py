"""Generators by name: `plgl.generators.get("identity", latent_dim=16)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plgl.errors import InvalidInputError
from plgl.generators._base import Generator
from plgl.generators.identity import IdentityGenerator

_REGISTRY: dict[str, Callable[..., Generator]] = {"identity": IdentityGenerator}

__all__ = ["Generator", "IdentityGenerator", "available", "get"]


def available() -> list[str]:
    """Names accepted by `get`."""
    return sorted(_REGISTRY)


def get(name: str, **options: Any) -> Generator:
    """Build the generator registered under `name` with its options.

    >>> get("identity", latent_dim=4).latent_dim
    4
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown generator {name!r}: expected one of {', '.join(available())}"
        ) from None
    return factory(**options)
