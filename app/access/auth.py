"""Authentication and authorization in one place (DESIGN §8).

Every endpoint but health asks ``require(role, namespace)``: it reads
``Authorization: Bearer <key>`` (or ``APIToken <key>``; on the Loki-compatible
surface also HTTP basic auth with the key as password), resolves the key to a
Principal, and raises Unauthenticated (401) or Forbidden (403). The
``AUDITLOG_ADMIN_KEY`` setting is accepted as an admin of every namespace;
other keys come from the key store, registered as the resolver by ``app.access.keys``.
Namespace ``system`` holds the service's own audit trail: only admins read it
and no key writes it.
"""

from __future__ import annotations

import hmac

from flask import current_app, g, request

from app.errors import Forbidden, Unauthenticated
from app.model.event import SYSTEM_NAMESPACE
from app.model.principal import Principal
from app.store.extension import store

ADMIN_KEY_ID = "admin-key"
# Surfaces (blueprints) whose clients send the key as the password of HTTP basic auth:
# Grafana's Loki data source and logcli (``--password``).
BASIC_AUTH_SURFACES = frozenset({"loki"})


def presented_secret() -> str:
    """The key in the Authorization header; raise Unauthenticated when there is none.

    On BASIC_AUTH_SURFACES the key may also be the password of HTTP basic auth
    (the user name is ignored).
    """
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if request.blueprint in BASIC_AUTH_SURFACES and scheme.lower() == "basic":
        auth = request.authorization
        password = auth.password if auth is not None and auth.type == "basic" else None
        if password:
            return password
        raise Unauthenticated("an API key is required: send it as the basic auth password "
                              "or as `Authorization: Bearer <key>`")
    if scheme.lower() not in ("bearer", "apitoken") or not secret.strip():
        raise Unauthenticated(
            "an API key is required: send `Authorization: Bearer <key>`"
        )
    return secret.strip()


def authenticate() -> Principal:
    """The Principal of the current request (cached on ``g``); raise Unauthenticated."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    secret = presented_secret()
    admin_key = current_app.config.get("AUDITLOG_ADMIN_KEY")
    principal: Principal | None = None
    if admin_key and hmac.compare_digest(secret.encode(), str(admin_key).encode()):
        principal = Principal(ADMIN_KEY_ID, "admin", None, name="AUDITLOG_ADMIN_KEY")
    else:
        principal = store.keys.resolve(secret)
    if principal is None:
        raise Unauthenticated("the API key is not valid (unknown, revoked or expired)")
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
