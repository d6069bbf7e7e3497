"""Dependencies every router shares: settings, the services built at startup, the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from plgl.engine import Engine
from plgl.generators import Generator
from plgl.server.auth import Tokens
from plgl.server.ratelimit import BaseRateLimiter
from plgl.server.schemas import Name
from plgl.server.settings import Settings
from plgl.session import Session


@dataclass
class Services:
    """What the app builds once in its lifespan and shares between requests."""

    engine: Engine
    tokens: Tokens
    limiter: BaseRateLimiter
    heavy: anyio.CapacityLimiter  # turns of the heavy lane (`plgl.server.lanes`)

    @property
    def generator(self) -> Generator:
        return self.engine.generator


# The cheap dependencies are `async def`: FastAPI runs sync ones in a worker thread each, and
# those hops cost more than the work. Anything that may touch storage runs in a thread.


async def get_settings(request: Request) -> Settings:
    """The app's settings; tests may override this dependency."""
    settings: Settings = request.app.state.settings
    return settings


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


_bearer = HTTPBearer(auto_error=False, description="the token from POST /api/users")


async def current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    services: Annotated[Services, Depends(get_services)],
) -> str:
    """The user the bearer token was issued to; 401 without a genuine token."""
    user_id = None if credentials is None else services.tokens.verify(credentials.credentials)
    if user_id is None:
        raise HTTPException(
            401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    return user_id


async def current_session(
    user_id: Annotated[str, Depends(current_user)],
    services: Annotated[Services, Depends(get_services)],
    context: Annotated[
        Name | None,
        Header(alias="X-Plgl-Context", description="the user's context profile; none: default"),
    ] = None,
) -> Session:
    """The caller's own session (in the context profile the request names): a token binds
    every request to its user's data alone.

    A session held in memory is found on the event loop (no storage read: the session checks
    the user's state itself in the handler); resuming one reads storage, so that runs in a
    thread and never blocks the loop. Each hop to a thread costs a wake-up.
    """
    engine = services.engine
    session = engine.held_session(user_id, context)
    if session is None:
        session = await run_in_threadpool(engine.session, user_id, context)
    return session


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[Session, Depends(current_session)]
