"""Authentication and authorization in one place (DESIGN §8).

Every endpoint but health asks ``require(role, namespace)``: it reads
``Authorization: Bearer <key>`` (or ``APIToken <key>``, or the key alone with
no scheme, as Immuta's clients send it; on the Loki-compatible surface also
HTTP basic auth with the key as password), resolves the key to a Principal, and
raises Unauthenticated (401) or Forbidden (403). The ``AUDITLOG_ADMIN_KEY``
setting is accepted as an admin of every namespace; other keys come from the
key store. In place of a key, an access token (``app.access.tokens``) names
its key, which is resolved again at every request. A failed authentication
counts against the client's address (``app.access.auth_failures``).
Namespace ``system`` holds the service's own audit trail: only admins read it
and no key writes it.
"""

from __future__ import annotations

import hmac

from flask import current_app, g, request

from app.access import auth_failures, tokens
from app.errors import AuditlogError, Forbidden, Unauthenticated
from app.model.event import SYSTEM_NAMESPACE
from app.model.principal import Principal
from app.store.extension import store

ADMIN_KEY_ID = "admin-key"
INVALID_KEY = "the API key is not valid (unknown, revoked or expired)"
INVALID_TOKEN = ("the access token is not valid (malformed, tampered or expired, or its key "
                 "is revoked or expired)")
# Surfaces (blueprints) whose clients send the key as the password of HTTP basic auth:
# Grafana's Loki data source and logcli (``--password``).
BASIC_AUTH_SURFACES = frozenset({"loki"})


def presented_secret() -> str:
    """The key (or token) in the Authorization header; raise Unauthenticated when there is
    none.

    On BASIC_AUTH_SURFACES the key may also be the password of HTTP basic auth
    (the user name is ignored).
    """
    header = request.headers.get("Authorization", "").strip()
    scheme, _, secret = header.partition(" ")
    if request.blueprint in BASIC_AUTH_SURFACES and scheme.lower() == "basic":
        auth = request.authorization
        password = auth.password if auth is not None and auth.type == "basic" else None
        if password:
            return password
        raise Unauthenticated("an API key is required: send it as the basic auth password "
                              "or as `Authorization: Bearer <key>`")
    if header and not secret:
        return header  # the key alone, with no scheme
    if scheme.lower() not in ("bearer", "apitoken") or not secret.strip():
        raise Unauthenticated(
            "an API key is required: send `Authorization: Bearer <key>`"
        )
    return secret.strip()


def _admin() -> Principal:
    return Principal(ADMIN_KEY_ID, "admin", None, name="AUDITLOG_ADMIN_KEY")


def key_principal(secret: str) -> Principal | None:
    """The Principal of an API key (the admin key or a stored one); None when unknown,
    revoked or expired. Tokens are not keys here."""
    admin_key = current_app.config.get("AUDITLOG_ADMIN_KEY")
    if admin_key and hmac.compare_digest(secret.encode(), str(admin_key).encode()):
        return _admin()
    return store.keys.resolve(secret)


def _token_principal(token: str) -> Principal | None:
    try:
        key_id = tokens.key_id_of(token, ADMIN_KEY_ID)
    except tokens.InvalidAccessToken:
        return None
    if key_id == ADMIN_KEY_ID:
        return _admin() if current_app.config.get("AUDITLOG_ADMIN_KEY") else None
    return store.keys.resolve_id(key_id)


def authenticate() -> Principal:
    """The Principal of the current request (cached on ``g``); raise Unauthenticated, or
    RateLimited when the client's address failed too often."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    failure: AuditlogError | None = g.get("auth_failure")
    if failure is not None:
        raise failure  # counted once per request, however often it is asked
    secret = presented_secret()
    is_token = tokens.looks_like_token(secret)
    principal = _token_principal(secret) if is_token else key_principal(secret)
    if principal is None:
        g.auth_failure = auth_failures.refusal(INVALID_TOKEN if is_token else INVALID_KEY)
        raise g.auth_failure
    g.principal = principal
    return principal


def require(role: str, namespace: str | None = None) -> Principal:
    """The caller, checked for ``role`` and, when given, access to ``namespace``."""
    principal = authenticate()
    if not principal.has_role(role):
        raise Forbidden(f"this key's role ({principal.role}) may not do this; needs {role}")
    if namespace == SYSTEM_NAMESPACE:
        # The service's own audit trail: admins read it, nobody writes it through the API.
        if role != "reader":
            raise Forbidden(f"namespace {SYSTEM_NAMESPACE!r} is written only by the service")
        if not principal.has_role("admin"):
            raise Forbidden(f"only admin keys may read namespace {SYSTEM_NAMESPACE!r}")
    if namespace is not None and not principal.can_use(namespace):
        raise Forbidden(f"this key may not use namespace {namespace!r}")
    return principal
