"""The event store on Elasticsearch: monthly indices, templates, writes and reads by id.

Indices are ``<prefix>-events-YYYY.MM``, chosen from each event's own time (a
retry lands in the same index, where ``op_type=create`` finds the duplicate),
and searched through the pattern ``<prefix>-events-*``.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from app.es import store_errors
from app.events import Event, doc_id
from app.timestamps import NS_PER_S, month_of

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "index_templates"
# Names in the template files are written with the default prefix.
DEFAULT_PREFIX = "audit"
NS_PER_DAY = 86_400 * NS_PER_S
_BULK_FILTER = "errors,items.*.status,items.*.error"


@dataclass
class WriteResult:
    """What one bulk write did, per event in the order given."""

    created: int = 0
    duplicates: int = 0
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (position, id, reason)


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


@functools.lru_cache(maxsize=4096)
def _month_of_day(day: int) -> str:
    """``month_of`` per UTC day (every event of a batch asks; days repeat)."""
    return month_of(day * NS_PER_DAY)


class EventStore:
    """Reads and writes events of every namespace; callers pass the namespace explicitly."""

    def __init__(self, client: Elasticsearch, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self.pattern = f"{prefix}-events-*"

    def index_for(self, time_ns: int) -> str:
        """The monthly index of an event time."""
        return f"{self.prefix}-events-{_month_of_day(time_ns // NS_PER_DAY)}"

    def apply_templates(self) -> list[str]:
        """Put every index template (idempotent); return their names."""
        templates = load_templates(self.prefix)
        with store_errors():
            for name, body in templates.items():
                self.client.indices.put_index_template(name=name, **body)
        return list(templates)

    def templates_present(self) -> bool:
        """Whether every index template is installed."""
        with store_errors():
            for name in load_templates(self.prefix):
                if not self.client.indices.exists_index_template(name=name):
                    return False
        return True

    def create_events(self, events: Sequence[Event], refresh: str | bool = False) -> WriteResult:
        """Write events with ``op_type=create``; existing ids count as duplicates."""
        result = WriteResult()
        if not events:
            return result
        operations: list[Any] = []
        for event in events:
            operations.append({"create": {"_index": self.index_for(event.time_ns),
                                          "_id": event.doc_id}})
            operations.append(event.source)
        with store_errors():
            # Only what is read below: an answer a tenth the size to parse.
            response = self.client.bulk(operations=operations, refresh=refresh,
                                        filter_path=_BULK_FILTER)
        if not response.get("errors"):
            result.created = len(events)
            return result
        for position, (event, item) in enumerate(zip(events, response["items"], strict=True)):
            outcome = item["create"]
            status = outcome.get("status", 500)
            if status < 300:
                result.created += 1
            elif status == 409:
                result.duplicates += 1
            else:
                error = outcome.get("error") or {}
                reason = error.get("reason") or error.get("type") or f"status {status}"
                result.failed.append((position, event.id, str(reason)))
        return result

    def get(self, namespace: str, event_id: str) -> dict[str, Any] | None:
        """The event with this id in this namespace, or None."""
        with store_errors():
            response = self.client.search(
                index=self.pattern,
                query={"ids": {"values": [doc_id(namespace, event_id)]}},
                size=1,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
        hits = response["hits"]["hits"]
        if not hits:
            return None
        source: dict[str, Any] = hits[0]["_source"]
        # The _id already binds the namespace; this guards against any other writer.
        return source if source.get("namespace") == namespace else None

    def refresh(self, indices: Iterable[str] | None = None) -> None:
        """Make recent writes searchable (tests and CLI use this)."""
        with store_errors():
            self.client.indices.refresh(
                index=",".join(indices) if indices else self.pattern,
                ignore_unavailable=True,
                allow_no_indices=True,
            )
