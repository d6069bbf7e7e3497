"""Content: the domain's description, and each item's bytes in each of its media types.

An item's content never changes, so answers carry a strong ETag and may be cached for a year.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from plgl.server.deps import Services, ServicesDep, SessionDep
from plgl.server.errors import ERROR_RESPONSES
from plgl.server.schemas import ITEM_ID_PATTERN, DomainOut

router = APIRouter(prefix="/api", tags=["content"], responses=ERROR_RESPONSES)

_CACHE_CONTROL = "private, max-age=31536000, immutable"
_MEDIA_TYPE = r"^[a-z]+/[a-z0-9.+-]+$"


@router.get("/domain", response_model=DomainOut)
def domain(services: ServicesDep) -> DomainOut:
    """What this server shows: the generator's name, kind of content and media types."""
    generator = services.generator
    return DomainOut(
        name=generator.name,
        modality=generator.modality,
        media_types=list(generator.media_types),
        latent_dim=generator.latent_dim,
    )


@router.get(
    "/items/{item_id}/content",
    response_class=Response,
    responses={200: {"content": {"image/*": {}, "audio/*": {}}, "description": "the bytes"}},
)
def content(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    item_id: Annotated[str, Path(min_length=1, max_length=64, pattern=ITEM_ID_PATTERN)],
    media_type: Annotated[
        str | None, Query(alias="type", max_length=100, pattern=_MEDIA_TYPE)
    ] = None,
) -> Response:
    """One of the caller's items as bytes of `type` (default: the domain's first media type)."""
    generator = services.generator
    media_type = media_type or generator.media_types[0]
    tag = _etag(item_id, media_type, services.engine.cache.config)
    if _matches(request.headers.get("if-none-match"), tag) and _owns(
        services, session.user_id, item_id
    ):
        return Response(status_code=304, headers={"ETag": tag, "Cache-Control": _CACHE_CONTROL})
    body, media_type = session.render(item_id, media_type)
    return Response(
        body, media_type=media_type, headers={"ETag": tag, "Cache-Control": _CACHE_CONTROL}
    )


def _etag(item_id: str, media_type: str, config: str) -> str:
    """A strong tag of an item's bytes as `media_type` from the generator of `config` (its
    digest, `plgl.generators.config_digest`, computed once by the content cache)."""
    key = json.dumps([item_id, media_type, config])
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names `tag` (a list, weak tags and * included)."""
    if if_none_match is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return tag in tags or "*" in tags


def _owns(services: Services, user_id: str, item_id: str) -> bool:
    """Whether the item was served to this user (a 304 must not confirm others' items)."""
    return services.engine.storage.item_latent(user_id, item_id) is not None
