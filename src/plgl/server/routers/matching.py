"""Private matching: the user's opt-in, and other opted-in users with a close taste, answered
with pseudonymous handles and similarity buckets only (`plgl.population`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from plgl.server.deps import ServicesDep, SessionDep
from plgl.server.errors import ERROR_RESPONSES, ErrorOut
from plgl.server.schemas import MatchesOut, MatchingIn, MatchingOut, MatchOut
from plgl.session import Session

router = APIRouter(
    prefix="/api/me",
    tags=["matching"],
    responses={**ERROR_RESPONSES, 403: {"model": ErrorOut}},
)


@router.get("/matching", response_model=MatchingOut)
def matching(session: SessionDep, services: ServicesDep) -> MatchingOut:
    """Whether the user opted in, and whether matching has anyone to offer yet."""
    return _matching(session, services)


@router.put("/matching", response_model=MatchingOut)
def set_matching(body: MatchingIn, session: SessionDep, services: ServicesDep) -> MatchingOut:
    """Opt in (found by others from the next population refresh) or out (gone at once)."""
    session.set_matching(body.enabled)
    return _matching(session, services)


@router.get("/matches", response_model=MatchesOut)
def matches(session: SessionDep, k: Annotated[int, Query(ge=1, le=20)] = 5) -> MatchesOut:
    """Up to `k` other opted-in users with the closest taste (403 unless opted in; 429 when
    asked too often, with Retry-After)."""
    return MatchesOut(
        matches=[MatchOut(handle=m.handle, similarity=m.similarity) for m in session.matches(k)]
    )


def _matching(session: Session, services: ServicesDep) -> MatchingOut:
    population = services.engine.population
    summary = None if population is None else population.summary()
    return MatchingOut(
        enabled=session.matching,
        available=summary is not None and summary.matching_users > 0,
        listed=population is not None and population.population.is_matchable(session.user_id),
    )
