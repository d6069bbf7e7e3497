"""Samplers: which latents to show next."""

from plgl.samplers._base import BaseSampler
from plgl.samplers.mixture import MixtureSampler

__all__ = ["BaseSampler", "MixtureSampler"]
