"""Snapshots of a user's derived model state: named arrays as raw bytes, never pickle.

A snapshot is valid only for the model settings it was made with: its key hashes the model's
class and parameters, the feedback policy, the latent size, the engine's negatives and the plgl
version. A snapshot with another key, or one that cannot be read, is ignored (the events are the
truth; the snapshot only saves replaying them).

Layout: a magic line, a little-endian uint32 length and a JSON header (format, key, ratings,
the dimension of the taste section or null, and the name, dtype and shape of each array), then
the taste section, then each array's bytes in C order. The taste section is a linear model's
posterior over its weights, the mean (d,) and the upper triangle of the covariance (d, d), as
float64: what a population refresh reads of every user (`decode_taste`) without the rest.
Only plain dtypes (bool, numbers, fixed-width strings) are written or read.

>>> state = {"array:mean_": np.zeros(3)}
>>> blob = encode_snapshot(state, key="k", ratings=7)
>>> decode_snapshot(blob, key="k")[1], decode_snapshot(blob, key="other")
(7, None)
>>> blob = encode_snapshot(state, "k", 7, taste=(np.ones(2), np.eye(2)))
>>> [array.tolist() for array in decode_taste(blob, key="k")]
[[1.0, 1.0], [[1.0, 0.0], [0.0, 1.0]]]
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
import struct
from typing import Any

import numpy as np

from plgl._version import __version__

# 2: LinearPreference state is the folded posterior (no observation list); 3: a header, the
# taste section and raw arrays (an .npz before).
FORMAT = "plgl.snapshot/3"
_MAGIC = b"plgl.snapshot\n"
_LENGTH = struct.Struct("<I")
_KINDS = "biufcUS"  # plain dtypes: no objects (pickle), no structured records


def snapshot_key(model: Any, feedback: Any, latent_dim: int, negatives: np.ndarray) -> str:
    """A hash of everything besides the events that a model's state depends on."""
    plain = dataclasses.is_dataclass(feedback) and not isinstance(feedback, type)
    policy = dataclasses.asdict(feedback) if plain else repr(feedback)
    parts = {
        "format": FORMAT,
        "plgl": __version__,
        "model": f"{type(model).__module__}.{type(model).__qualname__}",
        "params": model.get_params(),
        "feedback": policy,
        "latent_dim": latent_dim,
        "negatives": hashlib.sha256(
            np.ascontiguousarray(negatives, dtype="<f8").tobytes()
        ).hexdigest(),
    }
    text = json.dumps(parts, sort_keys=True, default=_canonical)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """A JSON form of a parameter that changes whenever the value does: arrays by a hash of
    their bytes (their repr elides), dataclasses (priors) field by field, other objects by
    their repr without memory addresses (which differ from process to process)."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return {"dtype": data.dtype.str, "shape": data.shape, "sha256": _digest(data.tobytes())}
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"class": f"{type(value).__module__}.{type(value).__qualname__}", **fields}
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_snapshot(
    state: dict[str, np.ndarray],
    key: str,
    ratings: int,
    taste: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """A header (the key, the ratings covered, the arrays' layout), the taste section and the
    bytes of every array of `state`.

    Args:
        state: the learner's named arrays.
        key: the snapshot key of the model settings.
        ratings: the number of ratings the state covers.
        taste: a linear model's posterior mean (d,) and covariance (d, d), or None.
    """
    section = b""
    dimension = None
    if taste is not None:
        mean, covariance = (np.asarray(a, dtype="<f8") for a in taste)
        dimension = len(mean)
        if mean.shape != (dimension,) or covariance.shape != (dimension, dimension):
            raise ValueError(f"taste must be (d,) and (d, d), got {mean.shape}, {covariance.shape}")
        upper = covariance[np.triu_indices(dimension)]
        section = mean.tobytes() + np.ascontiguousarray(upper).tobytes()
    arrays = {name: np.asarray(value, order="C") for name, value in state.items()}
    for name, array in arrays.items():
        if array.dtype.kind not in _KINDS:
            raise ValueError(f"state array {name!r} has dtype {array.dtype}, not a plain one")
    layout = [[name, a.dtype.str, list(a.shape)] for name, a in arrays.items()]
    header = json.dumps(
        {"format": FORMAT, "key": key, "ratings": ratings, "taste": dimension, "arrays": layout}
    ).encode()
    body = b"".join(array.tobytes() for array in arrays.values())
    return _MAGIC + _LENGTH.pack(len(header)) + header + section + body


def decode_snapshot(blob: bytes, key: str) -> tuple[dict[str, np.ndarray], int] | None:
    """(state, ratings) from `encode_snapshot`, or None if it was made for another key or is
    unreadable."""
    opened = _open(blob, key)
    if opened is None:
        return None
    header, start = opened
    dimension = header["taste"]
    if dimension is not None:
        start += 8 * (dimension + dimension * (dimension + 1) // 2)
    arrays: dict[str, np.ndarray] = {}
    try:
        for name, dtype_text, shape in header["arrays"]:
            dtype = np.dtype(dtype_text)
            count = math.prod(shape)
            if dtype.kind not in _KINDS or count < 0 or start + count * dtype.itemsize > len(blob):
                return None
            flat = np.frombuffer(blob, dtype, count, start) if count else np.empty(0, dtype)
            arrays[str(name)] = flat.reshape(tuple(shape)).copy()
            start += count * dtype.itemsize
    except (KeyError, TypeError, ValueError):
        return None
    return arrays, int(header["ratings"])


def decode_taste(blob: bytes, key: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The posterior mean (d,) and covariance (d, d) in the snapshot's taste section, without
    reading the state; None if it has none, was made for another key or is unreadable."""
    opened = _open(blob, key)
    if opened is None or opened[0]["taste"] is None:
        return None
    header, start = opened
    d = int(header["taste"])
    packed = d * (d + 1) // 2
    if d < 1 or len(blob) < start + 8 * (d + packed):
        return None
    mean = np.frombuffer(blob, "<f8", d, start).astype(float)
    upper = np.frombuffer(blob, "<f8", packed, start + 8 * d)
    return mean, upper[_unpacking(d)]


@functools.cache
def _unpacking(d: int) -> np.ndarray:
    """(d, d) index of each entry of a symmetric matrix in its packed upper triangle."""
    index = np.empty((d, d), dtype=np.intp)
    rows, columns = np.triu_indices(d)
    index[rows, columns] = np.arange(len(rows))
    index[columns, rows] = index[rows, columns]
    return index


def _open(blob: bytes, key: str) -> tuple[dict[str, Any], int] | None:
    """(header, offset of what follows it) of a snapshot made for `key`, else None."""
    begin = len(_MAGIC) + _LENGTH.size
    if not blob.startswith(_MAGIC) or len(blob) < begin:
        return None
    (length,) = _LENGTH.unpack_from(blob, len(_MAGIC))
    try:
        header = json.loads(blob[begin : begin + length])
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key:
        return None
    taste = header.get("taste")
    if not isinstance(header.get("ratings"), int) or not (taste is None or isinstance(taste, int)):
        return None
    return header, begin + length
