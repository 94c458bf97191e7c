"""The service's errors and the one table that maps them to HTTP.

Exception tree (no HTTP knowledge in the classes themselves)::

    AuditlogError          base: a code, a message and JSON-able details
    ├── InvalidInput       the request is malformed or a value is out of range
    │   └── InvalidEvents  an ingest batch of which no event could be stored
    ├── Unauthenticated    no key, an unknown, revoked or expired key
    ├── Forbidden          the key lacks the role or the namespace
    ├── NotFound           no such event, key or route
    │   └── ScrollExpired  the scroll context is gone (expired or closed)
    ├── Conflict           the request conflicts with what is stored
    ├── PayloadTooLarge    body or batch over the configured limit
    ├── RateLimited        over a rate limit or a capacity (retry_after seconds)
    ├── StoreUnavailable   Elasticsearch cannot be reached (retry_after seconds)
    └── StoreTimeout       Elasticsearch did not answer in time

``STATUS`` maps each class to its status code; ``init_app`` installs handlers
so that every error, including Flask's own (unknown route, wrong method, body
too large) and the query language's ``QueryError``, is answered as JSON
``{"code", "message", ...}`` and never as an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import orjson
from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from query_language import QueryError

log = logging.getLogger(__name__)


class AuditlogError(Exception):
    """Base class: ``code`` is a stable machine-readable name, details go into the body."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"code": self.code, "message": self.message, **self.details}


class InvalidInput(AuditlogError):
    code = "invalid_input"


class InvalidEvents(InvalidInput):
    code = "invalid_events"


class Unauthenticated(AuditlogError):
    code = "unauthenticated"


class Forbidden(AuditlogError):
    code = "forbidden"


class NotFound(AuditlogError):
    code = "not_found"


class ScrollExpired(NotFound):
    code = "scroll_expired"


class Conflict(AuditlogError):
    code = "conflict"


class PayloadTooLarge(AuditlogError):
    code = "payload_too_large"


class RateLimited(AuditlogError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int = 1, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class StoreUnavailable(AuditlogError):
    code = "elasticsearch_unavailable"

    def __init__(self, message: str, retry_after: int = 5, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class StoreTimeout(AuditlogError):
    code = "elasticsearch_timeout"


STATUS: dict[type[AuditlogError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    ScrollExpired: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    RateLimited: 429,
    StoreUnavailable: 503,
    StoreTimeout: 504,
}


def malformed_json(exc: orjson.JSONDecodeError, line_offset: int = 0) -> InvalidInput:
    """InvalidInput for a JSON decoding error, with line, column and position."""
    line = exc.lineno + line_offset
    return InvalidInput(f"malformed JSON at line {line}, column {exc.colno}: {exc.msg}",
                        line=line, column=exc.colno, position=exc.pos)


def status_of(error: AuditlogError) -> int:
    """The HTTP status of an error: its class's entry, else its nearest base's."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


# The error bodies of other services, for the endpoints that stand in for theirs
# (the token exchanges of app.api.token_exchange): status, error -> body.
SERVICE_STYLES: dict[str, Callable[[int, AuditlogError], dict[str, Any]]] = {
    "immuta": lambda status, error: {"statusCode": status, "error": HTTPStatus(status).phrase,
                                     "message": error.message},
    "runai": lambda status, error: {"code": status, "message": error.message},
}


def retry_after_headers(error: AuditlogError) -> dict[str, str]:
    """``Retry-After`` for an error that says when to come back (429, 503), else none."""
    retry_after = getattr(error, "retry_after", None)
    return {} if retry_after is None else {"Retry-After": str(int(retry_after))}


def error_response(error: AuditlogError, style: str | None = None) -> Response:
    """Render an AuditlogError as its JSON response (with Retry-After where it applies);
    ``style`` names a SERVICE_STYLES body to use in place of the service's own."""
    status = status_of(error)
    response = jsonify(error.body() if style is None else SERVICE_STYLES[style](status, error))
    response.status_code = status
    response.headers.update(retry_after_headers(error))
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="auditlog"'
    return response


_HTTP_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        message = "request body is larger than the configured limit (AUDITLOG_MAX_BODY_BYTES)"
    response = jsonify({"code": _HTTP_CODES.get(status, "http_error"), "message": message})
    response.status_code = status
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _query_error(exc: QueryError) -> Response:
    details = exc.as_dict()
    # "field" names the request parameter, as in every 400; the matcher's field moves aside.
    matcher_field = details.pop("field", None)
    body = {"code": "invalid_query", **details, "field": "query"}
    if matcher_field is not None:
        body["matcher_field"] = matcher_field
    response = jsonify(body)
    response.status_code = 400
    return response


Translator = Callable[[BaseException], "AuditlogError | None"]


def _internal_error() -> Response:
    response = jsonify({"code": "internal_error", "message": "internal server error"})
    response.status_code = 500
    return response


def init_app(app: Flask, translate: Translator | None = None) -> None:
    """Answer every error of the app as JSON.

    ``translate`` turns a third-party exception that escaped its boundary (the
    store's, ``app.store.client.translate_store_error``) into a service error;
    anything it does not know is our bug: logged, and answered 500 as JSON.
    """

    def unexpected(exc: Exception) -> Response:
        translated = translate(exc) if translate is not None else None
        if translated is not None:
            return error_response(translated)
        log.exception("unhandled error")
        return _internal_error()

    app.register_error_handler(AuditlogError, error_response)
    app.register_error_handler(QueryError, _query_error)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Exception, unexpected)
