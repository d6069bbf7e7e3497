"""Abuse limits: sign-ups per client address, generation and ratings per user, unrated items
(the oldest expire).

A request spends from its bucket only when it is valid: `Allowance.spend` takes a token before
the work and gives it back when the work fails on the caller's input (an unknown item, a reused
event id), and FastAPI answers malformed requests (422) before a handler runs at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from plgl.errors import PlglError
from plgl.server.deps import ServicesDep, SettingsDep, current_user
from plgl.server.ratelimit import BaseRateLimiter
from plgl.storage import BaseStorage


@dataclass(frozen=True)
class Allowance:
    """One key's token bucket for one kind of request."""

    limiter: BaseRateLimiter
    key: str
    rate: float
    burst: int
    what: str

    def check(self) -> None:
        """Spend a token now; 429 with Retry-After when none is left."""
        wait = self.limiter.take(self.key, self.rate, self.burst)
        if wait > 0:
            per = f"{self.rate:g} per second" if self.rate >= 1 else f"{60 * self.rate:g} a minute"
            raise HTTPException(
                429,
                f"too many {self.what}: at most {per}",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

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
    user_id: Annotated[str, Depends(current_user)], services: ServicesDep, settings: SettingsDep
) -> Allowance:
    """The caller's allowance for requests that make new items (feed, discovery), already
    spent: a flood is refused here, before its session is loaded or storage is read."""
    allowance = Allowance(
        services.limiter,
        "make:" + user_id,
        settings.generation_rate,
        settings.generation_burst,
        "requests for new items",
    )
    allowance.check()
    return allowance


async def signup_allowance(request: Request, services: ServicesDep, settings: SettingsDep) -> None:
    """429 when the client address has created `signups_per_minute` users this minute."""
    address = request.client.host if request.client is not None else "unknown"
    rate = settings.signups_per_minute / 60.0
    Allowance(
        services.limiter, "signup:" + address, rate, settings.signups_per_minute, "sign-ups"
    ).check()


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
