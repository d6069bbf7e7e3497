"""The Session's methods for private matching: opting in or out, and asking for matches.

A method group of `plgl.session.Session` (which inherits it); see
`plgl.session_core.SessionCore` for what these methods use.
"""

from __future__ import annotations

from plgl import validation as check
from plgl.errors import InvalidInputError, NotOptedInError
from plgl.population.records import Match
from plgl.population.service import MATCHING_OUT_SETTING, MATCHING_SETTING
from plgl.session_core import SessionCore


class Matching:
    """Opt-in private matching: pseudonymous handles of users with a similar taste."""

    @property
    def matching(self: SessionCore) -> bool:
        """Whether the user opted in to private matching (stored; default off)."""
        return self.engine.storage.settings(self.user_id).get(MATCHING_SETTING, False) is True

    def set_matching(self: SessionCore, enabled: bool) -> None:
        """Opt in to private matching (others may be shown a pseudonymous handle of this user
        from the next population refresh) or out (out of everyone's answers at once)."""
        if not isinstance(enabled, bool):
            raise InvalidInputError(f"enabled must be True or False, got {enabled!r}")
        with self._lock:
            self._check_alive()
            population = self.engine.population
            settings: dict[str, object] = {MATCHING_SETTING: enabled}
            if not enabled and population is not None:
                population.exclude(self.user_id)
                # Out of the report released under this refresh, even if opted in again.
                settings[MATCHING_OUT_SETTING] = population.refresh_id
            self.engine.storage.put_settings(self.user_id, settings)

    def matches(self: SessionCore, k: int = 5) -> list[Match]:
        """Up to `k` other opted-in users with the closest taste: pseudonymous handles and a
        similarity bucket only. Only for opted-in users (NotOptedInError), rate-limited per
        user (RateLimitedError); empty before the population's first refresh."""
        k = check.integer("k", k, minimum=1, maximum=100)
        population = self.engine.population
        if population is None:
            raise InvalidInputError("matching needs an engine with a population (population=)")
        with self._lock:
            self._begin()
            if self.engine.storage.settings(self.user_id).get(MATCHING_SETTING) is not True:
                raise NotOptedInError("opt in to matching first (set_matching(True))")
            return population.matches(self.user_id, self.model.coef_, k)
