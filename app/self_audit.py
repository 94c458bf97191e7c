"""The service audits itself (DESIGN §8): each search, scroll page, aggregation,
export, key change and ingest batch becomes an event in the ``system`` namespace.

Endpoints call ``note(...)`` once per request with what they did; the recorder
installed by ``init_app`` turns the note into an event after the response.
"""

from __future__ import annotations

from typing import Any

from flask import g

SYSTEM_NAMESPACE = "system"


def note(action: str, namespace: str, *, query: str = "", count: int | None = None,
         **details: Any) -> None:
    """Record what this request did (e.g. ``audit.search`` in ``ns`` with ``query``, ``count``)."""
    g.audit_note = {"action": action, "namespace": namespace, "query": query, "count": count,
                    **details}
