"""What the Session's method groups (`plgl.criteria.profile`, `plgl.population.opt_in`) may use
of the session they are part of: its engine, lock, history and a few steps of every call."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from plgl.criteria import CriteriaModels
    from plgl.engine import Engine
    from plgl.history import History
    from plgl.learner import Recipe
    from plgl.models import BasePreferenceModel
    from plgl.records import Event

MAX_BATCH = 1000  # the most items one call of the session serves


class SessionCore(Protocol):
    """The part of `plgl.session.Session` its method groups build on (a typing contract)."""

    engine: Engine
    user_id: str
    context: str | None
    _lock: threading.RLock
    _history: History
    _recipe: Recipe
    _key: str

    @property
    def model(self) -> BasePreferenceModel: ...

    @property
    def _criteria(self) -> CriteriaModels: ...

    def _begin(self) -> None: ...

    def _check_alive(self) -> None: ...

    def _read_rng(self) -> np.random.Generator: ...

    def _model_before(self, context: str | None, position: int) -> BasePreferenceModel: ...

    def _event_latents(self, events: Sequence[Event]) -> dict[str, np.ndarray]: ...
