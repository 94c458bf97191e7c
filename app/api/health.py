"""Health: ``/healthz`` (the process is up) and ``/readyz`` (Elasticsearch and templates)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from app.errors import AuditlogError
from app.store.extension import store
from app.store.templates import templates_present

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up.
    ---
    get:
      summary: Liveness (no API key)
      tags: [operations]
      security: []
      responses:
        200:
          description: the process is up
          content: {application/json: {schema: HealthSchema}}
    """
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Elasticsearch answers and the index templates are in place.
    ---
    get:
      summary: Readiness (no API key)
      tags: [operations]
      security: []
      responses:
        200:
          description: ready
          content: {application/json: {schema: HealthSchema}}
        503:
          description: not ready (Elasticsearch down or templates missing)
          content: {application/json: {schema: HealthSchema}}
    """
    try:
        state = store.state
        health = state.client.cluster.health()
        templates = templates_present(state.client, state.prefix)
        ready = health["status"] in ("yellow", "green") and templates
        body = {"status": "ready" if ready else "not_ready",
                "elasticsearch": health["status"], "templates": templates}
    except AuditlogError as exc:
        ready, body = False, {"status": "not_ready", "reason": exc.message}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return response
