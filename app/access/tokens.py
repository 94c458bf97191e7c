"""Access tokens: an API key traded for a short-lived bearer token (DESIGN §7).

Immuta's and Run:ai's clients first exchange their credentials for a token
(``app.api.token_exchange``) and then send ``Authorization: Bearer <token>``.
Ours is a JSON Web Token (HS256, made and checked by PyJWT, so that clients
which read a token's ``exp`` to renew it in time can; the engine's
``TokenSigner`` seals scroll ids and cursors, which no client reads) with the
claims ``sub`` (the key id), ``aud`` (``auditlog``), ``iat`` and ``exp``
(``AUDITLOG_TOKEN_TTL`` seconds later). It is signed with a key derived from
``AUDITLOG_SECRET``, the secret that also signs scroll tokens, so every
instance sharing the secret accepts it. A token names its key and holds
nothing else: each request resolves the key again, so the token dies with its
key (revoked or expired) and always carries the key's current role and
namespaces. The signing key of an ``AUDITLOG_ADMIN_KEY`` token also covers
that key, so the token dies when the setting changes.
"""

from __future__ import annotations

import hashlib
import time

import jwt
from flask import current_app

AUDIENCE = "auditlog"
ALGORITHM = "HS256"
_CONTEXT = b"auditlog access token\x00"


class InvalidAccessToken(ValueError):
    """The token is malformed, tampered, expired or signed by another service."""


def looks_like_token(credential: str) -> bool:
    """Whether a presented credential is shaped like one of our tokens (a JWS)."""
    return credential.startswith("eyJ") and credential.count(".") == 2


def _signing_key(key_id: str, admin_key_id: str) -> bytes:
    """A 32-byte HMAC key for ``key_id``'s tokens: the service secret's, plus the admin
    key's for an admin-key token (so changing AUDITLOG_ADMIN_KEY voids its tokens)."""
    secret = str(current_app.config["AUDITLOG_SECRET"]).encode()
    material = _CONTEXT + secret
    if key_id == admin_key_id:
        material += b"\x00" + str(current_app.config.get("AUDITLOG_ADMIN_KEY") or "").encode()
    return hashlib.sha256(material).digest()


def issue(key_id: str, admin_key_id: str, now: float | None = None) -> str:
    """A token for the key ``key_id``, valid for AUDITLOG_TOKEN_TTL seconds from ``now``
    (unix seconds; default: the present)."""
    now = int(time.time() if now is None else now)
    claims = {"sub": key_id, "aud": AUDIENCE, "iat": now,
              "exp": now + int(current_app.config["AUDITLOG_TOKEN_TTL"])}
    return jwt.encode(claims, _signing_key(key_id, admin_key_id), algorithm=ALGORITHM)


def key_id_of(token: str, admin_key_id: str) -> str:
    """The key id a genuine, unexpired token names; raise InvalidAccessToken."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        key_id = unverified.get("sub")
        if not isinstance(key_id, str) or not key_id:
            raise InvalidAccessToken("the token names no key")
        claims = jwt.decode(token, _signing_key(key_id, admin_key_id), algorithms=[ALGORITHM],
                            audience=AUDIENCE, options={"require": ["sub", "aud", "iat", "exp"]})
    except jwt.PyJWTError as exc:
        raise InvalidAccessToken(str(exc)) from None
    return str(claims["sub"])
