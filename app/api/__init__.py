"""One blueprint per API surface; ``init_app`` registers them all."""

from __future__ import annotations

from flask import Flask

from app.api import (
    discovery,
    export,
    f5,
    follow,
    health,
    holds,
    immuta,
    integrity,
    keys,
    loki,
    native,
    response_headers,
    runai,
    token_exchange,
    wasabi,
)


def init_app(app: Flask) -> None:
    """Register every surface and the headers they all answer with."""
    response_headers.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(native.bp)
    app.register_blueprint(export.bp)
    app.register_blueprint(follow.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(f5.voltshare_bp)
    app.register_blueprint(f5.tenant_bp)
    app.register_blueprint(keys.bp)
    app.register_blueprint(holds.bp)
    app.register_blueprint(integrity.bp)
    app.register_blueprint(immuta.bp)
    app.register_blueprint(runai.bp)
    app.register_blueprint(wasabi.bp)
    app.register_blueprint(token_exchange.immuta_bp)
    app.register_blueprint(token_exchange.runai_bp)
    app.register_blueprint(loki.bp)
