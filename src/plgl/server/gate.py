"""Quota refusals at the ASGI layer: a flood is answered 429 before FastAPI sees it.

The quotas are the ones `plgl.server.quotas` defines (sign-ups per client address, requests for
new items per user: `GATED`); only where they are spent moves. A refusal here costs a dict
look-up, one HMAC for a bearer token, one take from the rate limiter and a prebuilt answer:
no routing, dependency injection, query or body parsing, and no storage. A request with a
token spent here goes on; its route's dependency sees the note (`quotas.SPENT`) and spends
nothing more. Requests the gate cannot key (no genuine bearer token) go on unspent, to be
answered 401 by the route as before.
"""

from __future__ import annotations

import functools
import json

from fastapi.security.utils import get_authorization_scheme_param

from plgl.errors import StorageError
from plgl.server.deps import Services
from plgl.server.errors import unavailable
from plgl.server.middleware import ASGIApp, Receive, Scope, Send
from plgl.server.quotas import (
    GATED,
    SPENT,
    Allowance,
    Gated,
    generation_quota,
    retry_after,
    signup_quota,
)


class QuotaGate:
    """Spends sign-up and generation quotas before routing; 429 with Retry-After when empty.

    Reads the services the app built at startup (`app.state.services`) and its settings
    (`app.state.settings`). Requests are matched by method and path as sent; under a root path
    they miss the gate, and the routes' dependencies spend the same quotas (after routing).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gated = GATED.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if gated is not None:
            services: Services | None = getattr(scope["app"].state, "services", None)
            allowance = None if services is None else _allowance(gated, scope, services)
            if allowance is not None:
                try:
                    wait = allowance.take()
                except StorageError as error:
                    await unavailable(error)(scope, receive, send)
                    return
                if wait > 0:
                    await _refuse(send, allowance.message, wait)
                    return
                scope.setdefault("state", {})[SPENT] = allowance.key
        await self.app(scope, receive, send)


def _allowance(gated: Gated, scope: Scope, services: Services) -> Allowance | None:
    """The bucket this request spends from; None without a genuine bearer token."""
    settings = scope["app"].state.settings
    if gated == "sign-up":
        client = scope.get("client")
        return signup_quota(services.limiter, settings, client[0] if client else "unknown")
    # As FastAPI's HTTPBearer reads it: the first Authorization header, "Bearer <token>".
    header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    if header is None:
        return None
    scheme, token = get_authorization_scheme_param(header.decode("latin-1"))
    if scheme.lower() != "bearer" or not token:
        return None
    user_id = services.tokens.verify(token)
    return None if user_id is None else generation_quota(services.limiter, settings, user_id)


async def _refuse(send: Send, message: str, wait: float) -> None:
    """The 429 the app's error handler would give: `{"error", "message"}` and Retry-After."""
    body = _body(message)
    headers = [
        (b"retry-after", retry_after(wait).encode()),
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@functools.lru_cache(maxsize=64)
def _body(message: str) -> bytes:
    # As Starlette's JSONResponse renders it.
    content = {"error": "rate_limited", "message": message}
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
