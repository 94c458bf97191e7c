"""Signed tokens: opaque, URL-safe, tamper-evident and bound to where they were issued.

One mechanism for every token the service hands out (scroll ids, follow
cursors): ``HMAC-SHA256(secret, purpose | context | payload)`` followed by the
payload, base64url without padding. ``purpose`` keeps a token of one kind
from being accepted as another; ``context`` (e.g. namespace, key and query)
is signed but not carried, so a token presented under another context fails
verification like a tampered one, and stays short. Instances that share
``AUDITLOG_SECRET`` accept each other's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAC_BYTES = 32


class InvalidToken(ValueError):
    """The token is malformed, tampered, or issued for another purpose or context."""


def _frame(*parts: bytes) -> bytes:
    """Length-prefixed parts, so no two different tuples sign the same bytes."""
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


class TokenSigner:
    """Seals and opens tokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, purpose: bytes, context: bytes, payload: bytes) -> bytes:
        return hmac.new(self._secret, _frame(purpose, context, payload), hashlib.sha256).digest()

    def seal(self, purpose: bytes, payload: bytes, context: bytes = b"") -> str:
        """A URL-safe token carrying ``payload``, valid only for ``purpose`` and ``context``."""
        raw = self._mac(purpose, context, payload) + payload
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def open(self, purpose: bytes, token: str, context: bytes = b"") -> bytes:
        """The payload of a token sealed for ``purpose`` and ``context``; raise InvalidToken."""
        try:
            raw = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4))
        except (ValueError, TypeError, UnicodeEncodeError):
            raise InvalidToken("malformed token") from None
        mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
        if len(mac) != MAC_BYTES or not hmac.compare_digest(
                mac, self._mac(purpose, context, payload)):
            raise InvalidToken("token is not valid here")
        return payload
