"""Exceptions raised by plgl. Every one names what was wrong and what was expected."""


class PlglError(Exception):
    """Base class of every error plgl raises on purpose."""


class InvalidInputError(PlglError, ValueError):
    """An argument has the wrong shape, type, range or value."""


class UnknownItemError(PlglError, KeyError):
    """An item id was never served to this user (unknown, or served to someone else)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class EventConflictError(PlglError):
    """An event id was reused for a different event."""


class UnsafeRegionError(PlglError):
    """No safe item could be found: the request lies inside the marked (never-show) region."""


class UserDeletedError(PlglError):
    """The user's data was deleted; the id cannot be used again."""


class StorageError(PlglError):
    """The storage backend failed: unreachable, locked too long, or not a plgl database."""


class InfeasibleConstraintsError(PlglError, ValueError):
    """No latent the generator renders well meets the requested constraints together."""


class UnknownCriterionError(PlglError, KeyError):
    """A criterion was named that this user never rated (criteria are learned, not guessed)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class CacheUnavailableError(PlglError):
    """The cache backend cannot be reached or read (a down server, a foreign database file)."""


class MissingExtraError(PlglError, ImportError):
    """An optional dependency (a plgl extra) is not installed."""


class MissingWeightsError(PlglError, ImportError):
    """A generator's pretrained weights are not installed."""


class RateLimitedError(PlglError, RuntimeError):
    """A user asked for something more often than allowed; `retry_after` says when to retry."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotOptedInError(PlglError, PermissionError):
    """The user has not opted in to what they asked for (private matching)."""
