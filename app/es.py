"""The Elasticsearch connection: building the client and translating its errors.

This module is the one boundary where ``elasticsearch`` exceptions become the
service's own (``app.errors``)::

    ConnectionError, SerializationError of transport  -> StoreUnavailable (503)
    ConnectionTimeout                                  -> StoreTimeout (504)
    ApiError 400 (e.g. a regex too complex)           -> InvalidInput (400)
    ApiError 429 (circuit breaker, too many scrolls)  -> RateLimited (429)
    ApiError 503 / 5xx                                -> StoreUnavailable (503)
    ApiError 504                                      -> StoreTimeout (504)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import elasticsearch
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import Elasticsearch

from app import local_es
from app.errors import AuditlogError, InvalidInput, RateLimited, StoreTimeout, StoreUnavailable
from app.timed_transport import TimedTransport


def resolve_url(config: Mapping[str, Any]) -> str:
    """ELASTICSEARCH_URL, else the URL of the local node this machine runs.

    Raises StoreUnavailable when neither is there.
    """
    if config.get("ELASTICSEARCH_URL"):
        return str(config["ELASTICSEARCH_URL"])
    state = local_es.read_state()
    if state is None:
        raise StoreUnavailable(
            "no Elasticsearch configured: set ELASTICSEARCH_URL or run "
            "`auditlog elasticsearch start`"
        )
    return state.url


def make_client(config: Mapping[str, Any]) -> Elasticsearch:
    """An Elasticsearch client configured from the settings table."""
    kwargs: dict[str, Any] = {
        "request_timeout": float(config.get("ELASTICSEARCH_TIMEOUT") or 30.0),
        "retry_on_timeout": False,
        "max_retries": 1,
        # orjson: fast (de)serialisation of bulk bodies and hits.
        "serializer": elasticsearch.OrjsonSerializer(),
        # Times every request for /metrics (auditlog_elasticsearch_request_duration_seconds).
        "transport_class": TimedTransport,
    }
    if config.get("ELASTICSEARCH_USERNAME"):
        kwargs["basic_auth"] = (
            config["ELASTICSEARCH_USERNAME"],
            config.get("ELASTICSEARCH_PASSWORD") or "",
        )
    if config.get("ELASTICSEARCH_API_KEY"):
        kwargs["api_key"] = config["ELASTICSEARCH_API_KEY"]
    if config.get("ELASTICSEARCH_CA_CERTS"):
        kwargs["ca_certs"] = config["ELASTICSEARCH_CA_CERTS"]
    return Elasticsearch(resolve_url(config), **kwargs)


def translate_store_error(exc: BaseException) -> AuditlogError | None:
    """The service error for an Elasticsearch exception, or None if it is not one."""
    if isinstance(exc, ConnectionTimeout):
        return StoreTimeout("Elasticsearch did not answer in time")
    if isinstance(exc, TransportConnectionError):
        return StoreUnavailable("Elasticsearch is unavailable")
    if isinstance(exc, elasticsearch.ApiError):
        status = exc.meta.status if exc.meta is not None else 0
        if status == 400:
            # Our queries are well-formed; a 400 means user content Elasticsearch refused
            # (e.g. a regex too complex to determinise).
            return InvalidInput(f"Elasticsearch rejected the request: {_reason(exc)}")
        if status == 429:
            return RateLimited(f"Elasticsearch is overloaded: {_reason(exc)}", retry_after=1)
        if status == 504:
            return StoreTimeout("Elasticsearch timed out")
        if status >= 500:
            return StoreUnavailable(f"Elasticsearch failed: {_reason(exc)}")
    return None


def _reason(exc: elasticsearch.ApiError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        return str(root.get("reason") or root.get("type") or exc.message)
    return str(exc.message)


@contextlib.contextmanager
def store_errors() -> Iterator[None]:
    """Raise service errors for the Elasticsearch failures of the block."""
    try:
        yield
    except (elasticsearch.ApiError, elasticsearch.TransportError) as exc:
        translated = translate_store_error(exc)
        if translated is None:
            raise
        raise translated from exc
