"""Benchmark library code: simulated users, the learning loop that measures plgl, baselines."""

from plgl.bench.baselines import run_naive, run_random
from plgl.bench.cache import cache_savings
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
    "make_user",
    "run_naive",
    "run_random",
    "run_swipes",
]
