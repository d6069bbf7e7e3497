"""Content <-> bytes for the cache, without pickle: a cache file or a Redis shared with others
must never be able to run code when it is read.

Supported content: numeric numpy arrays (.npy, `allow_pickle=False`), bytes, and JSON-native
values (dicts with str keys, lists, str, numbers, bools, None). A generator whose content is
anything else still gets its rendered bytes cached, but not its content (`encode` raises).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from plgl.errors import InvalidInputError

_ARRAY, _BYTES, _JSON = b"N", b"B", b"J"


def encode(content: Any) -> bytes:
    """Bytes that `decode` turns back into an equal `content`.

    >>> decode(encode(np.arange(3.0))).tolist(), decode(encode({"smiles": "CCO"}))
    ([0.0, 1.0, 2.0], {'smiles': 'CCO'})
    """
    if isinstance(content, np.ndarray):
        if content.dtype.hasobject:
            raise InvalidInputError("arrays of Python objects cannot be cached")
        buffer = io.BytesIO()
        np.save(buffer, content, allow_pickle=False)
        return _ARRAY + buffer.getvalue()
    if isinstance(content, bytes):
        return _BYTES + content
    try:
        text = json.dumps(content, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"content of type {type(content).__name__} cannot be cached: the cache stores numpy "
            "arrays, bytes and JSON-native values"
        ) from None
    if json.loads(text) != content:  # tuples, non-str keys: would not come back the same
        raise InvalidInputError(
            f"content of type {type(content).__name__} does not survive JSON unchanged"
        )
    return _JSON + text.encode()


def decode(blob: bytes) -> Any:
    """The content that `encode` made `blob` from."""
    tag, body = blob[:1], blob[1:]
    if tag == _ARRAY:
        array = np.load(io.BytesIO(body), allow_pickle=False)
        return array
    if tag == _BYTES:
        return body
    if tag == _JSON:
        return json.loads(body)
    raise InvalidInputError(f"cache entry has unknown tag {tag!r}: not written by plgl")


def encode_latents(latents: np.ndarray) -> bytes:
    """(n, d) float64 latents as .npy bytes."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(latents, dtype="<f8"), allow_pickle=False)
    return buffer.getvalue()


def decode_latents(blob: bytes) -> np.ndarray:
    """Inverse of `encode_latents`: (n, d) float64."""
    return np.asarray(np.load(io.BytesIO(blob), allow_pickle=False), dtype=np.float64)
