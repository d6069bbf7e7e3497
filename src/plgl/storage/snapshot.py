"""Snapshots of a user's derived model state: named arrays in an .npz, never pickle.

A snapshot is valid only for the model settings it was made with: its key hashes the model's
class and parameters, the feedback policy, the latent size, the engine's negatives and the plgl
version. A snapshot with another key, or one that cannot be read, is ignored (the events are the
truth; the snapshot only saves replaying them).

>>> state = {"array:mean_": np.zeros(3)}
>>> blob = encode_snapshot(state, key="k", ratings=7)
>>> decode_snapshot(blob, key="k")[1], decode_snapshot(blob, key="other")
(7, None)
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import zipfile
from typing import Any

import numpy as np

from plgl._version import __version__

FORMAT = (
    "plgl.snapshot/2"  # 2: LinearPreference state is the folded posterior (no observation list)
)
_META = "meta"


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


def encode_snapshot(state: dict[str, np.ndarray], key: str, ratings: int) -> bytes:
    """An .npz holding `state` and a JSON record of the key and the ratings it covers."""
    if _META in state:
        raise ValueError(f"state may not use the reserved name {_META!r}")
    meta = json.dumps({"format": FORMAT, "key": key, "ratings": ratings})
    arrays: dict[str, Any] = {**state, _META: np.array(meta)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode_snapshot(blob: bytes, key: str) -> tuple[dict[str, np.ndarray], int] | None:
    """(state, ratings) from `encode_snapshot`, or None if it was made for another key or is
    unreadable."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop(_META)))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None
    if meta.get("format") != FORMAT or meta.get("key") != key:
        return None
    return arrays, int(meta["ratings"])
