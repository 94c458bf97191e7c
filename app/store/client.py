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
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypedDict

import elasticsearch
import msgspec
import orjson
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, SerializationError
from elasticsearch import Elasticsearch
from elasticsearch.serializer import NdjsonSerializer

from app.errors import AuditlogError, InvalidInput, RateLimited, StoreTimeout, StoreUnavailable
from app.store import local_node as local_es
from app.store.transport import TimedTransport


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


class OrjsonNdjsonSerializer(NdjsonSerializer):
    """NDJSON bodies (bulk) with orjson; the client's own NDJSON serialiser uses the stdlib
    json. A line orjson refuses (an integer beyond 64 bits) goes through the stdlib."""

    def json_dumps(self, data: Any) -> bytes:
        try:
            return orjson.dumps(data, default=self.default)
        except orjson.JSONEncodeError:
            return super().json_dumps(data)


class _RawSourceHit(TypedDict, total=False):
    _source: msgspec.Raw
    sort: list[Any]


class _RawSourceHits(TypedDict, total=False):
    hits: list[_RawSourceHit]


class _RawSourcePage(TypedDict, total=False):
    """What a sorted page read of the export needs of a search answer (with the parts
    incomplete_results_error and the client's error handling read); the rest is skipped."""

    _shards: dict[str, Any]
    timed_out: bool
    pit_id: str
    hits: _RawSourceHits
    error: Any
    status: int


_RAW_SOURCE_PAGE = msgspec.json.Decoder(_RawSourcePage)
_RAW_SOURCES: ContextVar[bool] = ContextVar("auditlog_raw_sources", default=False)


@contextlib.contextmanager
def raw_sources() -> Iterator[None]:
    """Within this block, a search answer read on this thread keeps each hit's ``_source``
    as the JSON text Elasticsearch sent (``msgspec.Raw``), not parsed: an answer that is
    passed on as it is stored (the NDJSON export) is then never parsed and re-encoded.
    Only the parts of ``_RawSourcePage`` are decoded."""
    token = _RAW_SOURCES.set(True)
    try:
        yield
    finally:
        _RAW_SOURCES.reset(token)


class StoreJsonSerializer(elasticsearch.OrjsonSerializer):
    """The client's orjson serialiser; inside ``raw_sources`` it decodes answers as
    ``_RawSourcePage``, hits' sources left as JSON text."""

    def loads(self, data: bytes) -> Any:
        if not _RAW_SOURCES.get():
            return super().loads(data)
        try:
            return _RAW_SOURCE_PAGE.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SerializationError(f"Unable to deserialize as a page of hits: {exc}",
                                     errors=(exc,)) from exc


def make_client(config: Mapping[str, Any]) -> Elasticsearch:
    """An Elasticsearch client configured from the settings table."""
    kwargs: dict[str, Any] = {
        "request_timeout": float(config.get("ELASTICSEARCH_TIMEOUT") or 30.0),
        "retry_on_timeout": False,
        "max_retries": 1,
        # orjson: fast (de)serialisation of requests, hits and bulk bodies (and pages whose
        # sources pass through unparsed, see raw_sources).
        "serializers": {StoreJsonSerializer.mimetype: StoreJsonSerializer(),
                        OrjsonNdjsonSerializer.mimetype: OrjsonNdjsonSerializer()},
        # Times every request for /metrics and refuses partial search results.
        "transport_class": CheckedTransport,
        # A 429 is Elasticsearch shedding load: answer it, don't double it (a retried 429
        # also marks the node dead for a growing back-off).
        "retry_on_status": (502, 503, 504),
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
    # Several nodes of one cluster, comma-separated: requests go round the list, and a
    # node that does not answer is skipped (retried on the next) until it is back.
    hosts = [url.strip() for url in resolve_url(config).split(",") if url.strip()]
    return Elasticsearch(hosts, **kwargs)


_OVERLOAD = ("too_many_scroll_contexts_exception", "circuit_breaking_exception",
             "es_rejected_execution_exception")


# The parts of a search answer that say whether it is complete (incomplete_results_error
# reads them): a search's filter_path must keep them.
COMPLETENESS_PATHS = "_shards.failed,_shards.failures,timed_out"


def incomplete_results_error(body: Mapping[str, Any]) -> AuditlogError | None:
    """The error for a search answer that is missing shards or timed out, else None.

    Elasticsearch answers 200 with ``_shards.failed`` when some shards fail (too many
    scroll contexts, a breaker, a node gone): passing that on would return fewer
    events than match, silently.
    """
    shards = body.get("_shards")
    if isinstance(shards, Mapping) and shards.get("failed"):
        failures = shards.get("failures") or [{}]
        reasons = [f.get("reason") or {} for f in failures]
        kinds = {r.get("type", "") for r in reasons}
        first = str(reasons[0].get("reason") or reasons[0].get("type") or "shard failure")
        if any(f.get("status") == 429 for f in failures) or kinds & set(_OVERLOAD):
            return RateLimited(f"Elasticsearch is overloaded: {first}", retry_after=1)
        if any("timeout" in kind for kind in kinds):
            return StoreTimeout(f"Elasticsearch timed out on some shards: {first}")
        return StoreUnavailable(f"Elasticsearch could not search every shard: {first}")
    if body.get("timed_out") is True:
        return StoreTimeout("Elasticsearch timed out before searching everything")
    return None


# A shard that is not started yet: an index created a moment ago (a new month, the first
# event of a namespace, the self-audit writer) is visible to searches before its primary
# shard is allocated. This resolves itself within milliseconds, so such searches are
# retried after a short, growing pause; a shard that stays unassigned still ends in 503.
_NOT_STARTED = "no_shard_available_action_exception"
_NOT_STARTED_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
_MISSING_SHARDS = "Search rejected due to missing shards"


def only_unstarted_shards(body: Mapping[str, Any]) -> bool:
    """True when every failed shard of a search answer failed for not being started: a 200
    with ``_shards.failures``, or the 503 "all shards failed" of a one-shard index."""
    shards = body.get("_shards")
    error = body.get("error")
    if isinstance(shards, Mapping) and shards.get("failed"):
        failures = shards.get("failures") or []
    elif isinstance(error, Mapping):
        failures = error.get("failed_shards") or []
        if not failures:  # a shard not even assigned yet: rejected before any shard ran
            cause = error.get("caused_by") or {}
            return str(cause.get("reason") or "").startswith(_MISSING_SHARDS)
    else:
        return False
    return bool(failures) and all(
        (f.get("reason") or {}).get("type") == _NOT_STARTED for f in failures)


class CheckedTransport(TimedTransport):
    """Refuses partial answers of searches, scrolls and counts (see incomplete_results_error).

    A new search (not the continuation of a scroll, whose shards were fixed when it
    opened) that failed only on shards not started yet is repeated a few times first.
    """

    def perform_request(self, method: str, target: str, *args: Any, **kwargs: Any) -> Any:
        path = target.split("?", 1)[0]
        checked = "/_search" in path or "/_count" in path or path.startswith(("_search", "_count"))
        # Opening a point-in-time on an index created a moment ago meets the same shards.
        checked = checked or (method == "POST" and path.endswith("/_pit"))
        repeatable = checked and "_search/scroll" not in path
        pauses = iter(_NOT_STARTED_PAUSES if repeatable else ())
        while True:
            response = super().perform_request(method, target, *args, **kwargs)
            if not checked or not isinstance(response.body, Mapping):
                return response
            if response.meta.status == 503 and only_unstarted_shards(response.body):
                pause = next(pauses, None)
                if pause is None:
                    return response  # the client raises it: 503
                time.sleep(pause)
                continue
            error = incomplete_results_error(response.body)
            if error is None:
                return response
            pause = next(pauses, None) if only_unstarted_shards(response.body) else None
            self._clear_scroll(response.body)
            if pause is None:
                raise error
            time.sleep(pause)

    def _clear_scroll(self, body: Mapping[str, Any]) -> None:
        """Free the scroll context a refused answer opened; nobody will continue it."""
        scroll_id = body.get("_scroll_id")
        if not scroll_id:
            return
        with contextlib.suppress(Exception):
            super().perform_request(
                "DELETE", "/_search/scroll",
                headers={"accept": "application/json", "content-type": "application/json"},
                body={"scroll_id": [scroll_id]})


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
