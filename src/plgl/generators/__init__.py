"""Generators by name: `plgl.generators.get("identity", latent_dim=16)`."""

# Imported under private names: the package's public names are exactly __all__.
import importlib as _importlib
import typing as _typing

from plgl.errors import InvalidInputError as _InvalidInputError
from plgl.generators._base import (
    Generator,
    cache_folder,
    config_digest,
    has_perceptual,
    has_torch_features,
    shipped_folder,
)
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
    "cache_folder",
    "config_digest",
    "get",
    "has_perceptual",
    "has_torch_features",
    "shipped_folder",
]


def available() -> list[str]:
    """Names accepted by `get`."""
    return sorted(_REGISTRY)


def get(name: str, **options: _typing.Any) -> Generator:
    """Build the generator registered under `name` with its options.

    >>> get("identity", latent_dim=4).latent_dim
    4
    """
    try:
        module, cls = _REGISTRY[name].split(":")
    except KeyError:
        raise _InvalidInputError(
            f"unknown generator {name!r}: expected one of {', '.join(available())}"
        ) from None
    factory = getattr(_importlib.import_module(module), cls)
    generator: Generator = factory(**options)
    return generator
