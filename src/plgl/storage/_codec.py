"""How events and latents are written by the backends that store bytes or text."""

from __future__ import annotations

import json

import numpy as np

from plgl.errors import StorageError
from plgl.records import Event, event_from_dict


def event_to_json(event: Event) -> str:
    """Canonical JSON of an event (sorted keys, so equal events give equal text)."""
    return json.dumps(event.to_dict(), sort_keys=True, ensure_ascii=False, allow_nan=False)


def event_from_json(text: str | bytes) -> Event:
    """Inverse of `event_to_json`; StorageError if the stored text is not an event."""
    try:
        return event_from_dict(json.loads(text))
    except (ValueError, TypeError) as error:
        raise StorageError(f"a stored event is unreadable ({error}): {text!r:.200}") from None


def latent_to_bytes(latent: np.ndarray) -> bytes:
    """(d,) latent as little-endian float64 bytes."""
    return np.asarray(latent, dtype="<f8").tobytes()


def latent_from_bytes(data: bytes) -> np.ndarray:
    """Inverse of `latent_to_bytes`: (d,) float64."""
    return np.frombuffer(data, dtype="<f8").astype(np.float64)
