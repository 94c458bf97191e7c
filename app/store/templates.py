"""The composable index templates (``index_templates/*.json``), applied idempotently.

They are applied when the service starts (``app.store.extension``) and by
``auditlog init``; nothing applies them as a side effect of reading.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import elasticsearch
import orjson
from elasticsearch import Elasticsearch

from app.config import default
from app.store.client import store_errors

log = logging.getLogger(__name__)
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
    """Put every index template (idempotent), and its fields into the indices it already
    made, so that fields added since (``ingested_at``, ``actor.email``, ...; mappings are
    strict) are accepted there too and events of their months can still be written; return
    the templates' names."""
    templates = load_templates(prefix)
    with store_errors():
        for name, body in templates.items():
            client.indices.put_index_template(name=name, **body)
            properties = body["template"].get("mappings", {}).get("properties")
            if properties:
                _add_fields(client, name, body["index_patterns"], properties)
    return list(templates)


def _add_fields(client: Elasticsearch, name: str, patterns: list[str],
                properties: dict[str, Any]) -> None:
    """The template's fields into the indices it made; adding fields is allowed and existing
    ones are left as they are. A field whose type changed since cannot be changed in place:
    that is logged, and the indices keep their mapping."""
    try:
        client.indices.put_mapping(index=",".join(patterns), properties=properties,
                                   allow_no_indices=True, ignore_unavailable=True)
    except elasticsearch.BadRequestError as exc:
        log.warning("indices of template %s keep their mapping: %s", name, exc.message)


def templates_present(client: Elasticsearch, prefix: str) -> bool:
    """Whether every index template is installed (reads only)."""
    with store_errors():
        for name in load_templates(prefix):
            if not client.indices.exists_index_template(name=name):
                return False
    return True
