"""auditlog: an audit-log search service over Elasticsearch.

``create_app`` only loads configuration and lets each part register itself.
The packages are layered (see the README's architecture section): ``api``,
``cli`` and ``console`` over ``engine``, ``access`` and ``audit``, over
``store``, over ``model``, over ``errors``; ``observe`` is a leaf.
"""

from __future__ import annotations

import secrets
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
    if not app.config.get("AUDITLOG_SECRET"):
        # One secret per app signs scroll and access tokens; instances share a set one.
        app.config["AUDITLOG_SECRET"] = secrets.token_urlsafe(32)

    # Imported here, not at the top: ``import app`` (which every ``app.*`` import runs,
    # the CLI's included) must not import prometheus_client, because its multi-process
    # mode has to be set up (``app.observe.multiprocess.prepare``) before that import.
    from app import api, console, errors
    from app.access import auth_failures, ratelimit
    from app.api import json_provider, openapi
    from app.audit import notes
    from app.engine.extension import engine_extension
    from app.engine.integrity import integrity_extension
    from app.observe import metrics, telemetry
    from app.store.client import translate_store_error
    from app.store.extension import store

    telemetry.init_app(app)  # JSON logs first: every later part logs through them
    json_provider.init_app(app)
    errors.init_app(app, translate_store_error)
    store.init_app(app)
    engine_extension.init_app(app)
    integrity_extension.init_app(app)
    ratelimit.init_app(app)
    auth_failures.init_app(app)
    notes.init_app(app)
    api.init_app(app)
    console.init_app(app)
    metrics.init_app(app)
    openapi.init_app(app)  # last: documents every route registered above
    return app
