"""Frozen records: what is served (Item) and what the user said (Feedback, Comparison).

Feedback and comparisons are events in an append-only log; model state is derived from them.
Their fields are JSON-native so that every storage backend can keep them as they are. An event
may name a `criterion` (what was rated: "energy", "calm"; None is the overall taste) and a
`context` (the profile it was given in: "workout"; None is the default profile). Unset, they are
left out of `to_dict`, so that the export format of plain events does not change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SIGNALS = ("like", "dislike", "skip", "superlike")


@dataclass(frozen=True, eq=False)
class Item:
    """One piece of content shown to a user.

    Attributes:
        id: unique id, stable for the user's lifetime.
        latent: (latent_dim,) float64, read-only.
        content: what the generator made from the latent (for `identity`, the latent itself).
        source: why it was shown: "exploit", "explore", "recommend" or "reverse"; "favourite"
            or "liked" for a rated item that `recommend` shows again (nothing new beat it);
            "champion" and "challenger" for the two items of a duel card (`plgl.duels`).
    """

    id: str
    latent: np.ndarray
    content: Any
    source: str = "explore"

    def __post_init__(self) -> None:
        latent = np.array(self.latent, dtype=np.float64)
        latent.setflags(write=False)
        object.__setattr__(self, "latent", latent)

    def to_dict(self) -> dict[str, Any]:
        """JSON-native form (the content is left out: it may be bytes or an image)."""
        return {"id": self.id, "latent": self.latent.tolist(), "source": self.source}


def new_item_id() -> str:
    """A new `Item.id`, unique for good."""
    # From the OS, not a seeded stream: a resumed session replays its stream and would issue
    # the ids of items served before the restart to different latents.
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Feedback:
    """A rating of one item: `signal` is one of SIGNALS; dwell is how long it was looked at."""

    event_id: str
    item_id: str
    signal: str
    dwell_seconds: float | None = None
    criterion: str | None = None
    context: str | None = None
    kind: str = field(default="feedback", init=False)

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


MAX_OTHERS = 15
"""The most items a choice is made over (`Comparison.others` plus `other_id`: 16 items shown)."""


@dataclass(frozen=True)
class Comparison:
    """The user preferred `preferred_id` over `other_id`, and over each of `others` where they
    chose one of several items shown together (one answer)."""

    event_id: str
    preferred_id: str
    other_id: str
    criterion: str | None = None
    context: str | None = None
    others: tuple[str, ...] = ()
    kind: str = field(default="comparison", init=False)

    @property
    def losers(self) -> tuple[str, ...]:
        """The ids of every item the preferred one was chosen over."""
        return (self.other_id, *self.others)

    def to_dict(self) -> dict[str, Any]:
        data = _plain(asdict(self))
        if self.others:
            data["others"] = list(self.others)
        return data


Event = Feedback | Comparison


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of `Event.to_dict`."""
    fields = {k: v for k, v in data.items() if k != "kind"}
    if data.get("kind") == "comparison":
        return Comparison(**{**fields, "others": tuple(fields.get("others", ()))})
    return Feedback(**fields)


def event_item_ids(event: Event) -> tuple[str, ...]:
    """The ids of the items an event names (one rated item, or those compared)."""
    if isinstance(event, Feedback):
        return (event.item_id,)
    return (event.preferred_id, *event.losers)


def compared_pairs(
    event: Comparison, latents: Mapping[str, np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(preferred, other) latents (d,) of a comparison: one pair, or, where the user chose one
    of several items, the chosen one against each of the others (rank breaking, Azari
    Soufiani et al. 2014); pairs naming an item without a latent are left out."""
    a = latents.get(event.preferred_id)
    found = [latents.get(other) for other in event.losers]
    return [] if a is None else [(a, b) for b in found if b is not None]


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without an unset criterion or context, nor an empty `others` (plain events keep
    their old form)."""
    unset = {"criterion": None, "context": None, "others": ()}
    return {k: v for k, v in data.items() if k not in unset or v != unset[k]}
