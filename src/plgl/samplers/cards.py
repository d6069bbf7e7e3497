"""The cards of a feed: swipes, and pair cards where a comparison teaches more than swipes.

A card is one answer: a like or dislike of one item, or "which of these two?". `plan_cards`
chooses the next n cards among candidate latents: pair cards first, one after another, each the
most informative watchable pair (`plgl.samplers.pairs.best_pair`; among the likeliest items when
none is watchable, as for a new user) given the answers expected to the pairs before it (the
covariance is conditioned as if each had been answered, so a batch never asks one question
twice), for as long as the next pair teaches more than `swipes` swipes would and watchable items
are left; then swipes chosen by the sampler among the candidates left, as a swipe feed chooses
them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plgl.errors import InvalidInputError
from plgl.samplers._base import BaseSampler
from plgl.samplers.pairs import (
    WATCHABLE,
    answered_covariance,
    beliefs,
    best_pair,
    liked_probability,
)

SWIPES_PER_PAIR = 1
"""A pair card is shown when its comparison teaches more than this many swipes would. One: a
comparison is one answer, like a swipe. With two, pair cards come only once the taste is mostly
learned, and the feed learns no faster than swipes alone (`plgl bench --suite pairs`, method
"feed-two-swipes")."""

MIN_LIKE = WATCHABLE
"""Both items of a pair card are predicted liked at least this often."""


LEARNED = 0.8
"""Confidence (`plgl.models.confidence`) from which the feed keeps some swipes in every batch."""

SWIPE_SHARE = 0.2
"""Once the taste is learned, each card is a swipe at least this often: comparisons never teach
the like threshold, and without it "likely liked" drifts (pairs only, with pair items at 0.7: the
like-rate of the d = 16 feed fell to 0.56 after 120 answers; with this share, 0.80, and learning
as fast; with pair items at 0.8 as now, 0.83: `plgl bench --suite pairs`)."""


def swipes_due(confidence: float, n: int, rng: np.random.Generator) -> int:
    """How many of the next `n` cards must be swipes: none while the taste is being learned
    (comparisons teach it faster), about `SWIPE_SHARE` of them once `confidence` >= `LEARNED`."""
    return int(rng.binomial(n, SWIPE_SHARE)) if confidence >= LEARNED else 0


def plan_cards(
    model: Any,
    latents: np.ndarray,
    n: int,
    sampler: BaseSampler,
    rng: np.random.Generator,
    *,
    swipes: int = SWIPES_PER_PAIR,
    min_like: float = MIN_LIKE,
    min_swipes: int = 0,
) -> list[tuple[list[int], str]]:
    """The next `n` cards among candidate latents: each its rows (one: a swipe, two: a pair,
    the likelier liked first) and why it is shown ("pair", or the sampler's "exploit" and
    "explore"), in showing order.

    Args:
        model: the user's preference model.
        latents: (m, d) candidate latents.
        n: how many cards, >= 1.
        sampler: chooses the swipes (`BaseSampler.select`).
        rng: the session's stream.
        swipes: a pair card must teach more than this many swipes, >= 0 (0: every card is a
            pair while two candidates are left).
        min_like: the least predicted like-probability of an item of a pair card.
        min_swipes: how many of the n cards are swipes at least (they teach the like threshold,
            which comparisons never do).

    Returns:
        Up to n cards (fewer only when the candidates run out).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(swipes, bool) or not isinstance(swipes, int) or swipes < 0:
        raise InvalidInputError(f"swipes must be an integer >= 0, got {swipes!r}")
    cards: list[tuple[list[int], str]] = []
    allowed = np.ones(len(latents), dtype=bool)
    if len(latents) >= 2:
        mean, cov, nuisance = beliefs(model, latents)
        likely = liked_probability(mean, np.diag(cov))  # as the model predicts it now
        # Watchable as the model predicts now, not as the conditioned belief of a batch would.
        watchable = likely >= min_like
        while len(cards) < n - min_swipes and allowed.sum() >= 2:
            if (allowed & watchable).sum() >= 2:
                choice = best_pair(
                    mean, cov, 0.0, nuisance=nuisance, swipes=swipes, allowed=allowed & watchable
                )
            elif watchable.sum() < 2:  # none watchable at all (a new user): the two likeliest
                choice = best_pair(
                    mean, cov, min_like, nuisance=nuisance, swipes=swipes, allowed=allowed
                )
            else:  # the batch used up the likely likes
                break
            if swipes and not choice.worth_it:
                break
            first, second = choice.first, choice.second
            if likely[second] > likely[first]:  # the conditioned belief may order them apart
                first, second = second, first
            cards.append(([first, second], "pair"))
            allowed[[first, second]] = False
            cov = answered_covariance(mean, cov, first, second)
    rest = min(n - len(cards), int(allowed.sum()))
    if rest > 0:
        rows = np.flatnonzero(allowed)
        picks, sources = sampler.select(model, latents[rows], rest, rng)
        cards += [([int(rows[i])], s) for i, s in zip(picks, sources, strict=True)]
    order = rng.permutation(len(cards))
    return [cards[i] for i in order]
