"""The composable index templates (``index_templates/*.json``), applied idempotently.

They are applied when the service starts (``app.store.extension``) and by
``auditlog init``; nothing applies them as a side effect of reading.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from app.config import default
from app.model.event import STAMP
from app.store.client import store_errors

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "index_templates"
# Names in the template files are written with the default prefix.
DEFAULT_PREFIX = default("AUDITLOG_INDEX_PREFIX")


def load_templates(prefix: str, directory: Path = TEMPLATES_DIR) -> dict[str, dict[str, Any]]:
    """The composable index templates of ``directory``, renamed for ``prefix``."""

    def rename(name: str) -> str:
        if name.startswith(f"{DEFAULT_PREFIX}-"):
            return f"{prefix}-{name[len(DEFAULT_PREFIX) + 1:]}"
        return name

    templates: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        body = orjson.loads(path.read_bytes())
        body = copy.deepcopy(body)
        body["index_patterns"] = [rename(p) for p in body["index_patterns"]]
        templates[rename(path.stem)] = body
    return templates


def apply_templates(client: Elasticsearch, prefix: str) -> list[str]:
    """Put every index template (idempotent); return their names.

    Event indices created under an older template get the fields added since
    (``ingested_at``), so events of their months can still be written.
    """
    templates = load_templates(prefix)
    with store_errors():
        for name, body in templates.items():
            client.indices.put_index_template(name=name, **body)
        client.indices.put_mapping(index=f"{prefix}-events-*",
                                   properties={STAMP: {"type": "date_nanos"}},
                                   ignore_unavailable=True, allow_no_indices=True)
    return list(templates)


def templates_present(client: Elasticsearch, prefix: str) -> bool:
    """Whether every index template is installed (reads only)."""
    with store_errors():
        for name in load_templates(prefix):
            if not client.indices.exists_index_template(name=name):
                return False
    return True
