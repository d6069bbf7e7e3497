"""uvicorn's httptools protocol with a deadline for reading each request and a bound on its head.

uvicorn closes a keep-alive connection that stays idle between requests, but a connection that
sends part of a request head (or declares a body and never sends it) is held for as long as the
client likes: a few thousand such sockets exhaust a worker (the "slowloris" attack). Here every
request, counted from the moment the server waits for it (connection opened, previous response
sent), must arrive whole within `read_timeout` seconds, else the connection is closed. And a
request head still incomplete after `max_head_bytes` is answered 400 and the connection closed
(httptools itself buffers a head of any size); a head that arrives whole is checked by
`plgl.server.middleware.HeadLimit` (431).

httptools (the C parser llhttp) rather than h11 (pure Python): parsing and framing cost a
fraction of the CPU per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that drops connections slower than `read_timeout` to send a request
    and refuses request heads larger than `max_head_bytes`.

    Pass `functools.partial(DeadlineHttpToolsProtocol, read_timeout=10.0,
    max_head_bytes=16384)` as uvicorn's `http`.
    """

    def __init__(self, *args: Any, read_timeout: float, max_head_bytes: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self.max_head_bytes = max_head_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._partial = False  # a request has begun and is not whole yet
        self._in_head = False  # ... and its head is not whole yet
        self._head_bytes = 0
        self._received = 0  # whole requests received
        self._answered = 0  # responses sent

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self.send_400_response(
                    f"request head larger than {self.max_head_bytes} bytes"
                )  # closes the connection

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._partial = self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._partial = False
        self._received += 1
        if not self._owed():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._answered += 1
        if not self.transport.is_closing() and self._owed():
            self._arm()  # the next request on this connection has its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _owed(self) -> bool:
        """Whether the client owes the server (part of) a request: one is under way, or every
        request received has been answered (pipelined ones waiting owe nothing)."""
        return self._partial or self._received == self._answered

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._owed() and not self.transport.is_closing():
            self.transport.close()
