"""marshmallow schemas of the search surfaces' bodies, and their translation to InvalidInput.

The same schemas feed the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.engine.search import MAX_LIMIT, SORT_ORDERS, SortValues
from app.errors import InvalidInput
from app.model.timestamps import TimestampError, parse_timestamp


class TimeValue(fields.Field):
    """Unix seconds (number or numeric string) or RFC 3339; validated by the time window."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("must be unix seconds or an RFC 3339 timestamp")
        return value


class TimeNs(fields.Field):
    """Unix seconds or RFC 3339; loads to epoch nanoseconds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("must be unix seconds or an RFC 3339 timestamp")
        try:
            return parse_timestamp(value)[0]
        except TimestampError as exc:
            raise ValidationError(str(exc)) from None


class LastTimestamp(fields.Field):
    """A sort timestamp: epoch nanoseconds (integer or digit string) or RFC 3339."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool):
            raise ValidationError("must be epoch nanoseconds or RFC 3339")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        if isinstance(value, str):
            try:
                return parse_timestamp(value)[0]
            except TimestampError as exc:
                raise ValidationError(str(exc)) from None
        raise ValidationError("must be epoch nanoseconds or RFC 3339")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class SortValuesSchema(_Strict):
    last_doc_id = fields.String(required=True, metadata={"description": "id of the last event"})
    last_timestamp = LastTimestamp(
        required=True, metadata={"description": "time of the last event, epoch nanoseconds"})


class SearchBodySchema(_Strict):
    """Body of the native search and of F5's audit_logs."""

    namespace = fields.String(metadata={"description": "must equal the URL's namespace"})
    query = fields.String(load_default="", metadata={"description": "label-matcher query"})
    start_time = TimeValue(load_default=None, allow_none=True)
    end_time = TimeValue(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=MAX_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    sort = fields.String(load_default="DESCENDING", validate=validate.OneOf(list(SORT_ORDERS)))
    aggs = fields.Dict(load_default=dict, allow_none=True)
    scroll = fields.Boolean(load_default=False)
    search_after = fields.Boolean(load_default=False)
    sort_values = fields.Nested(SortValuesSchema, load_default=None, allow_none=True)


class AggregateBodySchema(_Strict):
    """Body of the native aggregate and of F5's audit_logs/aggregation."""

    namespace = fields.String()
    query = fields.String(load_default="")
    start_time = TimeValue(load_default=None, allow_none=True)
    end_time = TimeValue(load_default=None, allow_none=True)
    aggs = fields.Dict(load_default=dict, allow_none=True)


class ScrollBodySchema(_Strict):
    namespace = fields.String()
    scroll_id = fields.String(required=True)


def _first_message(messages: Any, path: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        name = path if key == "_schema" else (f"{path}.{key}" if path else str(key))
        return _first_message(value, name)
    if isinstance(messages, list) and messages:
        return _first_message(messages[0], path)
    return path, str(messages)


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate ``data``; raise InvalidInput naming the first bad field and listing all."""
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        name, message = _first_message(exc.messages)
        raise InvalidInput(f"{name}: {message}", field=name, errors=exc.messages) from None
    return loaded


def sort_values_of(loaded: dict[str, Any]) -> SortValues | None:
    """The SortValues of a loaded search body, if any."""
    raw = loaded.get("sort_values")
    if not raw:
        return None
    return SortValues(raw["last_timestamp"], raw["last_doc_id"])
