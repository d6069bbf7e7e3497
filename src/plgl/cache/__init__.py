"""Content cache and candidate pools, by URL: memory:// (default), sqlite:///path, redis://.

>>> import plgl
>>> engine = plgl.Engine(plgl.generators.get("identity", latent_dim=4), cache="memory://")
>>> item = engine.session("u").ask(1)[0]
>>> engine.session("u").render(item.id)[1], engine.cache.stats["render_hits"]
('image/svg+xml', 0)
"""

import typing as _typing

from plgl._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from plgl.cache._base import BaseCache
    from plgl.cache.content import ContentCache
    from plgl.cache.groups import pregenerate_groups
    from plgl.cache.memory import MemoryCache
    from plgl.cache.pool import CandidatePool, pregenerate
    from plgl.cache.urls import from_url
    from plgl.errors import CacheUnavailableError

__all__ = [
    "BaseCache",
    "CacheUnavailableError",
    "CandidatePool",
    "ContentCache",
    "MemoryCache",
    "from_url",
    "pregenerate",
    "pregenerate_groups",
]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "BaseCache": "plgl.cache._base:BaseCache",
        "CacheUnavailableError": "plgl.errors:CacheUnavailableError",
        "CandidatePool": "plgl.cache.pool:CandidatePool",
        "ContentCache": "plgl.cache.content:ContentCache",
        "MemoryCache": "plgl.cache.memory:MemoryCache",
        "from_url": "plgl.cache.urls:from_url",
        "pregenerate": "plgl.cache.pool:pregenerate",
        "pregenerate_groups": "plgl.cache.groups:pregenerate_groups",
    },
    __all__,
)
