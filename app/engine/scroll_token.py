"""Scroll tokens: opaque, signed, bound to the namespace and key that opened them.

A token carries the Elasticsearch scroll id and the paging state, sealed by
``app.signed_token`` (HMAC-SHA256 keyed by ``AUDITLOG_SECRET``): any instance
sharing the secret continues the scroll, and a tampered token or one presented
under another namespace or key is worthless.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import orjson

from app.engine.signed_token import InvalidToken, TokenSigner

__all__ = ["ExpiredToken", "InvalidToken", "ScrollState", "ScrollTokens"]
PURPOSE = b"scroll"


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


class ExpiredToken(ValueError):
    """The token is genuine but older than its keep-alive."""


class ScrollTokens:
    """Encodes and verifies scroll tokens with one signer."""

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def encode(self, state: ScrollState) -> str:
        """A URL-safe token for ``state``."""
        return self._signer.seal(PURPOSE, orjson.dumps(asdict(state)))

    def decode(self, token: str, namespace: str, key_id: str) -> ScrollState:
        """The state of a token presented in ``namespace`` by ``key_id``; raise InvalidToken."""
        try:
            payload = self._signer.open(PURPOSE, token)
        except InvalidToken:
            raise InvalidToken("scroll_id is not valid") from None
        try:
            state = ScrollState(**orjson.loads(payload))
        except (orjson.JSONDecodeError, TypeError):
            raise InvalidToken("scroll_id is not valid") from None
        if state.namespace != namespace or state.key_id != key_id:
            raise InvalidToken("scroll_id belongs to another namespace or key")
        if time.time_ns() > state.expires_ns:
            raise ExpiredToken("scroll_id expired")
        return state
