"""Benchmark library code: simulated users, the learning loop that measures plgl, baselines."""

from plgl.bench.baselines import run_naive, run_random
from plgl.bench.cache import cache_savings
from plgl.bench.content import ContentUser, content_user
from plgl.bench.domains import run_domain
from plgl.bench.loop import LearningCurve, run_swipes
from plgl.bench.users import (
    NOISE,
    USER_KINDS,
    DriftingUser,
    IdealPointUser,
    LinearUser,
    MultiIdealUser,
    PairwiseResponder,
    PickyUser,
    SimulatedUser,
    clip_to_ball,
    make_user,
)

__all__ = [
    "NOISE",
    "USER_KINDS",
    "ContentUser",
    "DriftingUser",
    "IdealPointUser",
    "LearningCurve",
    "LinearUser",
    "MultiIdealUser",
    "PairwiseResponder",
    "PickyUser",
    "SimulatedUser",
    "cache_savings",
    "clip_to_ball",
    "content_user",
    "make_user",
    "run_domain",
    "run_naive",
    "run_random",
    "run_swipes",
]
