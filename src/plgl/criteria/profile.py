"""The Session's methods for several tastes: criteria, constraints and context profiles.

A method group of `plgl.session.Session` (which inherits it), kept apart so that the session
file holds the swipe loop; see `plgl.session_core.SessionCore` for what these methods use.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from plgl.criteria.contexts import better_context
from plgl.criteria.models import CriteriaModels, check_name
from plgl.criteria.navigate import find_latents, front, goal_for
from plgl.errors import InvalidInputError
from plgl.session_core import SessionCore


class SeveralTastes:
    """Criteria ("energy", "calm") with a model each, navigation under bounds between them, and
    context profiles ("workout") of one user."""

    @property
    def criteria(self: SessionCore) -> dict[str, int]:
        """Ratings per criterion this user rated (criteria without ratings are absent)."""
        with self._lock:
            self._begin()
            return self._criteria.counts()

    def contexts(self: SessionCore) -> list[str]:
        """The context profiles this user has rated in, sorted (the default one is not named)."""
        with self._lock:
            self._check_alive()
            events = self.engine.storage.events(self.user_id)
            return sorted({e.context for e in events if e.context is not None})

    def suggest_context(self: SessionCore, recent: int = 10, margin: float = 0.3) -> str | None:
        """Another context whose taste fits this profile's last `recent` ratings far better
        (by more than `margin` nats per rating, on average), or None: a hint to switch.

        Every profile is judged as it was before those ratings, so none has learned them."""
        with self._lock:
            self._begin()
            events = self.engine.storage.events(self.user_id)
            return better_context(
                events,
                self.context,
                self._event_latents,
                self.engine.feedback,
                self._model_before,
                recent,
                margin,
            )

    def pareto(
        self: SessionCore, first: str, second: str, points: int = 15
    ) -> tuple[np.ndarray, np.ndarray]:
        """The trade-off between two rated criteria: latents (m, latent_dim) and predicted
        probabilities (m, 2) of (first, second), sorted by the second, none dominated."""
        with self._lock:
            self._begin()
            generator = self.engine.generator
            return front(self._criteria, first, second, generator, self._read_rng(), points)

    @property
    def _criteria(self: SessionCore) -> CriteriaModels:
        return self._history.learner.criteria

    def _criterion(self: SessionCore, criterion: str | None) -> str | None:
        """A valid criterion name the engine allows, or None."""
        if criterion is None:
            return None
        name = check_name("criterion", criterion)
        allowed = self.engine.criteria
        if allowed is not None and name not in allowed:
            raise InvalidInputError(
                f"unknown criterion {name!r}: expected one of {', '.join(allowed)}"
            )
        return name

    def _constrained(
        self: SessionCore,
        n: int,
        maximize: str | None,
        at_least: Mapping[str, float] | None,
        targets: Mapping[str, float] | None,
    ) -> np.ndarray:
        """(n, d) diverse latents meeting criteria bounds or targets, none in the marked region."""
        models, goal = goal_for(self._criteria, self.model, maximize, at_least, targets)
        engine, user_id = self.engine, self.user_id

        def unsafe(latents: np.ndarray) -> np.ndarray:
            needs = engine.safety.needs_content
            contents = engine.cache.contents(latents, user_id) if needs else None
            return np.asarray(engine.safety.unsafe_mask(latents, contents))

        return find_latents(models, goal, n, engine.generator, self._read_rng(), unsafe)
