"""Events as a compatibility surface shows them, named and typed by the field registry.

A surface record holds every registry field the surface shows (``Field.surfaces``)
that the event has, under the surface's name, in registry order, each followed
by its derived views on that surface (``Field.derived``: Immuta's and Run:ai's
``success`` from ``outcome``, Immuta's ``purposeIds`` array from ``purpose``);
a field the event lacks is left out (every field of the seeds' records is
optional), as is a derived view without a value (``success`` of an unknown
outcome). Values are as stored (times keep their fractional digits) except
where the registry marks a field numeric on the surface: a decimal string is
shown as an integer there (Run:ai's ``tenantId: 1001``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from app.model.fields import REGISTRY, Derived, Field


@lru_cache(maxsize=8)
def _shown(surface: str) -> tuple[tuple[str, Field, tuple[str, ...], Derived | None], ...]:
    shown: list[tuple[str, Field, tuple[str, ...], Derived | None]] = []
    for field in REGISTRY:
        path = tuple(field.name.split("."))
        if surface in field.surfaces:
            shown.append((field.surfaces[surface], field, path, None))
        shown.extend((view.name, field, path, view) for view in field.derived
                     if view.surface == surface)
    return tuple(shown)


def stored_value(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted path of a stored event (``("actor", "id")``), or None."""
    value: Any = event
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def surface_record(event: Mapping[str, Any], surface: str) -> dict[str, Any]:
    """The event in ``surface``'s field names and types."""
    record: dict[str, Any] = {}
    for name, field, path, view in _shown(surface):
        value = stored_value(event, path)
        if value is not None:
            value = (field.surface_value(surface, value) if view is None
                     else field.derived_value(view, value))
        if value is not None:
            record[name] = value
    return record


def surface_value(surface: str, field_name: str, value: Any) -> Any:
    """One stored value of the field ``field_name`` as ``surface`` types it."""
    field = REGISTRY.lookup(field_name)
    return value if field is None else field.surface_value(surface, value)
