"""The worker's allocator settings: fewer malloc arenas, memory handed back."""

from __future__ import annotations

import platform

import pytest

from plgl.server import memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")


@glibc
def test_arenas_are_capped_unless_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.limit_arenas(8)  # the glibc default on 1 core: changes nothing here
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not memory.limit_arenas(8)


@glibc
def test_trim_hands_freed_memory_back() -> None:
    blocks = [bytearray(8192) for _ in range(4000)]  # 32 MB from malloc, below its mmap size
    kept = blocks[::4]  # freed pages sit between kept blocks, not at the heap's top
    del blocks
    assert memory.trim()
    assert len(kept) == 1000
