"""The web service: a FastAPI app over `Session`, with a swipe-feed web UI (`plgl serve`)."""

import typing as _typing

from plgl._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from plgl.server.app import create_app
    from plgl.server.settings import Settings

__all__ = ["Settings", "create_app"]

__getattr__, __dir__ = _lazy_exports(
    __name__,
    {
        "Settings": "plgl.server.settings:Settings",
        "create_app": "plgl.server.app:create_app",
    },
    __all__,
)
