"""User tokens: a random user id and its HMAC, so the server keeps no token table.

>>> tokens = Tokens(b"k" * 32)
>>> user_id, token = tokens.issue()
>>> tokens.verify(token) == user_id, tokens.verify(token[:-1] + "x")
(True, None)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_USER_ID = re.compile(r"u_[0-9a-f]{32}")


class Tokens:
    """Issues and checks bearer tokens `<user id>.<signature>` under one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self) -> tuple[str, str]:
        """(user id, token) for a new user."""
        user_id = "u_" + secrets.token_hex(16)
        return user_id, f"{user_id}.{self._sign(user_id)}"

    def verify(self, token: str) -> str | None:
        """The user id a token was issued for, or None if it is not a genuine token."""
        user_id, _, signature = token.partition(".")
        if not _USER_ID.fullmatch(user_id):
            return None
        return user_id if hmac.compare_digest(signature, self._sign(user_id)) else None

    def _sign(self, user_id: str) -> str:
        digest = hmac.new(self._key, user_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
