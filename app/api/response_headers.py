"""Headers every surface answers with: no MIME sniffing, no caching of keyed answers, CORS.

- ``X-Content-Type-Options: nosniff`` on every answer, so a browser never runs
  an export or an error body as something other than its declared type.
- ``Cache-Control: no-store`` on every answer but the public ones (health,
  metrics, the OpenAPI document and its page, the console's page and assets, which
  hold no data and set their own): audit events and key secrets must not stay in
  a browser's or a proxy's cache.
- CORS is off unless ``AUDITLOG_CORS_ORIGINS`` lists origins: no
  ``Access-Control-*`` header is sent, so browsers on other origins cannot read
  answers. With an allow-list, flask-cors answers preflights and allows exactly
  those origins, the ``Authorization`` and ``Content-Type`` request headers and
  no cookies (keys travel in ``Authorization``, never in cookies).
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS

PUBLIC_BLUEPRINTS = frozenset({"health", "metrics", "openapi", "console"})
# Headers a browser script may read from an answer, beyond the CORS-safelisted ones.
EXPOSED = ["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
           "Content-Disposition"]


def _secure(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.blueprint not in PUBLIC_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


def allowed_origins(setting: str | None) -> list[str]:
    """The origins of ``AUDITLOG_CORS_ORIGINS`` (comma-separated; unset or empty: none)."""
    return [origin.strip().rstrip("/") for origin in (setting or "").split(",")
            if origin.strip()]


def init_app(app: Flask) -> None:
    """Add the security headers to every answer; CORS for the configured origins only."""
    app.after_request(_secure)
    origins = allowed_origins(app.config["AUDITLOG_CORS_ORIGINS"])
    if origins:
        CORS(app, origins=origins, allow_headers=["Authorization", "Content-Type"],
             expose_headers=EXPOSED, supports_credentials=False, max_age=600)
