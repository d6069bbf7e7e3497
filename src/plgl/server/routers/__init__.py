"""One router per resource: users, the feed, discovery (recommend, reverse), content, criteria
and contexts."""

from plgl.server.routers import content, criteria, discover, feed, users

__all__ = ["content", "criteria", "discover", "feed", "users"]
