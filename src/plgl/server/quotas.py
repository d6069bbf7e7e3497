"""Abuse limits: sign-ups per client address, generation and ratings per user, unrated items
(the oldest expire).

A request spends from its bucket only when it is valid: `Allowance.spend` takes a token before
the work and gives it back when the work fails on the caller's input (an unknown item, a reused
event id), and FastAPI answers malformed requests (422) before a handler runs at all.

Sign-ups and requests for new items (`GATED`) are spent, and floods of them refused, by
`plgl.server.gate.QuotaGate` before FastAPI routes the request; the dependencies here then only
note what the gate spent (and spend themselves on any route the gate does not know).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request

from plgl.errors import PlglError
from plgl.server.deps import ServicesDep, SettingsDep, current_user
from plgl.server.ratelimit import BaseRateLimiter
from plgl.server.settings import Settings
from plgl.storage import BaseStorage


@dataclass(frozen=True)
class Allowance:
    """One key's token bucket for one kind of request."""

    limiter: BaseRateLimiter
    key: str
    rate: float
    burst: int
    what: str

    @property
    def message(self) -> str:
        """What a refusal says."""
        per = f"{self.rate:g} per second" if self.rate >= 1 else f"{60 * self.rate:g} a minute"
        return f"too many {self.what}: at most {per}"

    def take(self) -> float:
        """Spend a token now: 0.0, or the seconds until one is left (nothing spent)."""
        return self.limiter.take(self.key, self.rate, self.burst)

    def check(self) -> None:
        """Spend a token now; 429 with Retry-After when none is left."""
        wait = self.take()
        if wait > 0:
            raise HTTPException(429, self.message, headers={"Retry-After": retry_after(wait)})

    @contextmanager
    def spend(self) -> Iterator[None]:
        """Spend a token for the work in the block; refunded if the work fails on bad input."""
        self.check()
        with self.refund_on_error():
            yield

    @contextmanager
    def refund_on_error(self) -> Iterator[None]:
        """Give the token taken by `check` back if the work in the block fails on bad input."""
        try:
            yield
        except (PlglError, HTTPException):
            self.limiter.refund(self.key, self.rate, self.burst)
            raise


def retry_after(wait: float) -> str:
    """The Retry-After header for a refusal `wait` seconds before a token is left."""
    return str(max(1, math.ceil(wait)))


Gated = Literal["sign-up", "generation"]
# The requests spent (and refused) by `plgl.server.gate.QuotaGate`: (method, path) -> quota.
GATED: dict[tuple[str, str], Gated] = {
    ("POST", "/api/users"): "sign-up",
    ("POST", "/api/feed"): "generation",
    ("POST", "/api/cards"): "generation",
    ("POST", "/api/pair"): "generation",
    ("GET", "/api/recommendations"): "generation",
    ("GET", "/api/reverse"): "generation",
}
# Where the gate notes, in the request's state, the bucket key it spent from.
SPENT = "plgl_quota_spent"


def generation_quota(limiter: BaseRateLimiter, settings: Settings, user_id: str) -> Allowance:
    """A user's allowance for requests that make new items (feed, discovery)."""
    return Allowance(
        limiter,
        "make:" + user_id,
        settings.generation_rate,
        settings.generation_burst,
        "requests for new items",
    )


def signup_quota(limiter: BaseRateLimiter, settings: Settings, address: str) -> Allowance:
    """A client address's allowance for sign-ups (`signups_per_minute`, all at once)."""
    rate = settings.signups_per_minute / 60.0
    return Allowance(limiter, "signup:" + address, rate, settings.signups_per_minute, "sign-ups")


def _spent(request: Request, allowance: Allowance) -> bool:
    """Whether the gate already spent this request's token from `allowance`'s bucket."""
    return bool(request.scope.get("state", {}).get(SPENT) == allowance.key)


async def ratings(
    user_id: Annotated[str, Depends(current_user)], services: ServicesDep, settings: SettingsDep
) -> Allowance:
    """The caller's allowance for ratings and comparisons."""
    return Allowance(
        services.limiter,
        "rate:" + user_id,
        settings.feedback_rate,
        settings.feedback_burst,
        "ratings",
    )


async def generations(
    request: Request,
    user_id: Annotated[str, Depends(current_user)],
    services: ServicesDep,
    settings: SettingsDep,
) -> Allowance:
    """The caller's allowance for requests that make new items (feed, discovery), already
    spent (by the gate, before routing: a flood never reaches this)."""
    allowance = generation_quota(services.limiter, settings, user_id)
    if not _spent(request, allowance):
        allowance.check()
    return allowance


async def signup_allowance(request: Request, services: ServicesDep, settings: SettingsDep) -> None:
    """429 when the client address has created `signups_per_minute` users this minute (spent
    by the gate before routing)."""
    address = request.client.host if request.client is not None else "unknown"
    allowance = signup_quota(services.limiter, settings, address)
    if not _spent(request, allowance):
        allowance.check()


@dataclass(frozen=True)
class Room:
    """Room for new items among a user's shown-but-unrated ones, of which they hold at most
    `cap` (`Settings.max_unrated_items`)."""

    storage: BaseStorage
    user_id: str
    cap: int

    def make(self, n: int, cap: int | None = None) -> int:
        """Before `n` new items are stored for the user: forget their oldest shown-but-unrated
        items so that, with the new ones, they hold at most `cap` (None: `self.cap`). Rated
        items are never forgotten. Returns how many of the `n` may be served (at most `cap`)."""
        cap = self.cap if cap is None else cap
        n = min(n, cap)
        self.storage.expire_unrated(self.user_id, cap - n)
        return n


async def room(
    user_id: Annotated[str, Depends(current_user)], services: ServicesDep, settings: SettingsDep
) -> Room:
    """The caller's room for new items (call `make` in the handler, under its allowance)."""
    return Room(services.engine.storage, user_id, settings.max_unrated_items)


RatingsDep = Annotated[Allowance, Depends(ratings)]
GenerationsDep = Annotated[Allowance, Depends(generations)]
RoomDep = Annotated[Room, Depends(room)]
