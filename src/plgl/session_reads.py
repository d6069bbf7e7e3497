"""The Session's reading calls: scores, recommendations, latents for a target, explanations.

A method group of `plgl.session.Session` (which inherits it), built on the criteria group
(`plgl.criteria.profile`) and the event log (`plgl.session_events`). None changes the model:
each draws from a stream seeded per call by the state it reads, never from the stream of `ask`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from plgl import validation as check
from plgl.criteria.profile import SeveralTastes
from plgl.errors import InvalidInputError
from plgl.explain import explanation
from plgl.navigation import logit
from plgl.records import Item
from plgl.session_core import MAX_BATCH
from plgl.session_events import EventLog

_READ_STREAM = 1  # tells the read-only random stream apart from the one `ask` draws from


class Reading(SeveralTastes, EventLog):
    """What the user's taste predicts, recommends and is driven by, read without changing it."""

    _user_seed: int

    def score(self, latents: Any, criterion: str | None = None) -> np.ndarray:
        """(n,) predicted probability of a like for latents (n, latent_dim) or one (latent_dim,)
        (of a like on `criterion` if given; UnknownCriterionError if it has no ratings)."""
        array = check.latents("latents", latents, self.engine.generator.latent_dim)
        with self._lock:
            self._begin()
            model = self.model if criterion is None else self._criteria.model(criterion)
            return np.asarray(model.predict_proba(array)[:, 1])

    def recommend(
        self,
        k: int = 10,
        maximize: str | None = None,
        at_least: Mapping[str, float] | None = None,
    ) -> list[Item]:
        """The `k` best items for this user, diverse, best first, never in the marked region.

        Without criteria they are grounded in the user's best-rated items (`plgl.grounding`):
        new content the model is confident beats the favourite, or, when nothing is, a
        variation on it (where the generator has a content judge) and then the favourite itself
        (its Item's `source` says "favourite"; other rated items "liked").

        Asked again with the same `k` before anything changed the model (an answer, here or in
        another process, the refinement `ask` makes, or a new prior pinned for the user),
        For-you gives the same items again,
        remembered: the answer is a function of the events, which the stream it draws from
        is seeded by, so computing it again would give the same latents.

        `maximize="calm"` ranks by a criterion instead of the overall taste; `at_least=
        {"energy": 0.8}` keeps only latents predicted at least that likely liked on each
        criterion, with posterior probability 0.9 (InfeasibleConstraintsError when no latent
        the generator renders well meets them together).
        """
        k = check.integer("k", k, minimum=1, maximum=MAX_BATCH)
        with self._lock:
            self._begin()
            if maximize is None and at_least is None:
                version = (self._key, self._history.position, self._refined)  # key: the prior
                n_ratings = self._history.n_events
                return self._feed.recommend(self.model, k, n_ratings, self._read_rng(), version)
            latents = self._constrained(k, maximize, at_least, None)
            return self._feed.serve(latents, "recommend")

    def reverse(
        self,
        target: float | None = None,
        n: int = 5,
        targets: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """(n, latent_dim) diverse latents predicted liked with probability `target` in (0, 1),
        or with probability `targets[c]` on each criterion c.

        A single target beyond what the model can reach on the prior's shell gives the nearest
        reachable latents (a score is never pushed off the region the generator renders well);
        a target above the favourite's stays within the trust region of the best-rated items
        (`plgl.grounding`);
        criteria targets that cannot be met together raise InfeasibleConstraintsError.
        """
        if (target is None) == (targets is None):
            raise InvalidInputError(
                "reverse takes a target or targets (criterion -> probability), exactly one"
            )
        n = check.integer("n", n, minimum=1, maximum=MAX_BATCH)
        if targets is not None:
            with self._lock:
                self._begin()
                return self._constrained(n, None, None, targets)
        target = check.probability("target", target)
        with self._lock:
            self._begin()
            rng, n_events = self._read_rng(), self._history.n_events
            return self._feed.safe_latents(self.model, logit(target), n, rng, n_events)

    def reverse_items(
        self,
        target: float | None = None,
        n: int = 5,
        targets: Mapping[str, float] | None = None,
    ) -> list[Item]:
        """`reverse` as items that can be shown and rated: with content, remembered as served."""
        with self._lock:
            latents = self.reverse(target, n, targets)
            return self._feed.serve(latents, "reverse")

    def explain(self) -> dict[str, Any]:
        """What drives this user's taste: the strongest traits, in the generator's words."""
        with self._lock:
            self._begin()
            best = self._feed.safe_latents(self.model, None, 1, self._read_rng())
            return explanation(
                self.model, self.engine.generator, self.user_id, self._history.n_events, best
            )

    def _read_rng(self) -> np.random.Generator:
        """A stream for reading calls: the same state gives the same answer, and drawing from
        it leaves the stream of `ask` untouched."""
        seed = [self.engine.seed, self._user_seed, self._history.n_events, _READ_STREAM]
        return np.random.default_rng(seed)
