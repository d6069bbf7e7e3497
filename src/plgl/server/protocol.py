"""uvicorn's h11 protocol with a deadline for reading each request.

uvicorn closes a keep-alive connection that stays idle between requests, but a connection that
sends part of a request head (or declares a body and never sends it) is held for as long as the
client likes: a few thousand such sockets exhaust a worker (the "slowloris" attack). Here every
request, counted from the moment the server waits for it (connection opened, previous response
sent), must arrive whole within `read_timeout` seconds, else the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# States in which the client still owes the server (part of) a request.
_READING = (h11.IDLE, h11.SEND_BODY)


class DeadlineH11Protocol(H11Protocol):
    """H11Protocol that drops connections slower than `read_timeout` to send a request.

    Pass `functools.partial(DeadlineH11Protocol, read_timeout=10.0)` as uvicorn's `http`.
    """

    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state not in _READING:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in _READING:
            self._arm()  # the next request on this connection has its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.conn.their_state in _READING and not self.transport.is_closing():
            self.transport.close()
