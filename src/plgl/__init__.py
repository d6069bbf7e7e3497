"""plgl: learn what a person likes from swipes, and steer a generator to make more of it."""

from plgl import generators, models, samplers, storage
from plgl._version import __version__
from plgl.engine import Engine
from plgl.errors import (
    EventConflictError,
    InvalidInputError,
    PlglError,
    StorageError,
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
    "InvalidInputError",
    "Item",
    "PlglError",
    "Safety",
    "Session",
    "StorageError",
    "UnknownItemError",
    "UnsafeRegionError",
    "UserDeletedError",
    "__version__",
    "generators",
    "models",
    "samplers",
    "storage",
]
