"""What the console's editor and sidebar complete from: a namespace's label names and
the most frequent values of a field (``GET .../fields`` and ``.../fields/{f}/values``).

Both stay inside one namespace: label names come from the index mappings (shared by
every namespace) but only those that hold a value in this namespace's events are
kept, checked with one ``filters`` aggregation of ``exists`` queries under the
namespace term; values are a ``terms`` aggregation under ``event_filter``, which
carries the namespace term like every other read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.engine.search import SearchEngine, event_filter
from app.model.fields import IP, LABEL_KEY, LABEL_PREFIX, Field
from app.model.time_window import TimeWindow
from app.store.client import store_errors

MAX_LABELS = 500
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
# An ip field has no prefix query: its top values are read this deep and filtered here.
IP_PREFIX_DEPTH = 1000
_ALL_TIME = TimeWindow(None, None)


@dataclass(frozen=True)
class ValueCount:
    """One value of a field and how many matching events hold it."""

    value: str
    count: int


def label_names(engine: SearchEngine, namespace: str) -> list[str]:
    """The ``labels.<key>`` names that hold a value in some event of ``namespace``, sorted."""
    with store_errors():
        mappings = engine.client.indices.get_mapping(
            index=engine.store.pattern, ignore_unavailable=True, allow_no_indices=True)
    candidates: set[str] = set()
    for index in mappings.values():
        labels = index.get("mappings", {}).get("properties", {}).get("labels", {})
        candidates.update(key for key in labels.get("properties", {}) if LABEL_KEY.fullmatch(key))
    if not candidates:
        return []
    names = sorted(f"{LABEL_PREFIX}{key}" for key in candidates)[:MAX_LABELS]
    filters = {name: {"exists": {"field": name}} for name in names}
    with store_errors():
        response = engine.client.search(
            index=engine.store.pattern, ignore_unavailable=True, allow_no_indices=True, size=0,
            track_total_hits=False, query=event_filter(namespace, {}, _ALL_TIME),
            aggs={"labels": {"filters": {"filters": filters}}})
    buckets = response.get("aggregations", {}).get("labels", {}).get("buckets", {})
    return [name for name in names if buckets.get(name, {}).get("doc_count", 0) > 0]


def top_values(engine: SearchEngine, namespace: str, field: Field, query: dict[str, Any],
               window: TimeWindow, prefix: str = "",
               limit: int = DEFAULT_LIMIT) -> list[ValueCount]:
    """The most frequent values of ``field`` among the matching events, most frequent first
    (ties by value); ``prefix`` keeps the values that start with it, ignoring case.

    ``field`` must be aggregatable (keyword, text with a keyword sub-field, or ip).
    """
    path = field.exact_field
    if path is None or not field.aggregatable:
        raise ValueError(f"field {field.name!r} has no values to list")
    full_query = event_filter(namespace, query, window)
    size = limit
    if prefix and field.kind == IP:
        size = max(limit, IP_PREFIX_DEPTH)
    elif prefix:
        full_query["bool"]["filter"].append(
            {"prefix": {path: {"value": prefix, "case_insensitive": True}}})
    terms = {"field": path, "size": size, "order": [{"_count": "desc"}, {"_key": "asc"}]}
    with store_errors():
        response = engine.client.search(
            index=engine.store.pattern, ignore_unavailable=True, allow_no_indices=True, size=0,
            track_total_hits=False, query=full_query, aggs={"values": {"terms": terms}})
    buckets = response.get("aggregations", {}).get("values", {}).get("buckets", [])
    values = [ValueCount(str(b.get("key_as_string", b["key"])), int(b["doc_count"]))
              for b in buckets]
    if prefix and field.kind == IP:
        lowered = prefix.lower()
        values = [v for v in values if v.value.lower().startswith(lowered)]
    return values[:limit]


def namespaces_with_events(engine: SearchEngine, most: int) -> list[str]:
    """The namespaces that hold events (at most ``most``), sorted by name."""
    with store_errors():
        response = engine.client.search(
            index=engine.store.pattern, ignore_unavailable=True, allow_no_indices=True, size=0,
            track_total_hits=False,
            aggs={"namespaces": {"terms": {"field": "namespace", "size": most,
                                           "order": {"_key": "asc"}}}})
    buckets = response.get("aggregations", {}).get("namespaces", {}).get("buckets", [])
    return [str(b["key"]) for b in buckets]
