"""The feed: the next items to show, ratings and which-of-two answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from plgl.samplers.cards import SWIPES_PER_PAIR
from plgl.server.deps import ServicesDep, SessionDep, SettingsDep, rating_allowance
from plgl.server.errors import ERROR_RESPONSES
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


@router.post("/feed", response_model=ItemsOut)
def next_items(
    session: SessionDep, services: ServicesDep, n: Annotated[int, Query(ge=1, le=50)] = 10
) -> ItemsOut:
    """The next `n` items: mostly likely likes, some that teach the model most."""
    return ItemsOut(items=[item_out(item, services.generator) for item in session.ask(n)])


@router.post("/cards", response_model=CardsOut)
def next_cards(
    session: SessionDep,
    services: ServicesDep,
    settings: SettingsDep,
    n: Annotated[int, Query(ge=1, le=50)] = 5,
) -> CardsOut:
    """The next `n` cards of the swipe feed: one item to rate, or, where a comparison teaches
    more than a swipe, two likely likes to choose between (unless pair cards are off)."""
    swipes = SWIPES_PER_PAIR if settings.pair_cards else None
    cards = [
        CardOut(
            kind="swipe" if len(card) == 1 else "pair",
            items=[item_out(item, services.generator) for item in card],
        )
        for card in session.next_cards(n, swipes=swipes)
    ]
    return CardsOut(cards=cards)


@router.post("/pair", response_model=ItemsOut)
def next_pair(session: SessionDep, services: ServicesDep) -> ItemsOut:
    """The two items whose comparison teaches most now, both likely liked (likelier first)."""
    return ItemsOut(items=[item_out(item, services.generator) for item in session.ask_pair()])


@router.post("/feedback", response_model=EventOut, dependencies=[Depends(rating_allowance)])
def feedback(body: FeedbackIn, session: SessionDep) -> EventOut:
    """Rate a shown item. Retrying with the same `event_id` changes nothing (safe to resend)."""
    event = session.tell(
        body.item_id, body.signal, body.dwell_seconds, body.event_id, body.criterion
    )
    return EventOut(event=event.to_dict(), ratings=session.n_ratings)


@router.post("/compare", response_model=EventOut, dependencies=[Depends(rating_allowance)])
def compare(body: CompareIn, session: SessionDep) -> EventOut:
    """Say which of two shown items the user prefers."""
    event = session.compare(body.preferred_id, body.other_id, body.event_id, body.criterion)
    return EventOut(event=event.to_dict(), ratings=session.n_ratings)
