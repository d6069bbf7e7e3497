"""Generators by name: `plgl.generators.get("identity", latent_dim=16)`."""

from __future__ import annotations

import importlib
from typing import Any

from plgl.errors import InvalidInputError
from plgl.generators._base import Generator, has_torch_features
from plgl.generators.identity import IdentityGenerator
from plgl.generators.torch_module import TorchGenerator  # torch only, which plgl imports anyway

# name -> "module:Class", imported on first use so that one domain's heavy dependencies (RDKit,
# model weights) cost nothing to the others.
_REGISTRY: dict[str, str] = {
    "identity": "plgl.generators.identity:IdentityGenerator",
    "melodies": "plgl.generators.melodies:MelodyGenerator",
    "faces": "plgl.generators.faces:FaceGenerator",
    "molecules": "plgl.generators.molecules:MoleculeGenerator",
}

__all__ = [
    "Generator",
    "IdentityGenerator",
    "TorchGenerator",
    "available",
    "get",
    "has_torch_features",
]


def available() -> list[str]:
    """Names accepted by `get`."""
    return sorted(_REGISTRY)


def get(name: str, **options: Any) -> Generator:
    """Build the generator registered under `name` with its options.

    >>> get("identity", latent_dim=4).latent_dim
    4
    """
    try:
        module, cls = _REGISTRY[name].split(":")
    except KeyError:
        raise InvalidInputError(
            f"unknown generator {name!r}: expected one of {', '.join(available())}"
        ) from None
    factory = getattr(importlib.import_module(module), cls)
    generator: Generator = factory(**options)
    return generator
