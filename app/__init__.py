"""auditlog: an audit-log search service over Elasticsearch.

``create_app`` only loads configuration and lets each part register itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from app import config as settings


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment, overridden by ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping(settings.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["AUDITLOG_MAX_BODY_BYTES"]

    from app import (
        api,
        errors,
        json_provider,
        keys,
        metrics,
        openapi,
        ratelimit,
        self_audit,
        services,
        telemetry,
    )

    telemetry.init_app(app)  # JSON logs first: every later part logs through them
    json_provider.init_app(app)
    errors.init_app(app)
    services.init_app(app)
    keys.init_app(app)
    ratelimit.init_app(app)
    self_audit.init_app(app)
    api.init_app(app)
    metrics.init_app(app)
    openapi.init_app(app)  # last: documents every route registered above
    return app
