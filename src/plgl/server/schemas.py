"""What the API accepts and answers: pydantic models, validated before any handler runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from plgl.cache import ContentCache
from plgl.records import MAX_OTHERS, Item

# Ids the service hands out are hex or url-safe; anything else is refused before a lookup.
ITEM_ID_PATTERN = r"^[A-Za-z0-9_-]+$"
ItemId = Annotated[str, Field(min_length=1, max_length=64, pattern=ITEM_ID_PATTERN)]
EventId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
# Criterion and context names as `plgl.criteria.check_name` accepts them.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$"
Name = Annotated[str, Field(min_length=1, max_length=40, pattern=NAME_PATTERN)]
Probability = Annotated[float, Field(gt=0.0, lt=1.0)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FeedbackIn(_In):
    """A rating of one shown item; a retry with the same `event_id` changes nothing."""

    item_id: ItemId
    signal: Literal["like", "dislike", "skip", "superlike"]
    dwell_seconds: float | None = Field(default=None, ge=0, le=86_400)
    event_id: EventId | None = None
    criterion: Name | None = Field(default=None, description="rate one criterion, e.g. energy")


class CompareIn(_In):
    """The user preferred `preferred_id` over `other_id` (both shown to them), and over each
    of `others` where they chose one of a choice card's items: one answer, one event."""

    preferred_id: ItemId = Field(description="the item the user chose")
    other_id: ItemId = Field(description="an item shown with it that was not chosen")
    others: list[ItemId] = Field(
        default_factory=list,
        max_length=MAX_OTHERS,
        description="the card's other items that were not chosen (a choice card: all its "
        f"items but the chosen one and `other_id`); 0 to {MAX_OTHERS} ids, each item named "
        "once; empty for a pair",
    )
    event_id: EventId | None = None
    criterion: Name | None = Field(default=None, description="compare on one criterion")


class ExploreIn(_In):
    """Adventurousness: the share of each batch spent on items that teach the model most."""

    share: float = Field(ge=0.0, le=1.0)


class MatchingIn(_In):
    """Opt in to private matching (True) or out (False)."""

    enabled: bool = Field(strict=True)


class MatchingOut(BaseModel):
    enabled: bool = Field(description="the user opted in")
    available: bool = Field(description="a population refresh released opted-in users to match")
    listed: bool = Field(description="others can be matched with this user now")


class MatchOut(BaseModel):
    handle: str = Field(description="a pseudonym, stable per user; never the user id")
    similarity: Literal["very similar", "similar", "somewhat similar", "different"]


class MatchesOut(BaseModel):
    matches: list[MatchOut]


class UserOut(BaseModel):
    user_id: str
    token: str = Field(description="Send as `Authorization: Bearer <token>`; keep it secret.")


class ItemOut(BaseModel):
    id: str
    source: str = Field(
        description="exploit, explore, pair, recommend, reverse, or favourite / liked: a rated item"
        " that For-you shows again because nothing new is confidently better"
    )
    content: dict[str, str] = Field(description="media type -> URL of the item's bytes")
    metadata: dict[str, Any] = Field(description="facts about the content, per domain")
    score: float | None = Field(default=None, description="predicted probability of a like")
    criteria: dict[str, float] | None = Field(
        default=None, description="criterion -> predicted probability of a like on it"
    )


class ItemsOut(BaseModel):
    items: list[ItemOut]


class CardOut(BaseModel):
    kind: Literal["swipe", "pair", "choice"] = Field(
        description="swipe: like or dislike the item (/api/feedback); pair: say which of the "
        "two the user prefers (/api/compare); choice: say which of the items the user likes "
        "most (/api/compare with the rest as `other_id` and `others`)"
    )
    items: list[ItemOut] = Field(
        description="one item (swipe), two (pair: the likelier liked first, or a champion "
        "duel in random order) or more (choice: the user's champion and challengers made "
        "near it, in random order)"
    )


class CardsOut(BaseModel):
    cards: list[CardOut]


class ConstraintsIn(_In):
    """Recommendations under constraints between criteria."""

    k: int = Field(default=6, ge=1, le=50)
    maximize: Name | None = Field(default=None, description="None: the overall taste")
    at_least: dict[Name, Probability] = Field(default_factory=dict, max_length=10)


class CriteriaOut(BaseModel):
    rated: dict[str, int] = Field(description="criterion -> ratings given on it")
    defined: list[str] | None = Field(description="the operator's criteria; None: any name")


class ContextsOut(BaseModel):
    current: str | None = Field(description="the context of this request; None: the default")
    contexts: list[str] = Field(description="contexts the user has rated in")


class ParetoOut(BaseModel):
    first: str
    second: str
    points: list[tuple[float, float]] = Field(description="(first, second) probabilities")


class EventOut(BaseModel):
    event: dict[str, Any]
    ratings: int


class StatusOut(BaseModel):
    user_id: str
    domain: str
    ratings: int
    confidence: float = Field(
        description="how well the model knows the taste, 0-1 (about the expected squared "
        "cosine between the learned and the true taste direction)"
    )
    explore: float


class ExplainOut(BaseModel):
    user_id: str
    ratings: int
    traits: list[dict[str, Any]]
    best_predicted_like: float
    changes_of_taste: int
    summary: str


class DomainOut(BaseModel):
    name: str
    modality: str
    media_types: list[str]
    latent_dim: int


def item_out(item: Item, cache: ContentCache, score: float | None = None) -> ItemOut:
    """An item as the API shows it: links to its bytes in every media type, and its facts
    (from `cache`, which holds those of pool items)."""
    generator = cache.generator
    return ItemOut(
        id=item.id,
        source=item.source,
        content={
            media_type: f"/api/items/{item.id}/content?type={quote(media_type, safe='')}"
            for media_type in generator.media_types
        },
        metadata=cache.metadata(item.latent, item.content),
        score=None if score is None else round(score, 4),
    )
