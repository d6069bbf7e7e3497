"""The champion of a user's duels, replayed from their events (`plgl.duels` makes the duels).

The champion is derived from the stored events alone (replays agree): a comparison is a duel
when one of its items was rated positively before (liked, or chosen in a comparison); the first
duel's winner becomes the champion, and later a duel's winner does when the loser is (or was)
the champion. Until the first duel the best positively rated item stands in for it
(`plgl.grounding.Grounding.champion`).

A batch holds several duels against one champion, answered in an order of no meaning (the
cards are shuffled). Where several challengers beat it, they are the `Ladder.crowd`, and the
champion is the one the content judge rates best (`plgl.grounding.Grounding.champion`), not
the one answered last: on the `swipers` suite's faces two or more challengers beat the
champion in two batches of duels in three, and the last of them was not the best in 59% of
those, 0.075 below it on average (normalized utility; For-you then rose by 0.05 to 0.07 at 60
and 100 answers, docs/learning.md). The crowd is one item again once its crowned member wins a
duel. Its other members stay rivals of the champion (`plgl.duels.rivals`) until they lose a
duel: they beat the same champion as the crowned one and only the judge set them apart. On 12
of the `swipers` suite's melodies, in 7 of the 9 runs whose champion was below the favourite at
100 answers the favourite had beaten a champion and lost no duel (docs/learning.md, "A crowd
member meets the crowned one").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from plgl.navigation.anchors import latent_key

SHRINK = 0.7
"""The duel radius is multiplied by this for each duel the champion has won in a row (a
failed step is a sign the next one should be smaller), down to `SHRINK ** MAX_SHRINK`."""
MAX_SHRINK = 4


class Ladder:
    """The champion, replayed from a user's events in the order they were stored.

    Attributes:
        champion: (d,) latent of the latest duel's winner (or of the crowd's member that last
            defended), None before the first duel.
        crowd: (d,) latents of the challengers that beat the same champion since it lost its
            first duel of the batch, oldest first (one item outside such a batch); the
            champion is the best of them by the content judge (`plgl.grounding`).
        defences: duels the champion has won since it became champion.
        positives: (d,) latents rated positively (liked, or chosen in a comparison), each once,
            oldest first.
        compared: (winner, loser) latents of every comparison, oldest first.
    """

    def __init__(self) -> None:
        self.champion: np.ndarray | None = None
        self.crowd: list[np.ndarray] = []
        self.defences = 0
        self.positives: list[np.ndarray] = []
        self.compared: list[tuple[np.ndarray, np.ndarray]] = []
        self._positive: set[bytes] = set()
        self._champions: set[bytes] = set()  # every latent that has been champion
        self._lost: set[bytes] = set()  # every latent that lost a duel
        self._dethroned: bytes | None = None  # the champion the crowd beat

    def liked(self, latent: np.ndarray) -> None:
        """Note a like of `latent` (d,)."""
        self._add(latent)

    def chose(self, winner: np.ndarray, loser: np.ndarray) -> None:
        """Note that `winner` (d,) was preferred over `loser` (d,). A duel's winner becomes the
        champion where there was none or the loser has been champion; where the loser is the
        champion that an earlier winner beat, the winner joins the `crowd` (a batch holds
        several duels against the champion it was made for). A member of the crowd that wins
        a duel against another item defends: it alone is the crowd and the champion."""
        won, lost = key(winner), key(loser)
        self.compared.append((np.asarray(winner), np.asarray(loser)))
        crowd = {key(z) for z in self.crowd}
        if won in self._positive or lost in self._positive:  # a duel
            self._lost.add(lost)
            if won in crowd and lost not in crowd:
                self._defend(winner, won)
            elif self.champion is None or lost in self._champions:
                again = lost == self._dethroned and won not in crowd
                self.crowd = [*self.crowd, np.asarray(winner)] if again else [np.asarray(winner)]
                self._dethroned = lost
                self.champion, self.defences = np.array(winner, dtype=np.float64), 0
                self._champions |= {won, lost}
        self._add(winner)

    def chose_among(self, winner: np.ndarray, losers: Sequence[np.ndarray]) -> None:
        """Note that `winner` (d,) was chosen over each of `losers` (d,) shown with it (a duel
        card of several challengers): one `chose` per loser, those that have been champion
        last, so that a challenger that beats the champion takes over with no defence counted
        against the others on its card."""
        order = sorted(range(len(losers)), key=lambda i: key(losers[i]) in self._champions)
        for i in order:
            self.chose(winner, losers[i])

    def _defend(self, winner: np.ndarray, won: bytes) -> None:
        if self.champion is None or won != key(self.champion):
            self.champion, self.defences = np.array(winner, dtype=np.float64), 0
        self.defences += 1
        self.crowd = [self.champion]

    def is_positive(self, latent: np.ndarray) -> bool:
        """Whether `latent` (d,) was liked or chosen."""
        return key(latent) in self._positive

    def contenders(self) -> list[np.ndarray]:
        """(d,) positively rated latents that never lost a duel, oldest first (the champion
        among them): each may be better than the champion, which only a duel can tell. Those
        that never dueled, and the members of a `crowd` the judge did not crown: they beat the
        same champion as the crowned one but never met it."""
        return [z for z in self.positives if key(z) not in self._lost]

    def radius(self, full: float) -> float:
        """The challengers' radius: `full` shrunk by the champion's defences in a row."""
        return full * SHRINK ** min(self.defences, MAX_SHRINK)

    def _add(self, latent: np.ndarray) -> None:
        found = key(latent)
        if found not in self._positive:
            self._positive.add(found)
            self.positives.append(np.asarray(latent, dtype=np.float64))


def key(latent: np.ndarray) -> bytes:
    """A hashable key equal for equal latents (d,): a 16-byte digest of their float64 bytes
    (`plgl.navigation.anchors.latent_key`), not the 800 bytes themselves, as a ladder keeps
    several per answer."""
    return latent_key(latent)
