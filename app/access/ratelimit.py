"""Rate limits per API key (DESIGN §8), counted by the ``limits`` library.

Two budgets, each a set of windows such as ``50/second;1000/minute`` (the
short window is the burst, the long one the sustained rate):

- ``AUDITLOG_RATE_LIMIT``: every request but health checks, static files and
  paths no route serves;
- ``AUDITLOG_EXPORT_RATE_LIMIT``: on top of it, exports and scroll opens — the
  views marked with ``@export_limit``, ``@scroll_open_limit`` or
  ``@export_limit_if(predicate)``.

Buckets are keyed by the authenticated key id, or by the client address when
the request carries no valid key. Counters live in ``AUDITLOG_RATE_LIMIT_STORAGE``
(``memory://`` per process, see ``app.access.limit_storage``; a Redis URL shared by
several instances) under the keys Flask-Limiter used (``LIMITER/auditlog/<bucket>/
<budget>/...``). Every window is counted, shortest first, until one is over its
limit; that request is answered ``RateLimited`` (429 JSON from ``app.errors``, with
``Retry-After``). Every limited answer carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds) of the window closest to
running out. An unreachable counter storage lets requests through (and is logged).

The hook calls ``limits`` itself, as ``auth_failures`` does: Flask-Limiter resolved
the same two default limits again on every request, about 0.15 ms of each in the
bench's profile.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from flask import Flask, Response, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import STRATEGIES, RateLimiter

from app.access.auth import authenticate
from app.access.limit_storage import counters
from app.errors import AuditlogError, RateLimited

log = logging.getLogger(__name__)
EXTENSION = "auditlog.limiter"
BUDGET_ATTRIBUTE = "auditlog_rate_budget"
EXEMPT_BLUEPRINTS = frozenset({"health"})
KEY_PREFIX = "auditlog"

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
    endpoint = request.endpoint
    return (not endpoint or endpoint.rsplit(".", 1)[-1] == "static"
            or request.blueprint in EXEMPT_BLUEPRINTS)


def _seconds_to_reset(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


@dataclass(frozen=True)
class _Counted:
    """One window this request was counted in: the limit, its bucket, its budget."""

    limit: RateLimitItem
    identifiers: tuple[str, str, str]  # (KEY_PREFIX, bucket, budget), as the storage keys
    breached: bool

    @property
    def budget(self) -> str:
        return self.identifiers[-1]


class RateLimits:
    """The app's two budgets, counted in one storage with one strategy."""

    def __init__(self, general: str, export: str, storage: Storage, strategy: str) -> None:
        request_windows = [(limit, "request") for limit in parse_many(general)]
        export_windows = [(limit, "export") for limit in parse_many(export)]
        # The windows a request is counted in, shortest first, without or with the export
        # budget (sorted once here, not per request).
        self.windows = {
            False: sorted(request_windows, key=lambda window: window[0]),
            True: sorted(request_windows + export_windows, key=lambda window: window[0]),
        }
        self.limiter: RateLimiter = STRATEGIES[strategy](storage)

    def check(self) -> None:
        """``before_request``: count the request in its windows; raise RateLimited over one."""
        if _exempt():
            return
        windows = self.windows[_uses_export_budget()]
        bucket = rate_limit_key()
        counted: list[_Counted] = []
        try:
            for limit, budget in windows:
                identifiers = (KEY_PREFIX, bucket, budget)
                allowed = self.limiter.hit(limit, *identifiers)
                counted.append(_Counted(limit, identifiers, breached=not allowed))
                if not allowed:
                    break
        except Exception:  # an unreachable Redis must not take the API down
            log.exception("rate-limit counters unavailable; request let through")
            return
        g.rate_limits = counted
        if counted and counted[-1].breached:
            raise self._refusal(counted[-1])

    def _refusal(self, over: _Counted) -> RateLimited:
        try:
            reset_at = self.limiter.get_window_stats(over.limit, *over.identifiers).reset_time
            retry_after = _seconds_to_reset(reset_at)
        except Exception:
            retry_after = 1
        # Never longer than the window itself (a fixed window's reset rounds up past it).
        retry_after = min(retry_after, max(1, int(over.limit.get_expiry())))
        return RateLimited(f"rate limit exceeded: {over.limit} ({over.budget} budget of this "
                           f"key); retry after {retry_after} s", retry_after=retry_after,
                           limit=str(over.limit))

    def headers(self, response: Response) -> Response:
        """``after_request``: the RateLimit-* headers of the window closest to running out
        (the one over its limit, when one is)."""
        counted: list[_Counted] | None = g.get("rate_limits")
        if not counted:
            return response
        try:
            stats = [(self.limiter.get_window_stats(c.limit, *c.identifiers), c)
                     for c in (counted[-1:] if counted[-1].breached else counted)]
            window, closest = min(stats, key=lambda pair: pair[0].remaining)
            response.headers["RateLimit-Limit"] = str(closest.limit.amount)
            response.headers["RateLimit-Remaining"] = str(
                0 if closest.breached else max(0, window.remaining))
            response.headers["RateLimit-Reset"] = str(_seconds_to_reset(window.reset_time))
        except Exception:  # a storage hiccup must not fail the request
            log.warning("rate-limit headers unavailable", exc_info=True)
        return response


def init_app(app: Flask) -> None:
    """Count every request against the configured budgets, unless limits are off."""
    config = app.config
    if not config["AUDITLOG_RATE_LIMIT_ENABLED"]:
        return
    limits = RateLimits(config["AUDITLOG_RATE_LIMIT"], config["AUDITLOG_EXPORT_RATE_LIMIT"],
                        counters(app), config["AUDITLOG_RATE_LIMIT_STRATEGY"])
    app.extensions[EXTENSION] = limits
    app.before_request(limits.check)
    app.after_request(limits.headers)
