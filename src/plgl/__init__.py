"""plgl: learn what a person likes from swipes, and steer a generator to make more of it.

The names below load on first use (PEP 562), so that `import plgl` (and `plgl --help`) does not
pay for torch and scikit-learn until a model or generator is needed.
"""

# Private aliases: every public name of this module is in __all__ (tests/test_exported_members.py).
import typing as _typing

from plgl._lazy import lazy_exports as _lazy_exports
from plgl._version import __version__

if _typing.TYPE_CHECKING:
    from plgl import cache, criteria, generators, models, samplers, storage
    from plgl.engine import Engine
    from plgl.errors import (
        EventConflictError,
        InfeasibleConstraintsError,
        InvalidInputError,
        NotOptedInError,
        PlglError,
        RateLimitedError,
        StorageError,
        UnknownCriterionError,
        UnknownItemError,
        UnsafeRegionError,
        UserDeletedError,
    )
    from plgl.feedback import FeedbackPolicy
    from plgl.generators import Generator
    from plgl.population import Population
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
    "NotOptedInError",
    "PlglError",
    "Population",
    "RateLimitedError",
    "Safety",
    "Session",
    "StorageError",
    "UnknownCriterionError",
    "UnknownItemError",
    "UnsafeRegionError",
    "UserDeletedError",
    "__version__",
    "cache",
    "criteria",
    "generators",
    "models",
    "samplers",
    "storage",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "Comparison": "plgl.records:Comparison",
        "Engine": "plgl.engine:Engine",
        "EventConflictError": "plgl.errors:EventConflictError",
        "InfeasibleConstraintsError": "plgl.errors:InfeasibleConstraintsError",
        "Feedback": "plgl.records:Feedback",
        "FeedbackPolicy": "plgl.feedback:FeedbackPolicy",
        "Generator": "plgl.generators:Generator",
        "InvalidInputError": "plgl.errors:InvalidInputError",
        "Item": "plgl.records:Item",
        "NotOptedInError": "plgl.errors:NotOptedInError",
        "PlglError": "plgl.errors:PlglError",
        "Population": "plgl.population:Population",
        "RateLimitedError": "plgl.errors:RateLimitedError",
        "Safety": "plgl.safety:Safety",
        "Session": "plgl.session:Session",
        "StorageError": "plgl.errors:StorageError",
        "UnknownCriterionError": "plgl.errors:UnknownCriterionError",
        "UnknownItemError": "plgl.errors:UnknownItemError",
        "UnsafeRegionError": "plgl.errors:UnsafeRegionError",
        "UserDeletedError": "plgl.errors:UserDeletedError",
        "cache": "plgl.cache",
        "criteria": "plgl.criteria",
        "generators": "plgl.generators",
        "models": "plgl.models",
        "samplers": "plgl.samplers",
        "storage": "plgl.storage",
    },
    __all__,
)
