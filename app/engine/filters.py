"""Parameter filters of the compatibility surfaces -> Elasticsearch query, via the field registry.

A surface passes ``{parameter name: [values]}``; each name is a registry name
or alias (``dataSourceId``, ``source_type``, ``target_kind`` ...), so the
blueprints hold no field table of their own. Values of one parameter are ORed
(``terms``), parameters are ANDed (``bool.filter``), and the namespace and
time window are added by the engine (``search.event_filter``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.model.fields import REGISTRY, Field


def field_of(name: str) -> Field:
    """The registry field a parameter or sort name means; KeyError for a name the registry
    does not know (a programming error: surfaces only pass names their schema accepted)."""
    found = REGISTRY.lookup(name)
    if found is None:
        raise KeyError(f"{name!r} is not in the field registry")
    return found


def exact_field(name: str) -> str:
    """The indexed field a filter or sort on ``name`` uses (``query`` -> ``query.keyword``)."""
    field = field_of(name)
    if field.exact_field is None:
        raise KeyError(f"{name!r} ({field.name}) is not filterable")
    return field.exact_field


def value_filter(name: str, values: Sequence[str]) -> dict[str, Any]:
    """``term`` for one value, ``terms`` for several (ORed), on the field ``name`` means."""
    target = exact_field(name)
    if len(values) == 1:
        return {"term": {target: values[0]}}
    return {"terms": {target: list(dict.fromkeys(values))}}


def filter_query(filters: Mapping[str, Sequence[str] | str | None]) -> dict[str, Any]:
    """The ANDed filters of the given parameters (None or empty ones skipped); ``{}`` if none."""
    clauses = []
    for name, given in filters.items():
        if given is None:
            continue
        values = [given] if isinstance(given, str) else list(given)
        if values:
            clauses.append(value_filter(name, values))
    return {"bool": {"filter": clauses}} if clauses else {}
