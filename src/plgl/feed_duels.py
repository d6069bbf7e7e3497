"""The feed's choice cards: champion duels and a population-started user's favourite cards.

A method group of `plgl.feed.Feed` (which inherits it), kept apart so that the feed file holds
the pool and what is served from it. Each card shows the champion again beside up to
`DUEL_CARD - 1` challengers, in random order, all outside the never-show region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.duels import DUEL_CARD, duel, duels_due
from plgl.grounding import Standings
from plgl.models import BasePreferenceModel
from plgl.records import Item, new_item_id
from plgl.samplers import BaseSampler
from plgl.samplers.incumbent import (
    NEIGHBOUR_STEPS,
    NEIGHBOURS,
    challengers,
    neighbours,
    rematches,
)

if TYPE_CHECKING:
    from plgl.engine import Engine
    from plgl.grounding import Grounding

REMATCHES = 1
"""Favourite cards per batch that pit the favourite again against an earlier choice."""
REMATCH_CHANCE = 0.05
"""The least chance of being better than the favourite that earns an earlier choice a
rematch (`DuelCards._rematches`)."""


class DuelCards:
    """Cards that pit one user's champion against challengers, served."""

    engine: Engine
    user_id: str
    grounding: Grounding

    if TYPE_CHECKING:  # the feed's own (`plgl.feed.Feed`)

        def _comparable(
            self,
            model: BasePreferenceModel,
            n: int,
            n_ratings: int,
            sampler: BaseSampler,
            rng: np.random.Generator,
        ) -> tuple[list[Item], np.ndarray]: ...

        def _take(
            self, candidates: list[Item], rows: list[int], sources: list[str]
        ) -> list[Item]: ...

        def _contents(self, latents: np.ndarray) -> list[Any]: ...

    def _favourite_cards(
        self,
        model: BasePreferenceModel,
        n: int,
        n_ratings: int,
        sampler: BaseSampler,
        rng: np.random.Generator,
    ) -> list[tuple[Item, ...]]:
        """`n` cards (fewer where few candidates are safe), each the user's favourite (the
        champion, source "champion") among `DUEL_CARD - 1` challengers with the largest
        expected improvement over it under the posterior (`plgl.samplers.incumbent`), in
        random order; none before anything was rated positively, nor where the never-show
        region takes the favourite. Challengers come from the pool, twin latents and latents
        around the favourite at a spread of distances (`neighbours`), all outside the
        never-show region; up to `REMATCHES` of them (never all of a batch) are items the user
        chose before that may still be better than the favourite (`_rematches`).

        A population's prior already points the posterior near the user's taste; what it
        cannot do is tell apart the good faces the user liked, never compared with each other
        (`population-faces` suite, docs/population.md): the favourite against the best expected
        improvement, winner stays, as in Brochu et al. (2007), three challengers a card."""
        rated, labels = self.grounding.evidence()
        standings = self.grounding.standings(model, rated, labels)  # crown and rematches
        champion = self.grounding.champion(model, rated, labels, None, standings)
        if champion is None:
            return []
        content = self._contents(champion[None])
        safety = self.engine.safety
        if safety.unsafe_mask(champion[None], content if safety.needs_content else None)[0]:
            return []
        candidates, latents = self._comparable(model, n, n_ratings, sampler, rng)
        shell = float(np.sqrt(len(champion)))
        near = neighbours(model, champion, NEIGHBOURS, NEIGHBOUR_STEPS * shell, shell, rng)
        near = self.engine.generator.project(near)  # a custom generator's latent domain
        contents = self._contents(near) if safety.needs_content else None
        safe = np.flatnonzero(~safety.unsafe_mask(near, contents))
        candidates = candidates + [
            Item(new_item_id(), near[i], None if contents is None else contents[i]) for i in safe
        ]
        latents = np.vstack([latents.reshape(-1, len(champion)), near[safe]])
        other = np.flatnonzero(np.any(latents != champion, axis=1))
        if not len(other):
            return []
        per_card = DUEL_CARD - 1
        again = self._rematches(champion, n, standings)
        rows = other[challengers(model, champion, latents[other], n * per_card - len(again))]
        rivals = [
            Item(new_item_id(), latent, made, "challenger")
            for latent, made in zip(again, self._contents(again), strict=True)
        ]
        self.engine.storage.put_items(self.user_id, rivals)
        rivals += self._take(candidates, rows.tolist(), ["challenger"] * len(rows))
        return self._choice_cards(champion, content[0], rivals, rng)

    def _choice_cards(
        self, champion: np.ndarray, content: Any, rivals: list[Item], rng: np.random.Generator
    ) -> list[tuple[Item, ...]]:
        """Cards of the champion (d,) shown again (source "champion", its `content`) beside up
        to `DUEL_CARD - 1` of the stored `rivals` each, in random order; the champion's items
        are stored as served."""
        per_card = DUEL_CARD - 1
        cards: list[tuple[Item, ...]] = []
        for start in range(0, len(rivals), per_card):
            card = [
                Item(new_item_id(), champion, content, "champion"),
                *rivals[start : start + per_card],
            ]
            self.engine.storage.put_items(self.user_id, card[:1])
            cards.append(tuple(card[i] for i in rng.permutation(len(card))))
        return cards

    def _rematches(self, champion: np.ndarray, n: int, standings: Standings) -> np.ndarray:
        """(r, d) items the user rated positively before, to pit against the champion (d,)
        again: up to `REMATCHES` (at most n - 1) whose chance of being better than it is at
        least `REMATCH_CHANCE` under `standings`, the belief from every comparison
        (`Grounding.standings`, `plgl.samplers.incumbent.rematches`), outside the never-show
        region.

        Two faces the user chose on different cards were never set against each other, and
        one answer can be wrong: the champion of a batch's crowd is the experts' guess among
        challengers that all beat the same favourite, and an old champion can lose a duel it
        should have won. A rematch lets the user's own answer settle it."""
        if REMATCHES == 0 or n < 2:  # a lone card brings something new
            return np.empty((0, len(champion)))
        positives, mean, cov = standings
        best = np.flatnonzero(np.all(positives == champion, axis=1))
        if not len(best):
            return np.empty((0, len(champion)))
        rows = rematches(mean, cov, int(best[0]), min(REMATCHES, n - 1), REMATCH_CHANCE)
        found = positives[rows]
        safety = self.engine.safety
        contents = self._contents(found) if safety.needs_content else None
        return np.asarray(found[~safety.unsafe_mask(found, contents)])

    def _duels(
        self, model: BasePreferenceModel, n: int, n_ratings: int, rng: np.random.Generator
    ) -> list[tuple[Item, ...]]:
        """Up to `duels_due(n, ...)` champion duels (`plgl.duels`), served: the champion shown
        again (source "champion") beside up to `DUEL_CARD - 1` challengers ("challenger": a
        rival or a latent made near it), in random order; none before anything was rated
        positively, nor where the never-show region takes the champion or the challengers."""
        due = duels_due(n, rng, n_ratings, str(getattr(self.engine.generator, "name", "")))
        if not due:
            return []
        champion, challengers = duel(self.grounding, model, due * (DUEL_CARD - 1), n_ratings, rng)
        if champion is None or not len(challengers):
            return []
        both = np.vstack([champion, challengers])
        contents = self._contents(both)
        safety = self.engine.safety
        safe = ~safety.unsafe_mask(both, contents if safety.needs_content else None)
        if not safe[0]:
            return []
        rivals = [
            Item(new_item_id(), both[i], contents[i], "challenger")
            for i in np.flatnonzero(safe[1:]) + 1
        ]
        self.engine.storage.put_items(self.user_id, rivals)
        return self._choice_cards(champion, contents[0], rivals, rng)
