"""What For-you makes: new content near the champion, kept only where it differs from what
the user was shown.

A method group of `plgl.grounding.Grounding` (which inherits it), kept apart so that the
grounding file holds the evidence, the champion and the modes. It declares the state it uses;
`Grounding.__init__` sets it.

Where nothing new is predicted better than the champion, For-you shows a variation on it
(`Making._variation`: the content judge's best latent within `VARIATION` of the least trust
radius); the "judged" mode looks within `JUDGED_RADIUS` of the trust radius for latents the judge
rates above the champion (`Making._judged`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plgl.duels import CANDIDATES
from plgl.ladder import Ladder, key
from plgl.navigation import (
    ContentJudge,
    farthest_points,
    liked_order,
    trust_candidates,
    trust_radius,
)

if TYPE_CHECKING:
    from plgl.engine import Engine

JUDGED_RADIUS = 0.25
"""Share of the trust radius that "judged" searches: near the favourite, where the judge's
view of the content still holds."""
VARIATION = 0.2
"""Share of the least trust radius within which For-you makes a variation on the champion."""
_VARIATIONS = 8  # best-judged variations decoded to find one whose content is new
_WIDENINGS = 3  # radii tried for a variation, each twice the last
_JUDGED_CANDIDATES = 256  # candidates the judge looks at per call (perceptual maps are costly)


class Making:
    """New latents near the champion, judged by the content judge, whose content is new to the
    user; and why each pick For-you shows is there."""

    engine: Engine
    user_id: str
    mode: str
    judge: ContentJudge | None
    ladder: Ladder
    _made: dict[bytes, bytes]  # latent key -> content key, of shown latents

    def pairs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The user's comparisons as (winners (p, d), losers (p, d)), None before the first."""
        if not self.ladder.compared:
            return None
        won, lost = zip(*self.ladder.compared, strict=True)
        return np.array(won), np.array(lost)

    def _variation(
        self,
        model: Any,
        rated: np.ndarray,
        labels: np.ndarray,
        champion: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray | None:
        """(1, d) new content made close to the champion (d,): the content judge's best of the
        latents within `VARIATION` of the least trust radius (twice, four times that where
        every one decodes to content the user was already shown), of content other than
        anything the user rated or compared; None where none is found. What For-you shows
        when nothing new is predicted better: a variation on the user's favourite, not the
        favourite again.

        The latents looked at are steps along the posterior's taste directions
        (`trust_candidates`) and, in the "judged" mode, steps in random directions too, as
        TuRBO samples its trust region (Eriksson et al. 2019): a decoder whose content jumps
        (a molecule's tokens) makes few distinct items along a handful of lines."""
        assert self.judge is not None
        generator = self.engine.generator
        radius = VARIATION * trust_radius(len(champion), 0.0)
        looked_at = _JUDGED_CANDIDATES if self.mode == "judged" else CANDIDATES  # faces: costly
        shown = self.shown(rated, champion)
        for _ in range(_WIDENINGS):  # a decoder that jumps may need a longer step
            pool = trust_candidates(model, champion[None], generator, rng, radius)
            if self.mode == "judged":  # content that jumps: few distinct items along the lines
                pool = np.vstack([pool, _around(champion, radius, len(pool), generator, rng)])
            pool = pool[rng.permutation(len(pool))[:looked_at]]
            _, judged = self.judge.compare(rated, labels, pool, self.pairs())
            ranked = pool[np.argsort(-judged, kind="stable")][:_VARIATIONS]
            kept = self.distinct(ranked, shown)
            if len(kept):
                return np.asarray(ranked[kept[:1]])
            radius *= 2.0
        return None

    def shown(self, rated: np.ndarray, champion: np.ndarray) -> np.ndarray:
        """(k, d) the champion (d,), then every latent the user rated (n, d) or compared,
        each once: content that For-you's new picks must differ from."""
        compared = [latent for pair in self.ladder.compared for latent in pair]
        latents = np.vstack([champion[None], rated, *(z[None] for z in compared)])
        _, first = np.unique(latents, axis=0, return_index=True)
        return np.asarray(latents[np.sort(first)])

    def _judged(
        self,
        model: Any,
        rated: np.ndarray,
        labels: np.ndarray,
        scores: np.ndarray,
        champion: np.ndarray,
        n: int,
        rng: np.random.Generator,
        sure: float,
    ) -> np.ndarray:
        """(n, d): latents near the champion (d,) that the judge rates above it, best first;
        the champion and the next best liked items fill the rest."""
        assert self.judge is not None
        order = liked_order(model, rated, labels, scores)
        radius = JUDGED_RADIUS * trust_radius(rated.shape[1], sure)
        generator = self.engine.generator
        pool = trust_candidates(model, champion[None], generator, rng, radius)
        pool = pool[rng.permutation(len(pool))[:_JUDGED_CANDIDATES]]
        _, judged = self.judge.compare(rated, labels, np.vstack([champion, pool]), self.pairs())
        better = judged[1:] > judged[0]
        ranked = pool[better][np.argsort(-judged[1:][better], kind="stable")][: 4 * n]
        picks = ranked[self.distinct(ranked, self.shown(rated, champion))]
        picks = picks[farthest_points(picks, n)] if len(picks) else picks
        if len(picks) >= n:
            return np.asarray(picks)
        return np.vstack([picks, _without(np.vstack([champion, rated[order]]), champion)])[:n]

    def _sources(
        self, picks: np.ndarray, rated: np.ndarray, champion: np.ndarray | None
    ) -> list[str]:
        """Why each pick is shown: "favourite" (the champion), "liked" (another item the user
        rated or compared) or "recommend" (new content)."""
        known = {key(latent) for latent in rated}
        known |= {key(latent) for pair in self.ladder.compared for latent in pair}
        favourite = None if champion is None else key(champion)
        out = []
        for pick in picks:
            found = key(pick)
            out.append(
                "favourite" if found == favourite else "liked" if found in known else "recommend"
            )
        return out

    def distinct(self, latents: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Indices of the latents (m, d) whose content differs from that of `known` (k, d) and
        of the latents before them: a step in the latent of a decoder that jumps often lands on
        the same item."""
        generator = self.engine.generator
        todo = [z for z in known if key(z) not in self._made]
        if todo:  # once per session, from the content cache: they were shown, so made before
            made = self.engine.cache.contents(np.array(todo), self.user_id)
            self._made.update(
                (key(z), generator.content_key(c)) for z, c in zip(todo, made, strict=True)
            )
        seen = {self._made[key(z)] for z in known}
        keep = []
        for i, content in enumerate(generator.generate(latents) if len(latents) else []):
            found = generator.content_key(content)
            if found not in seen:
                seen.add(found)
                keep.append(i)
        return np.array(keep, dtype=int)


def _around(
    center: np.ndarray, radius: float, n: int, generator: Any, rng: np.random.Generator
) -> np.ndarray:
    """(n, d) shell latents a uniform step in (0, radius] from `center` (d,) in uniformly
    random directions."""
    directions = rng.standard_normal((n, len(center)))
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    steps = radius * (1.0 - rng.random(n))
    return np.asarray(generator.project(center + steps[:, None] * directions))


def _without(latents: np.ndarray, first: np.ndarray) -> np.ndarray:
    """`latents` (k, d) whose first row is `first`, with later copies of it left out."""
    again = np.all(latents[1:] == first, axis=1)
    return np.asarray(np.vstack([latents[:1], latents[1:][~again]]))
