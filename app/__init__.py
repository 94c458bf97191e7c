"""auditlog: an audit-log search service over Elasticsearch.

``create_app`` only loads configuration and lets each part register itself.
"""

from __future__ import annotations

import logging
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
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.basicConfig(level=app.config["AUDITLOG_LOG_LEVEL"])

    from app import api, errors, services

    errors.init_app(app)
    services.init_app(app)
    api.init_app(app)
    return app
