"""What one pass of a generator's network gives for a latent, kept for a while: its content and
its perceptual map, so that a latent judged by its map and then shown (or shown and then
judged) is decoded once, not once per use."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from plgl.errors import InvalidInputError

RECENT = 256
"""Decodes a generator keeps by default: For-you looks at 64 candidates near the favourite,
then shows the content of the best (`plgl.grounding`); a duel batch shows the content of the
challengers it judged among 32 (`plgl.duels`). Faces: about 15 KB each (content and map)."""


class RecentlyDecoded:
    """A generator that keeps its recent decodes: the content and the `judge_features` row of
    a latent it decoded lately can be read back from `decodes` without another pass."""

    decodes: RecentDecodes


def decode_key(latent: np.ndarray) -> bytes:
    """A 16-byte key equal for latents (d,) the network sees alike (equal float32 values)."""
    raw = np.ascontiguousarray(latent, dtype=np.float32).tobytes()
    return hashlib.blake2b(raw, digest_size=16).digest()


class RecentDecodes:
    """A bounded, thread-safe LRU of (content, perceptual map) by `decode_key`.

    Entries are read-only arrays: callers get copies of the content (`content`), so nothing
    they do to it reaches another caller.

    Args:
        size: decodes kept at most (least recently used go first); 0 keeps none.

    >>> decodes = RecentDecodes(size=1)
    >>> decodes.keep([b"a"], [np.zeros(2)], [np.ones(3, dtype=np.float32)])
    >>> sorted(decodes.maps([b"a", b"b"])), len(decodes)
    ([b'a'], 1)
    """

    def __init__(self, size: int = RECENT) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInputError(f"recent decodes must be an int >= 0, got {size!r}")
        self.size = size
        self._entries: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def contents(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """Copies of the content kept among `keys`, marked used."""
        return {key: entry[0].copy() for key, entry in self._found(keys).items()}

    def maps(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        """The (read-only) perceptual maps kept among `keys`, marked used."""
        return {key: entry[1] for key, entry in self._found(keys).items()}

    def keep(self, keys: list[bytes], contents: list[np.ndarray], maps: list[np.ndarray]) -> None:
        """Remember the content and map of each of `keys` (the latest last)."""
        if not self.size:
            return
        with self._lock:
            for key, content, found in zip(keys, contents, maps, strict=True):
                content, found = np.array(content), np.array(found)  # own, read-only copies
                content.setflags(write=False)
                found.setflags(write=False)
                self._entries[key] = (content, found)
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def _found(self, keys: list[bytes]) -> dict[bytes, tuple[np.ndarray, np.ndarray]]:
        with self._lock:
            found = {}
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    found[key] = entry
            return found
