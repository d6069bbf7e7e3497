"""Users: sign up for a token, see how far the model has come, settings, export, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from plgl.server.deps import ServicesDep, SessionDep
from plgl.server.errors import ERROR_RESPONSES
from plgl.server.quotas import signup_allowance
from plgl.server.schemas import ExplainOut, ExploreIn, StatusOut, UserOut
from plgl.session import Session

router = APIRouter(prefix="/api", tags=["users"], responses=ERROR_RESPONSES)


@router.post(
    "/users",
    status_code=201,
    response_model=UserOut,
    dependencies=[Depends(signup_allowance)],
)
def create_user(services: ServicesDep) -> UserOut:
    """A new anonymous user and the bearer token that is their only key.

    Nothing is stored until the user's first request: tokens are signed, not kept.
    """
    user_id, token = services.tokens.issue()
    return UserOut(user_id=user_id, token=token)


@router.get("/me", response_model=StatusOut)
def status(session: SessionDep, services: ServicesDep) -> StatusOut:
    """Ratings so far, and how sure the model is that its best pick would be liked."""
    return _status(session, services.generator.name)


@router.put("/me/adventurousness", response_model=StatusOut)
def set_adventurousness(body: ExploreIn, session: SessionDep, services: ServicesDep) -> StatusOut:
    """How much of each batch explores (0: only likely likes, 1: only what teaches most)."""
    session.set_explore(body.share)
    return _status(session, services.generator.name)


@router.get("/me/explain", response_model=ExplainOut)
def explain(session: SessionDep) -> dict[str, Any]:
    """What drives this user's taste, in the domain's words."""
    return session.explain()


@router.get("/me/export")
def export(session: SessionDep) -> Response:
    """Everything stored about the user, as a JSON download."""
    return JSONResponse(
        session.export(),
        headers={"Content-Disposition": 'attachment; filename="plgl-export.json"'},
    )


@router.delete("/me", status_code=204)
def delete(session: SessionDep) -> Response:
    """Forget the user: every rating and item, for good; the token stops working."""
    session.delete()
    return Response(status_code=204)


def _status(session: Session, domain: str) -> StatusOut:
    return StatusOut(
        user_id=session.user_id,
        domain=domain,
        ratings=session.n_ratings,
        confidence=round(session.confidence, 4),
        explore=session.explore,
    )
