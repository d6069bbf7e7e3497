"""Benchmark library code: simulated users, the learning loop that measures plgl, baselines."""

from plgl.bench.baselines import run_naive, run_random
from plgl.bench.loop import LearningCurve, run_swipes
from plgl.bench.users import (
    DriftingUser,
    IdealPointUser,
    LinearUser,
    MultiIdealUser,
    SimulatedUser,
    clip_to_ball,
)

__all__ = [
    "DriftingUser",
    "IdealPointUser",
    "LearningCurve",
    "LinearUser",
    "MultiIdealUser",
    "SimulatedUser",
    "clip_to_ball",
    "run_naive",
    "run_random",
    "run_swipes",
]
