"""The feed: the next items to show, ratings, and which-of-two and which-of-several answers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from plgl.duels import DUEL_CARD
from plgl.samplers.cards import SWIPES_PER_PAIR
from plgl.server.deps import ServicesDep, SessionDep, SettingsDep
from plgl.server.errors import ERROR_RESPONSES
from plgl.server.lanes import HEAVY
from plgl.server.quotas import GenerationsDep, RatingsDep, RoomDep
from plgl.server.schemas import (
    CardOut,
    CardsOut,
    CompareIn,
    EventOut,
    FeedbackIn,
    ItemsOut,
    item_out,
)

router = APIRouter(prefix="/api", tags=["feed"], responses=ERROR_RESPONSES)
_CARD_KINDS: dict[int, Literal["swipe", "pair"]] = {1: "swipe", 2: "pair"}  # more: "choice"


@router.post("/feed", response_model=ItemsOut, dependencies=[HEAVY])
def next_items(
    allowance: GenerationsDep,  # first: a flood is refused before its session loads
    session: SessionDep,
    services: ServicesDep,
    room: RoomDep,
    n: Annotated[int, Query(ge=1, le=50)] = 10,
) -> ItemsOut:
    """The next `n` items: mostly likely likes, some that teach the model most.

    A user holds at most `max_unrated_items` shown-but-unrated items: the oldest of those
    expire (they can no longer be rated) to make room for new ones.
    """
    with allowance.refund_on_error():
        n = room.make(n)
        items = session.ask(n)
    return ItemsOut(items=[item_out(item, services.engine.cache) for item in items])


@router.post("/cards", response_model=CardsOut, dependencies=[HEAVY])
def next_cards(
    allowance: GenerationsDep,  # first: a flood is refused before its session loads
    session: SessionDep,
    services: ServicesDep,
    settings: SettingsDep,
    room: RoomDep,
    n: Annotated[int, Query(ge=1, le=50)] = 5,
) -> CardsOut:
    """The next `n` cards of the swipe feed: one item to rate; or, where a comparison teaches
    more than a swipe, two likely likes to choose between; or, once the user has liked
    something, a choice card: their champion and challengers made near it, of which they say
    which they like most (unless pair cards are off: swipes only).

    A user holds at most `max_unrated_items` shown-but-unrated items: the oldest of those
    expire to make room. A card may hold up to four items, so room for fewer than four gives
    swipe cards only, and room for `k` items at most `k // 4` cards; swipes only, a card
    needs room for one item.
    """
    with allowance.refund_on_error():
        space = room.make(DUEL_CARD * n if settings.pair_cards else n)
        several = settings.pair_cards and space >= DUEL_CARD
        swipes = SWIPES_PER_PAIR if several else None
        # Every card may be a choice card: the cap holds whatever the feed makes.
        count = space // DUEL_CARD if several else min(n, space)
        cards = session.next_cards(count, swipes=swipes)
    return CardsOut(
        cards=[
            CardOut(
                kind=_CARD_KINDS.get(len(card), "choice"),
                items=[item_out(item, services.engine.cache) for item in card],
            )
            for card in cards
        ]
    )


@router.post("/pair", response_model=ItemsOut, dependencies=[HEAVY])
def next_pair(
    allowance: GenerationsDep, session: SessionDep, services: ServicesDep, room: RoomDep
) -> ItemsOut:
    """The two items whose comparison teaches most now, both likely liked (likelier first).

    The user's oldest shown-but-unrated items expire to make room for them (see `/feed`).
    """
    with allowance.refund_on_error():
        room.make(2, cap=max(2, room.cap))
        items = list(session.ask_pair())
    return ItemsOut(items=[item_out(item, services.engine.cache) for item in items])


@router.post("/feedback", response_model=EventOut)
def feedback(body: FeedbackIn, session: SessionDep, allowance: RatingsDep) -> EventOut:
    """Rate a shown item. Retrying with the same `event_id` changes nothing (safe to resend)."""
    with allowance.spend():
        event = session.tell(
            body.item_id, body.signal, body.dwell_seconds, body.event_id, body.criterion
        )
    return EventOut(event=event.to_dict(), ratings=session.n_learned)


@router.post("/compare", response_model=EventOut)
def compare(body: CompareIn, session: SessionDep, allowance: RatingsDep) -> EventOut:
    """Say which of two shown items the user prefers (a pair card, "Which of two"), or which
    of a choice card's items they like most: `preferred_id` the chosen one, `other_id` and
    `others` the rest. One answer is one event (echoed with "others" when given); retrying
    with the same `event_id` changes nothing."""
    with allowance.spend():
        event = session.choose(
            body.preferred_id, [body.other_id, *body.others], body.event_id, body.criterion
        )
    return EventOut(event=event.to_dict(), ratings=session.n_learned)
