"""The card loop of the benchmark: a simulated user answers the feed's cards (a like or dislike of
one item, or which of two or more items it prefers), and the recommendation is scored after every
answer.

A card is one answer, whatever it shows. The like-rate of a card is the user's probability of
liking what it shows (the mean over both items of a pair): what watching the feed feels like,
measured the same way for swipes and pair cards (the expectation, so pair cards need no hidden
like draws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from plgl.bench.users import SimulatedUser

if TYPE_CHECKING:
    from plgl.engine import Engine
    from plgl.records import Item
    from plgl.session import Session


@dataclass
class CardCurve:
    """Per answer: normalized utility of recommendation #1 (`best`), the like-rate of the card
    answered (`like_rate`) and whether it was a pair card (`pair`)."""

    best: list[float] = field(default_factory=list)
    like_rate: list[float] = field(default_factory=list)
    pair: list[bool] = field(default_factory=list)

    def answers_to(self, level: float) -> int | None:
        """The first number of answers after which recommendation #1 reached `level`, or None.

        >>> CardCurve([0.5, 0.95], [0.5, 0.6], [False, True]).answers_to(0.9)
        2
        """
        return next((i + 1 for i, value in enumerate(self.best) if value >= level), None)

    def like_rate_until(self, answers: int | None, last: int | None = None) -> float:
        """Mean like-rate of the cards answered up to `answers` (None: all of them), or of the
        `last` of those only.

        >>> CardCurve([0.1, 0.2, 0.3], [0.2, 0.4, 0.9], [False] * 3).like_rate_until(2, last=1)
        0.4
        """
        stop = len(self.like_rate) if answers is None else answers
        start = 0 if last is None else max(stop - last, 0)
        return float(np.mean(self.like_rate[start:stop]))


def run_cards(
    engine: Engine,
    user: SimulatedUser,
    n_answers: int,
    batch: int,
    seed: int,
    *,
    swipes: int | None,
    user_id: str = "simulated",
) -> CardCurve:
    """Let `user` answer `n_answers` cards of `engine`'s feed, `batch` cards per request.

    Args:
        engine: serves the feed.
        user: answers likes (`user.likes`) and comparisons (`user.prefers`) with the noise stream
            `default_rng(20_000 + seed)`, as the other suites' users do.
        n_answers: how many cards are answered.
        batch: cards per request (`Session.next_cards(batch)`; `Session.ask(batch)` for swipes).
        seed: the user's seed.
        swipes: a pair card is shown when it teaches more than this many swipes; None: the feed
            of swipes only (`Session.ask`).
        user_id: the simulated user's id.
    """
    rng = np.random.default_rng(20_000 + seed)
    session = engine.session(user_id)
    curve = CardCurve()
    while len(curve.best) < n_answers:
        want = min(batch, n_answers - len(curve.best))
        cards: list[tuple[Item, ...]]
        if swipes is None:
            cards = [(item,) for item in session.ask(want)]
        else:
            cards = session.next_cards(want, swipes=swipes)
        for card in cards:
            answer(session, user, card, rng)
            latents = np.array([item.latent for item in card])
            top = session.recommend(1)[0].latent
            curve.best.append(float(user.normalized(top[None, :])[0]))
            curve.like_rate.append(float(np.mean(user.like_probability(latents))))
            curve.pair.append(len(card) >= 2)
    return curve


def answer(
    session: Session, user: SimulatedUser, card: tuple[Item, ...], rng: np.random.Generator
) -> np.ndarray | None:
    """Answer one card as `user` (a like or dislike of one item; of two, the one it prefers,
    by the same noise model; of more, the one it chooses, Luce's model with that noise): the
    latent (d,) it rated positively, if any."""
    if len(card) == 1:
        liked = bool(user.likes(card[0].latent[None], rng)[0])
        session.tell(card[0].id, "like" if liked else "dislike")
        return card[0].latent if liked else None
    if len(card) > 2:
        chosen = user.chooses(np.array([item.latent for item in card]), rng)
        session.choose(card[chosen].id, [item.id for item in card if item is not card[chosen]])
        return card[chosen].latent
    first, second = card
    if not user.prefers(first.latent[None], second.latent[None], rng)[0]:
        first, second = second, first
    session.compare(first.id, second.id)
    return first.latent
