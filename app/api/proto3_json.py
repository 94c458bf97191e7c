"""F5 request bodies as protobuf-generated clients write them (proto3's JSON mapping).

F5's clients are generated from its protobuf API, and proto3 JSON has three
habits the native surface does not accept:

- a field at its zero value is the same as an absent one: ``"limit": 0``,
  ``""`` for a string (``query``, ``sort``, ``start_time``, ``end_time``,
  ``namespace``, ``scroll_id``), an empty ``sort_values`` message
  (``{"last_doc_id": "", "last_timestamp": 0}``), ``null`` for anything;
- integers (int64 above all) may be JSON strings: ``"limit": "2"``,
  ``"last_timestamp": "1714..."``, ``"topk": "5"``;
- fields the server does not know are ignored, in the body, in ``sort_values``
  and in an aggregation's parameters.

A value of the wrong type is still a 400 (``"limit": "many"``, ``"sort": 1``).
The schemas here are the native ones with those rules, for both F5 paths.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, fields, pre_load

from app.api.schemas import (
    AggregateBodySchema,
    ScrollBodySchema,
    SearchBodySchema,
    SortValuesSchema,
)
from app.engine.aggregations import PARAMETERS

_ZERO_NUMBERS = (0, "0")
# Body fields whose zero value means "not set", with that zero value's forms.
_ZEROS: dict[str, tuple[Any, ...]] = {
    "query": ("",), "sort": ("",), "start_time": ("",), "end_time": ("",),
    "namespace": ("",), "scroll_id": ("",), "limit": _ZERO_NUMBERS,
}


def _is_zero(value: Any, zeros: tuple[Any, ...]) -> bool:
    # bool is an int, but `false` is no zero of a number or a string here.
    return not isinstance(value, bool) and value in zeros


def _set_fields(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without nulls and zero values."""
    return {name: value for name, value in data.items()
            if value is not None and not _is_zero(value, _ZEROS.get(name, ()))}


def _sort_values(raw: Any) -> Any:
    """None for an empty sort_values message (every field unset or zero)."""
    if not isinstance(raw, dict):
        return raw
    doc_id, timestamp = raw.get("last_doc_id"), raw.get("last_timestamp")
    if doc_id in (None, "") and (timestamp is None or _is_zero(timestamp, (*_ZERO_NUMBERS, ""))):
        return None
    return raw


def _integer(value: Any) -> Any:
    """An integer written as a JSON string, as an integer; anything else unchanged."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def aggregations(raw: Any) -> Any:
    """``aggs`` with proto3's conventions undone: unset types and zero or unknown parameters
    dropped, integers as integers. Malformed input is returned as is, for the parser to name."""
    if not isinstance(raw, dict):
        return raw
    result: dict[str, Any] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            result[name] = spec
            continue
        kinds = {kind: value for kind, value in spec.items()
                 if kind != "aggs" and value is not None}
        entry: dict[str, Any] = {}
        for kind, params in kinds.items():
            if kind in PARAMETERS and isinstance(params, dict):
                params = {key: _integer(value) for key, value in params.items()
                          if key in PARAMETERS[kind] and value is not None
                          and not _is_zero(value, ("", *_ZERO_NUMBERS))}
            entry[kind] = params
        if spec.get("aggs"):
            entry["aggs"] = aggregations(spec["aggs"])
        result[name] = entry
    return result


class F5SortValuesSchema(SortValuesSchema):
    class Meta:
        unknown = EXCLUDE


class F5SearchBodySchema(SearchBodySchema):
    """F5's AuditLogRequest: the native search body with proto3's conventions."""

    class Meta:
        unknown = EXCLUDE

    sort_values = fields.Nested(F5SortValuesSchema, load_default=None, allow_none=True)

    @pre_load
    def unset_zero_values(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = _set_fields(data)
        if "sort_values" in data:
            data["sort_values"] = _sort_values(data["sort_values"])
        if "aggs" in data:
            data["aggs"] = aggregations(data["aggs"])
        return data


class F5AggregateBodySchema(AggregateBodySchema):
    """F5's AuditLogAggregationRequest with proto3's conventions."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def unset_zero_values(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = _set_fields(data)
        if "aggs" in data:
            data["aggs"] = aggregations(data["aggs"])
        return data


class F5ScrollBodySchema(ScrollBodySchema):
    """F5's LogScrollRequest with proto3's conventions."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def unset_zero_values(self, data: Any, **_kwargs: Any) -> Any:
        return _set_fields(data) if isinstance(data, dict) else data
