"""The web service: a FastAPI app over `Session`, with a swipe-feed web UI (`plgl serve`)."""

from plgl.server.app import create_app
from plgl.server.settings import Settings

__all__ = ["Settings", "create_app"]
