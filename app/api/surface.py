"""The prologue every compatibility surface shares (Immuta, Run:ai, Wasabi AiR).

Their URLs carry no namespace, so one call does the common part of each
endpoint: load the query string through the endpoint's schema (400 naming the
parameter), find the key's namespace (``key_namespace``), and then, on demand,
build the search request from the schema's filters, run it through the noted
search (self-audit), or read one event by id. The surface only shapes records.

The namespace: a key with one namespace uses it; a key with several, or an admin
key (all namespaces), names one with ``?namespace=`` (otherwise 400 naming
``namespace``); a namespace the key lacks is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from marshmallow import Schema

from app.access.auth import require
from app.api.namespaces import checked_namespace
from app.api.query_params import described, filters_of, load_args
from app.api.searching import noted_search
from app.engine.filters import filter_query
from app.engine.search import SearchRequest, SearchResult
from app.errors import InvalidInput, NotFound
from app.model.event import ID_PATTERN
from app.model.principal import Principal
from app.model.time_window import TimeWindow
from app.store.extension import store


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


@dataclass(frozen=True)
class SurfaceCall:
    """One request to a compatibility endpoint: its caller, namespace and loaded parameters."""

    principal: Principal
    namespace: str
    params: dict[str, Any]
    schema: Schema

    def filters(self) -> dict[str, Any]:
        """{parameter name: value} of the schema's filter parameters that were given."""
        return filters_of(self.schema, self.params)

    def search(self, window: TimeWindow, limit: int, sort: str, *, offset: int = 0,
               order_by: str = "time", filters: dict[str, Any] | None = None) -> SearchResult:
        """One page of the events matching the filters (``filters`` or the schema's), noted
        in the self-audit trail with the request's parameters."""
        search = SearchRequest(
            namespace=self.namespace,
            query=filter_query(self.filters() if filters is None else filters),
            window=window, limit=limit, sort=sort, order_by=order_by, offset=offset)
        return noted_search(search, self.principal.key_id, self.described())

    def event(self, event_id: str, missing: str) -> dict[str, Any]:
        """The namespace's event with this id; NotFound with ``missing`` when there is none."""
        found = store.events.get(self.namespace, event_id) if ID_PATTERN.fullmatch(
            event_id) else None
        if found is None:
            raise NotFound(missing)
        return found

    @staticmethod
    def described() -> str:
        """The request's parameters as one line (the self-audit event's ``query``)."""
        return described(request.args)


def surface_call(schema: Schema, role: str = "reader") -> SurfaceCall:
    """Load the query string through ``schema`` and find the caller's namespace."""
    params = load_args(schema, request.args)
    principal, namespace = key_namespace(params.get("namespace"), role)
    return SurfaceCall(principal, namespace, params, schema)
