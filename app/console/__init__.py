"""The analyst console (DESIGN §11): one page at ``/`` and its static assets.

The page is plain ES modules and one stylesheet from ``static/`` (no build step, no
CDN). It talks to the service only through the public HTTP API, from the browser,
with the key the user signs in with; nothing here reads events. Every response of
this blueprint carries a Content-Security-Policy that allows scripts only from this
origin (no inline scripts or handlers), ``X-Content-Type-Options: nosniff`` and
``frame-ancestors 'none'``.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

bp = Blueprint("console", __name__, static_folder="static", static_url_path="/console/static",
               template_folder="templates")


@bp.get("/")
def index() -> Response:
    """The console page (its state lives in the query string, its key in session storage)."""
    response = Response(render_template("console/index.html"), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.after_request
def security_headers(response: Response) -> Response:
    """The console's security headers on the page and every asset."""
    response.headers.update(SECURITY_HEADERS)
    return response


def init_app(app: Flask) -> None:
    """Serve the console at ``/`` and its assets under ``/console/static/``."""
    app.register_blueprint(bp)
