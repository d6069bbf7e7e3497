"""Several tastes: the user's criteria, recommendations under constraints between them, the
Pareto front of two, and the user's context profiles (chosen per request by the
`X-Plgl-Context` header)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query

from plgl.server.deps import ServicesDep, SessionDep
from plgl.server.errors import ERROR_RESPONSES
from plgl.server.lanes import HEAVY
from plgl.server.schemas import (
    ConstraintsIn,
    ContextsOut,
    CriteriaOut,
    ItemsOut,
    Name,
    ParetoOut,
    item_out,
)

router = APIRouter(prefix="/api", tags=["criteria"], responses=ERROR_RESPONSES)


@router.get("/criteria", response_model=CriteriaOut)
def criteria(session: SessionDep, services: ServicesDep) -> CriteriaOut:
    """The criteria the user rated (with counts) and those the operator defined."""
    return CriteriaOut(rated=session.criteria, defined=services.engine.criteria)


@router.post("/criteria/recommendations", response_model=ItemsOut, dependencies=[HEAVY])
def constrained(body: ConstraintsIn, session: SessionDep, services: ServicesDep) -> ItemsOut:
    """The `k` best items as high as possible on `maximize` (None: the overall taste) and at
    least `at_least[c]` likely liked on each criterion c (422 when they cannot hold together)."""
    items = session.recommend(body.k, maximize=body.maximize, at_least=body.at_least or None)
    latents = np.array([item.latent for item in items])
    named = sorted({*body.at_least, *([body.maximize] if body.maximize else [])})
    scores = {name: session.score(latents, criterion=name) for name in named}
    overall = session.score(latents)
    return ItemsOut(
        items=[
            item_out(item, services.engine.cache, float(overall[i])).model_copy(
                update={"criteria": {n: round(float(s[i]), 4) for n, s in scores.items()}}
            )
            for i, item in enumerate(items)
        ]
    )


@router.get("/criteria/pareto", response_model=ParetoOut)
def pareto(
    session: SessionDep,
    first: Annotated[Name, Query()],
    second: Annotated[Name, Query()],
    points: Annotated[int, Query(ge=2, le=30)] = 10,
) -> ParetoOut:
    """The trade-off between two rated criteria: predicted probabilities along the front."""
    _, probabilities = session.pareto(first, second, points)
    return ParetoOut(
        first=first,
        second=second,
        points=[(round(float(a), 4), round(float(b), 4)) for a, b in probabilities],
    )


@router.get("/contexts", response_model=ContextsOut)
def contexts(session: SessionDep) -> ContextsOut:
    """The context of this request and every context the user has rated in."""
    return ContextsOut(current=session.context, contexts=session.contexts())
