"""The namespace of a compatibility surface: the calling key's, as their URLs carry none.

A key with one namespace uses it; a key with several, or an admin key (all
namespaces), names one with ``?namespace=`` (otherwise 400 naming
``namespace``); a namespace the key lacks is a 403.
"""

from __future__ import annotations

from app.api.namespaces import checked_namespace
from app.auth import Principal, require
from app.errors import InvalidInput


def key_namespace(requested: str | None, role: str = "reader") -> tuple[Principal, str]:
    """The caller and the namespace this request reads; raise InvalidInput or Forbidden."""
    principal = require(role)
    if requested:
        namespace = checked_namespace(requested)
        return require(role, namespace), namespace
    if principal.namespaces is not None and len(principal.namespaces) == 1:
        (namespace,) = principal.namespaces
        return principal, namespace
    held = ("every namespace" if principal.namespaces is None
            else f"{len(principal.namespaces)} namespaces")
    raise InvalidInput(f"namespace: this key may use {held}; choose one with ?namespace=",
                       field="namespace")
