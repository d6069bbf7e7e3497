"""Content cache and candidate pools, by URL: memory:// (default), sqlite:///path, redis://.

>>> import plgl
>>> engine = plgl.Engine(plgl.generators.get("identity", latent_dim=4), cache="memory://")
>>> item = engine.session("u").ask(1)[0]
>>> engine.session("u").render(item.id)[1], engine.cache.stats["render_hits"]
('image/svg+xml', 0)
"""

from plgl.cache._base import BaseCache
from plgl.cache.content import ContentCache
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
]
