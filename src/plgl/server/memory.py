"""Keep a long-running worker's resident memory close to what it holds.

The engine bounds what a worker holds (the session LRU), but glibc's allocator keeps memory
freed by one of FastAPI's many threads in that thread's arena (up to 8 per core), where other
threads cannot reuse it. As sessions turn over, RSS then creeps up with users touched although
the live heap does not (`benchmarks/serve_memory.py` shows it). Fewer arenas and a periodic
`malloc_trim` hand that memory back. Elsewhere than glibc, both are no-ops.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import platform

_M_ARENA_MAX = -8  # mallopt's parameter number (glibc malloc.h)


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name)


def limit_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads made from now on, unless the operator set
    MALLOC_ARENA_MAX; True if the cap was set here."""
    libc = _glibc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim() -> bool:
    """Return the allocator's free memory to the system; True if any was returned."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))


async def trim_every(seconds: float) -> None:
    """`trim` every `seconds`, off the event loop, until cancelled."""
    while True:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(trim)
