"""Scroll tokens: opaque, signed, bound to the namespace and key that opened them.

A token carries the Elasticsearch scroll id and the paging state; its HMAC
(SHA-256, keyed by ``AUDITLOG_SECRET``) lets any instance sharing the secret
continue the scroll, and makes a tampered token or one presented under another
namespace or key worthless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import asdict, dataclass

import orjson


@dataclass(frozen=True)
class ScrollState:
    """What a token holds."""

    scroll_id: str  # Elasticsearch's
    namespace: str
    key_id: str
    limit: int
    delivered: int  # events delivered so far
    total: int  # total hits of the search
    expires_ns: int  # this token is void after (last use + keep-alive)


class InvalidToken(ValueError):
    """The token is malformed, tampered, or bound to another namespace or key."""


class ExpiredToken(ValueError):
    """The token is genuine but older than its keep-alive."""


class ScrollTokens:
    """Encodes and verifies scroll tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def encode(self, state: ScrollState) -> str:
        """A URL-safe token for ``state``."""
        payload = orjson.dumps(asdict(state))
        raw = self._mac(payload) + payload
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, token: str, namespace: str, key_id: str) -> ScrollState:
        """The state of a token presented in ``namespace`` by ``key_id``; raise InvalidToken."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise InvalidToken("malformed scroll_id") from None
        mac, payload = raw[:32], raw[32:]
        if len(mac) != 32 or not hmac.compare_digest(mac, self._mac(payload)):
            raise InvalidToken("scroll_id is not valid")
        try:
            state = ScrollState(**orjson.loads(payload))
        except (orjson.JSONDecodeError, TypeError):
            raise InvalidToken("scroll_id is not valid") from None
        if state.namespace != namespace or state.key_id != key_id:
            raise InvalidToken("scroll_id belongs to another namespace or key")
        if time.time_ns() > state.expires_ns:
            raise ExpiredToken("scroll_id expired")
        return state
