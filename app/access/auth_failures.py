"""Failed authentication, throttled per client address (DESIGN §8).

After ``MAX_FAILURES`` failed authentications from one address within
``WINDOW_S`` seconds (a moving window of the ``limits`` library), further
attempts from it with a wrong or unknown key, a bad access token, or wrong
credentials at a token endpoint are answered 429 with ``Retry-After`` (at most
``WINDOW_S`` seconds); a valid key from the same address still works. The
counters live where the rate limits' do (``AUDITLOG_RATE_LIMIT_STORAGE``), and
``AUDITLOG_RATE_LIMIT_ENABLED=false`` switches this off with them.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from limits import RateLimitItemPerMinute
from limits.strategies import MovingWindowRateLimiter

from app.access.limit_storage import counters
from app.errors import AuditlogError, RateLimited, Unauthenticated

log = logging.getLogger(__name__)
EXTENSION = "auditlog.auth_failures"
MAX_FAILURES = 20
WINDOW_S = 60
_LIMIT = RateLimitItemPerMinute(MAX_FAILURES)


def refusal(message: str) -> AuditlogError:
    """Count a failed authentication from the client's address; the error to answer it
    with: Unauthenticated, or RateLimited once the address is over the limit."""
    limiter: MovingWindowRateLimiter | None = current_app.extensions.get(EXTENSION)
    address = request.remote_addr or "unknown"
    if limiter is None:
        return Unauthenticated(message)
    try:
        if limiter.hit(_LIMIT, "auth-failures", address):
            return Unauthenticated(message)
        reset_at = limiter.get_window_stats(_LIMIT, "auth-failures", address).reset_time
    except Exception:  # an unreachable counter storage must not take the API down
        log.warning("failed-authentication counter unavailable", exc_info=True)
        return Unauthenticated(message)
    retry_after = min(WINDOW_S, max(1, math.ceil(reset_at - time.time())))
    return RateLimited(f"too many failed authentications from this address; retry after "
                       f"{retry_after} s", retry_after=retry_after)


def init_app(app: Flask) -> None:
    """Count failed authentications in the rate limits' storage, unless limits are off."""
    enabled = bool(app.config["AUDITLOG_RATE_LIMIT_ENABLED"])
    app.extensions[EXTENSION] = MovingWindowRateLimiter(counters(app)) if enabled else None
