"""Every failure answered as JSON `{"error": code, "message": text}`; never a stack trace."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route

from plgl.cache import CacheUnavailableError
from plgl.errors import (
    EventConflictError,
    InfeasibleConstraintsError,
    InvalidInputError,
    NotOptedInError,
    PlglError,
    RateLimitedError,
    StorageError,
    UnknownCriterionError,
    UnknownItemError,
    UnsafeRegionError,
    UserDeletedError,
)

log = logging.getLogger("plgl.server")

# plgl's errors by the HTTP status that says the same thing; the first match wins.
_STATUS: tuple[tuple[type[PlglError], int, str], ...] = (
    (UnknownItemError, 404, "unknown_item"),
    (NotOptedInError, 403, "not_opted_in"),
    (RateLimitedError, 429, "rate_limited"),
    (UnknownCriterionError, 404, "unknown_criterion"),
    (InfeasibleConstraintsError, 422, "infeasible_constraints"),
    (UserDeletedError, 410, "user_deleted"),
    (EventConflictError, 409, "event_conflict"),
    (UnsafeRegionError, 409, "unsafe_region"),
    (InvalidInputError, 422, "invalid_input"),
    (StorageError, 503, "unavailable"),
    (CacheUnavailableError, 503, "unavailable"),
    (PlglError, 400, "bad_request"),
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: str
    message: str
    details: list[dict[str, Any]] | None = None


# For the OpenAPI document: what each route may answer besides success.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 404, 409, 410, 413, 422, 429, 503)
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = ErrorOut(error=code, message=message, **extra).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def unavailable(error: Exception) -> JSONResponse:
    """503 for a storage or cache that failed; its message may name hosts and paths, so it is
    logged, not answered."""
    log.error("backend unavailable: %s", error)
    return error_response(503, "unavailable", "Storage is unavailable; try again soon.")


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    async def on_plgl(request: Request, error: Exception) -> JSONResponse:
        for cls, status, code in _STATUS:
            if isinstance(error, cls):
                if status == 503:
                    return unavailable(error)
                if isinstance(error, RateLimitedError):
                    wait = {"Retry-After": str(max(1, math.ceil(error.retry_after)))}
                    return error_response(status, code, str(error), wait)
                return error_response(status, code, str(error))
        raise error  # unreachable: PlglError is last in _STATUS

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        headers = dict(error.headers or {})
        if error.status_code == 405:  # Starlette names only the first route's methods
            headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
        return error_response(error.status_code, code, str(error.detail), headers)

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        details = [
            {"where": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in error.errors()
        ]
        first = details[0] if details else {"where": "request", "problem": "invalid"}
        message = f"{first['where']}: {first['problem']}"
        return error_response(422, "invalid_request", message, details=jsonable_encoder(details))

    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")

    app.add_exception_handler(PlglError, on_plgl)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_crash)


def _allowed_methods(request: Request) -> set[str]:
    """Every method some route accepts at the request's path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return methods
