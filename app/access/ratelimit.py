"""Rate limits per API key (DESIGN §8), enforced by Flask-Limiter.

Two budgets, each a set of windows such as ``50/second;1000/minute`` (the
short window is the burst, the long one the sustained rate):

- ``AUDITLOG_RATE_LIMIT``: every request but health checks;
- ``AUDITLOG_EXPORT_RATE_LIMIT``: on top of it, exports and scroll opens — the
  views marked with ``@export_limit``, ``@scroll_open_limit`` or
  ``@export_limit_if(predicate)``.

Buckets are keyed by the authenticated key id, or by the client address when
the request carries no valid key. Counters live in ``AUDITLOG_RATE_LIMIT_STORAGE``
(``memory://`` per process, see ``app.access.limit_storage``; a Redis URL shared by
several instances). Over a limit the answer is ``RateLimited`` (429 JSON from
``app.errors``, with ``Retry-After``); every limited answer carries
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Flask, Response, current_app, request
from flask_limiter import Limit, Limiter, RateLimitExceeded

from app.access.auth import authenticate
from app.access.limit_storage import storage_uri
from app.errors import AuditlogError, RateLimited, error_response

EXTENSION = "auditlog.limiter"
BUDGET_ATTRIBUTE = "auditlog_rate_budget"
EXEMPT_BLUEPRINTS = frozenset({"health"})

F = TypeVar("F", bound=Callable[..., Any])


def export_limit_if(applies: Callable[[], bool]) -> Callable[[F], F]:
    """Count requests to the view for which ``applies()`` (called in the request) is true
    against the export budget; put it under ``@bp.route``."""

    def mark(view: F) -> F:
        setattr(view, BUDGET_ATTRIBUTE, applies)
        return view

    return mark


def _always() -> bool:
    return True


def _opens_scroll() -> bool:
    try:
        body = orjson.loads(request.get_data(cache=True) or b"{}")
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and body.get("scroll") is True


#: Every request to the view spends the export budget (e.g. the streaming export).
export_limit = export_limit_if(_always)
#: Requests whose JSON body has ``"scroll": true`` spend the export budget (a search that
#: opens a scroll); others only the general one.
scroll_open_limit = export_limit_if(_opens_scroll)


def rate_limit_key() -> str:
    """The bucket of the request: its key id, or the client address without a valid key."""
    try:
        return f"key:{authenticate().key_id}"
    except AuditlogError:
        return f"addr:{request.remote_addr or 'unknown'}"


def _uses_export_budget() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    applies = getattr(view, BUDGET_ATTRIBUTE, None)
    return applies is not None and bool(applies())


def _exempt() -> bool:
    return request.blueprint in EXEMPT_BLUEPRINTS


def _limiter() -> Limiter:
    limiter: Limiter = current_app.extensions[EXTENSION]
    return limiter


def _seconds_to_reset(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


def _rate_limited(exc: RateLimitExceeded) -> Response:
    current = _limiter().current_limit
    retry_after = _seconds_to_reset(current.reset_at) if current else 1
    # Never longer than the window itself (a fixed window's reset rounds up past it).
    retry_after = min(retry_after, max(1, int(exc.limit.limit.get_expiry())))
    budget = current.request_args[-1] if current else "request"  # the Limit's scope
    limit = str(exc.limit.limit)
    error = RateLimited(f"rate limit exceeded: {limit} ({budget} budget of this key); "
                        f"retry after {retry_after} s", retry_after=retry_after, limit=limit)
    return error_response(error)


def _headers(response: Response) -> Response:
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None or limiter.current_limit is None:
        return response
    try:
        current = limiter.current_limit
        if not current.breached:
            # The window closest to running out, whichever budget it belongs to.
            current = min(limiter.current_limits, key=lambda lim: lim.remaining)
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["RateLimit-Reset"] = str(_seconds_to_reset(current.reset_at))
    except Exception:  # a storage hiccup must not fail the request
        current_app.logger.warning("rate-limit headers unavailable", exc_info=True)
    return response


def init_app(app: Flask) -> None:
    """Install the limiter with the configured budgets, storage and strategy."""
    config = app.config
    limiter = Limiter(
        rate_limit_key,
        default_limits=[
            Limit(lambda: current_app.config["AUDITLOG_RATE_LIMIT"], shared=True,
                  scope="request", cost=1),
            Limit(lambda: current_app.config["AUDITLOG_EXPORT_RATE_LIMIT"], shared=True,
                  scope="export", cost=1, exempt_when=lambda: not _uses_export_budget()),
        ],
        storage_uri=storage_uri(config["AUDITLOG_RATE_LIMIT_STORAGE"]),
        strategy=config["AUDITLOG_RATE_LIMIT_STRATEGY"],
        headers_enabled=False,  # ours: RateLimit-Reset in seconds, as the IETF draft has it
        swallow_errors=True,  # an unreachable Redis must not take the API down
        key_prefix="auditlog",
        enabled=bool(config["AUDITLOG_RATE_LIMIT_ENABLED"]),
    )
    limiter.request_filter(_exempt)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.after_request(_headers)
