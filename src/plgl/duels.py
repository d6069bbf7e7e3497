"""Champion duels: the user's own comparisons find their favourite, and climb from it.

From likes and dislikes alone neither a latent model nor a content judge can tell which of
thirty liked items is the best. A comparison can: once the user has liked something, some
pair cards of the feed (`plgl.feed.Feed.cards`) pit the champion (the best liked item, as the
user's comparisons found it) against a challenger made for the user near it. The winner is the
champion. This is the dueling-bandit hill climb of Yue & Joachims (2009, "Interactively
optimizing information retrieval systems as a dueling bandits problem"): a candidate near the
current point, kept when the user prefers it; here the candidate is not a random step but the
best the posterior and the content judge see within a trust region, and the region shrinks
while the champion keeps winning (as TuRBO's does after failures, Eriksson et al. 2019).

The champion is derived from the stored events alone (replays agree): a comparison is a duel
when one of its items was rated positively before (liked, or chosen in a comparison); the first
duel's winner becomes the champion, and later a duel's winner does when the loser is (or was)
the champion. Until the first duel the best positively rated item stands in for it
(`plgl.grounding.Grounding.champion`).
"""

from __future__ import annotations

import numpy as np

DUEL_SHARE = 0.5
"""Share of the cards of a feed batch that are champion duels, once the user has a like."""
DUEL_RADIUS = 0.25
"""Share of the trust radius (`plgl.navigation.trust_radius`) within which a challenger is
made: near the champion, where the judge's and the posterior's view of the content holds."""
SHRINK = 0.7
"""The duel radius is multiplied by this for each duel the champion has won in a row (a
failed step is a sign the next one should be smaller), down to `SHRINK ** MAX_SHRINK`."""
MAX_SHRINK = 4


def duels_due(n: int, rng: np.random.Generator, share: float = DUEL_SHARE) -> int:
    """How many of the next `n` cards are champion duels (binomial: a batch of one card may
    be a duel too)."""
    return int(rng.binomial(n, share))


class Ladder:
    """The champion, replayed from a user's events in the order they were stored.

    Attributes:
        champion: (d,) latent of the champion, None before the first duel.
        defences: duels the champion has won since it became champion.
        positives: (d,) latents rated positively (liked, or chosen in a comparison), each once,
            oldest first.
        compared: (winner, loser) latents of every comparison, oldest first.
    """

    def __init__(self) -> None:
        self.champion: np.ndarray | None = None
        self.defences = 0
        self.positives: list[np.ndarray] = []
        self.compared: list[tuple[np.ndarray, np.ndarray]] = []
        self._positive: set[bytes] = set()
        self._champions: set[bytes] = set()  # every latent that has been champion
        self._met: set[bytes] = set()  # every latent that took part in a duel

    def liked(self, latent: np.ndarray) -> None:
        """Note a like of `latent` (d,)."""
        self._add(latent)

    def chose(self, winner: np.ndarray, loser: np.ndarray) -> None:
        """Note that `winner` (d,) was preferred over `loser` (d,). A duel's winner becomes the
        champion where there was none or the loser has been champion (a batch may hold several
        duels against the champion it was made for; the latest win counts)."""
        won, lost = key(winner), key(loser)
        self.compared.append((np.asarray(winner), np.asarray(loser)))
        if won in self._positive or lost in self._positive:  # a duel
            self._met |= {won, lost}
            if self.champion is None or lost in self._champions:
                if self.champion is not None and won == key(self.champion):
                    self.defences += 1
                else:
                    self.champion, self.defences = np.array(winner, dtype=np.float64), 0
                    self._champions |= {won, lost}
            elif won == key(self.champion):
                self.defences += 1
        self._add(winner)

    def is_positive(self, latent: np.ndarray) -> bool:
        """Whether `latent` (d,) was liked or chosen."""
        return key(latent) in self._positive

    def contenders(self) -> list[np.ndarray]:
        """(d,) positively rated latents that never took part in a duel, oldest first: each
        may be better than the champion, which only a duel can tell."""
        return [z for z in self.positives if key(z) not in self._met]

    def radius(self, full: float) -> float:
        """The challengers' radius: `full` shrunk by the champion's defences in a row."""
        return full * SHRINK ** min(self.defences, MAX_SHRINK)

    def _add(self, latent: np.ndarray) -> None:
        found = key(latent)
        if found not in self._positive:
            self._positive.add(found)
            self.positives.append(np.asarray(latent, dtype=np.float64))


def key(latent: np.ndarray) -> bytes:
    """A hashable key equal for equal latents (float64 bytes)."""
    return np.asarray(latent, dtype=np.float64).tobytes()
