"""One router per resource: users, the feed, discovery (recommend, reverse), content, criteria
and contexts, matching."""

from plgl.server.routers import content, criteria, discover, feed, matching, users

__all__ = ["content", "criteria", "discover", "feed", "matching", "users"]
