"""Samplers: which latents to show next, and `next_candidates`, the session's one call for the
candidates to choose them from (the sampler's proposals mixed with pool items)."""

from plgl.samplers._base import BaseSampler
from plgl.samplers.mixture import MixtureSampler
from plgl.samplers.pool import next_candidates

__all__ = ["BaseSampler", "MixtureSampler", "next_candidates"]
