"""The heavy lane: requests that make new items take turns, so that light ones are not starved.

A worker runs its sync endpoints in threads of one interpreter, and a thread runs Python only
while it holds the GIL. Every step of a light request (a rating, an item's bytes: about 2 ms of
CPU) re-takes the GIL: its handler's thread, each storage round trip, the event loop parsing
and writing. While CPU-bound threads hold the GIL, each of those steps waits for a forced
switch (`sys.getswitchinterval()`, 5 ms) and may lose the race to another CPU-bound thread,
so a light request's latency grows with the number of heavy threads beside it: the convoy
effect (Beazley, "Understanding the Python GIL", PyCon 2010). The requests that make new items
(feed, cards, pair, recommendations, reverse, recommendations under criteria: tens to a
hundred ms of CPU each) therefore run at most `Settings.heavy_threads` at a time per worker;
the others wait for their turn on the event loop, holding no thread. Light requests are not
limited. Measured by `benchmarks/serve_convoy.py` (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Depends

from plgl.server.deps import ServicesDep


async def heavy_lane(services: ServicesDep) -> AsyncIterator[None]:
    """Hold one of the worker's heavy turns (`Services.heavy`) around the endpoint's call."""
    async with services.heavy:
        yield


# "function": the turn is given back when the endpoint returns, before its answer is written.
HEAVY = Depends(heavy_lane, scope="function")
