"""One router per resource: users, the feed, discovery (recommend, reverse), content."""

from plgl.server.routers import content, discover, feed, users

__all__ = ["content", "discover", "feed", "users"]
