"""The feed: the next items to show, ratings and which-of-two answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from plgl.records import Item
from plgl.samplers.cards import SWIPES_PER_PAIR
from plgl.server.deps import Services, ServicesDep, SessionDep, SettingsDep
from plgl.server.errors import ERROR_RESPONSES
from plgl.server.quotas import GenerationsDep, RatingsDep, serve_items, unrated_items
from plgl.server.schemas import (
    CardOut,
    CardsOut,
    CompareIn,
    EventOut,
    FeedbackIn,
    ItemsOut,
    item_out,
)
from plgl.server.settings import Settings
from plgl.session import Session

router = APIRouter(prefix="/api", tags=["feed"], responses=ERROR_RESPONSES)


@router.post("/feed", response_model=ItemsOut)
def next_items(
    allowance: GenerationsDep,  # first: a flood is refused before its session loads
    session: SessionDep,
    services: ServicesDep,
    settings: SettingsDep,
    n: Annotated[int, Query(ge=1, le=50)] = 10,
) -> ItemsOut:
    """The next `n` items: mostly likely likes, some that teach the model most.

    A user holding `max_unrated_items` shown-but-unrated items gets the oldest of those again.
    """
    with allowance.refund_on_error():
        items = serve_items(session, services, n, settings.max_unrated_items)
    return ItemsOut(items=[item_out(item, services.generator) for item in items])


@router.post("/cards", response_model=CardsOut)
def next_cards(
    allowance: GenerationsDep,  # first: a flood is refused before its session loads
    session: SessionDep,
    services: ServicesDep,
    settings: SettingsDep,
    n: Annotated[int, Query(ge=1, le=50)] = 5,
) -> CardsOut:
    """The next `n` cards of the swipe feed: one item to rate, or, where a comparison teaches
    more than a swipe, two likely likes to choose between (unless pair cards are off).

    A user holding `max_unrated_items` shown-but-unrated items gets the oldest of those again,
    as swipe cards.
    """
    swipes = SWIPES_PER_PAIR if settings.pair_cards else None
    with allowance.refund_on_error():
        cards: list[tuple[Item, ...]]
        if _at_cap(session, services, settings):
            cards = [(item,) for item in serve_items(session, services, n, 0)]
        else:
            cards = session.next_cards(n, swipes=swipes)
    return CardsOut(
        cards=[
            CardOut(
                kind="swipe" if len(card) == 1 else "pair",
                items=[item_out(item, services.generator) for item in card],
            )
            for card in cards
        ]
    )


@router.post("/pair", response_model=ItemsOut)
def next_pair(
    allowance: GenerationsDep, session: SessionDep, services: ServicesDep, settings: SettingsDep
) -> ItemsOut:
    """The two items whose comparison teaches most now, both likely liked (likelier first).

    A user holding `max_unrated_items` shown-but-unrated items gets the oldest two of those.
    """
    with allowance.refund_on_error():
        items = serve_items(session, services, 2, 0) if _at_cap(session, services, settings) else []
        if len(items) < 2:  # under the cap, or a cap of one
            items = list(session.ask_pair())
    return ItemsOut(items=[item_out(item, services.generator) for item in items])


def _at_cap(session: Session, services: Services, settings: Settings) -> bool:
    """Whether the user holds as many shown-but-unrated items as they may."""
    return len(unrated_items(services, session.user_id)) >= settings.max_unrated_items


@router.post("/feedback", response_model=EventOut)
def feedback(body: FeedbackIn, session: SessionDep, allowance: RatingsDep) -> EventOut:
    """Rate a shown item. Retrying with the same `event_id` changes nothing (safe to resend)."""
    with allowance.spend():
        event = session.tell(
            body.item_id, body.signal, body.dwell_seconds, body.event_id, body.criterion
        )
    return EventOut(event=event.to_dict(), ratings=session.n_ratings)


@router.post("/compare", response_model=EventOut)
def compare(body: CompareIn, session: SessionDep, allowance: RatingsDep) -> EventOut:
    """Say which of two shown items the user prefers."""
    with allowance.spend():
        event = session.compare(body.preferred_id, body.other_id, body.event_id, body.criterion)
    return EventOut(event=event.to_dict(), ratings=session.n_ratings)
