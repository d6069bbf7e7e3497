"""Schemathesis fuzzes every operation of the app's OpenAPI schema: no answer is a server error,
and every answer matches the schema (status code, content type, body)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.meta import negated_parameters

from plgl.server import Settings, create_app
from plgl.server.auth import Tokens

SECRET = "fuzz-secret-" + "y" * 32

# The factory builds nothing heavy (the engine starts in the app's lifespan, which schemathesis
# runs); with a secret and memory storage the app writes no files.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(Settings(domain="identity", storage="memory://", secret=SECRET))
)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case: Any) -> None:
    # Stateless tokens: each case is a fresh, genuine user, unless the case tests its own header
    # or is a negative case that left the header out on purpose (then it must go without one).
    _, token = Tokens(SECRET.encode()).issue()
    has_auth = case.headers is not None and "Authorization" in case.headers
    dropped = any(name.lower() == "authorization" for name, _ in negated_parameters(case.meta))
    auth = None if has_auth or dropped else {"Authorization": f"Bearer {token}"}
    case.call_and_validate(headers=auth)
