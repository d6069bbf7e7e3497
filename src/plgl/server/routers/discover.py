"""Discovery: the best items for the user, and items at a chosen predicted score."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query

from plgl.records import Item
from plgl.server.deps import Services, ServicesDep, SessionDep
from plgl.server.errors import ERROR_RESPONSES
from plgl.server.lanes import HEAVY
from plgl.server.quotas import GenerationsDep, RoomDep
from plgl.server.schemas import ItemsOut, item_out
from plgl.session import Session

router = APIRouter(prefix="/api", tags=["discover"], responses=ERROR_RESPONSES)


@router.get("/recommendations", response_model=ItemsOut, dependencies=[HEAVY])
def recommendations(
    allowance: GenerationsDep,  # first: a flood is refused before its session loads
    session: SessionDep,
    services: ServicesDep,
    room: RoomDep,
    k: Annotated[int, Query(ge=1, le=50)] = 12,
) -> ItemsOut:
    """The `k` best items for the user, diverse, best first."""
    with allowance.refund_on_error():
        k = room.make(k)
        items = session.recommend(k)
    return _scored(session, services, items)


@router.get("/reverse", response_model=ItemsOut, dependencies=[HEAVY])
def reverse(
    allowance: GenerationsDep,  # first: a flood is refused before its session loads
    session: SessionDep,
    services: ServicesDep,
    room: RoomDep,
    target: Annotated[float, Query(gt=0.0, lt=1.0, description="wanted like-probability")],
    n: Annotated[int, Query(ge=1, le=50)] = 6,
) -> ItemsOut:
    """`n` diverse items the model predicts the user likes with probability `target`."""
    with allowance.refund_on_error():
        n = room.make(n)
        items = session.reverse_items(target, n)
    return _scored(session, services, items)


def _scored(session: Session, services: Services, items: list[Item]) -> ItemsOut:
    scores = session.score(np.array([item.latent for item in items]))
    return ItemsOut(
        items=[
            item_out(item, services.engine.cache, float(score))
            for item, score in zip(items, scores, strict=True)
        ]
    )
