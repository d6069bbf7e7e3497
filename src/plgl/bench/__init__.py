"""Benchmark library code: simulated users and the learning loop that measures plgl."""

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
    "run_swipes",
]
