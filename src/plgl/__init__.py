"""plgl: learn what a person likes from swipes, and steer a generator to make more of it."""

from plgl import criteria, generators, models, samplers, storage
from plgl._version import __version__
from plgl.engine import Engine
from plgl.errors import (
    EventConflictError,
    InfeasibleConstraintsError,
    InvalidInputError,
    PlglError,
    StorageError,
    UnknownCriterionError,
    UnknownItemError,
    UnsafeRegionError,
    UserDeletedError,
)
from plgl.feedback import FeedbackPolicy
from plgl.generators import Generator
from plgl.records import Comparison, Feedback, Item
from plgl.safety import Safety
from plgl.session import Session

__all__ = [
    "Comparison",
    "Engine",
    "EventConflictError",
    "Feedback",
    "FeedbackPolicy",
    "Generator",
    "InfeasibleConstraintsError",
    "InvalidInputError",
    "Item",
    "PlglError",
    "Safety",
    "Session",
    "StorageError",
    "UnknownCriterionError",
    "UnknownItemError",
    "UnsafeRegionError",
    "UserDeletedError",
    "__version__",
    "criteria",
    "generators",
    "models",
    "samplers",
    "storage",
]
