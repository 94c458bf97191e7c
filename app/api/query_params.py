"""Query-string parameters of the compatibility surfaces (Immuta, Run:ai, Wasabi AiR).

Each endpoint declares a marshmallow schema (which also feeds the OpenAPI
document); ``load_args`` turns the request's MultiDict into what the schema
loads. Rules shared by every such endpoint:

- an empty parameter (``?action=``) is the same as an absent one (Run:ai's
  ``success`` says "leave blank for all");
- a ``Repeated`` parameter may be given several times, as ``name[]``, or as one
  comma-separated value (``dataSourceId=1&dataSourceId=2`` = ``dataSourceId=1,2``);
  its values are ORed;
- any other parameter given twice, or a parameter the endpoint does not know,
  is a 400 naming it (a misspelt filter must not silently match everything).

Times (``Instant``) accept RFC 3339 with any offset, ``yyyy-MM-dd``,
``yyyy-MM-ddTHH:mm:ss[.fraction]`` (UTC), and unix time: seconds, or
milliseconds when the number has 12 or more digits (as seconds it would lie
past the year 5000, beyond what the store holds). Month, day, hour, minute and
second may have one digit (``2022-1-1``, ``2023-1-4T0:00:00``, as Run:ai's
clients write them), and an offset may lack its colon or minutes (``+0200``,
``+02``). A date alone as an upper bound means the end of that day.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict

from app.api.schemas import load
from app.errors import InvalidInput
from app.model.event import MAX_VALUE_CHARS
from app.model.time_window import TimeWindow, open_window
from app.model.timestamps import NS_PER_S, TimestampError, format_ns, parse_timestamp

DAY_NS = 86_400 * NS_PER_S
MS_THRESHOLD = 10**11  # unix numbers at or above this are milliseconds
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NAIVE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A date or date-time whose month to second may have one digit; padded before parsing.
_UNPADDED = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"
                       r"(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{1,9})?([Zz]|[+-].*)?)?")
# An offset without its colon (+0200, as Java's ``Z`` pattern writes it) or minutes (+02).
_BARE_OFFSET = re.compile(r"([+-]\d{2})(\d{2})?")


class NamespaceParams(Schema):
    """Base of every compatibility endpoint's parameters: unknown names are refused."""

    class Meta:
        unknown = RAISE

    namespace = fields.String(
        load_default=None,
        metadata={"description": "the namespace to search; needed only when the key has "
                                 "several (or is an admin key)"},
    )


class Filter(fields.String):
    """A filter parameter: its name is a field-registry name or alias, its value an exact
    value of that field."""

    def __init__(self, description: str, **kwargs: Any) -> None:
        super().__init__(load_default=None, validate=validate.Length(1, MAX_VALUE_CHARS),
                         metadata={"description": description}, **kwargs)


class Repeated(fields.List):
    """A repeatable filter parameter (see Filter); its values are ORed."""

    def __init__(self, description: str, **kwargs: Any) -> None:
        super().__init__(fields.String(validate=validate.Length(1, MAX_VALUE_CHARS)),
                         load_default=list, metadata={"description": description}, **kwargs)


def filters_of(schema: Schema, loaded: dict[str, Any]) -> dict[str, Any]:
    """{parameter name: loaded value} of the schema's Filter and Repeated parameters."""
    return {(spec.data_key or name): loaded[name] for name, spec in schema.fields.items()
            if isinstance(spec, Filter | Repeated)}


def _padded(text: str) -> str:
    """``2023-1-4T0:00:00`` as ``2023-01-04T00:00:00``; any other text unchanged."""
    match = _UNPADDED.fullmatch(text)
    if match is None:
        return text
    year, month, day, sep, hour, minute, second, fraction, offset = match.groups()
    date = f"{year}-{int(month):02d}-{int(day):02d}"
    if sep is None:
        return date
    bare = _BARE_OFFSET.fullmatch(offset or "")
    if bare is not None:
        offset = f"{bare[1]}:{bare[2] or '00'}"
    return (f"{date}{sep}{int(hour):02d}:{int(minute):02d}:{int(second):02d}"
            f"{fraction or ''}{offset or ''}")


def parse_instant(text: str, *, end: bool = False) -> int:
    """Epoch ns of a time parameter (see the module docstring); raise TimestampError."""
    given = text.strip()
    text = _padded(given)
    if text != given:
        try:
            return parse_instant(text, end=end)
        except TimestampError:
            raise TimestampError(f"{given!r} is not a valid date or date-time") from None
    date = _DATE.fullmatch(text)
    if date is not None:
        try:
            day = datetime(int(date[1]), int(date[2]), int(date[3]), tzinfo=UTC)
        except ValueError as exc:
            raise TimestampError(f"{text!r} is not a valid date: {exc}") from None
        ns, _ = parse_timestamp(day.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return ns + DAY_NS - 1 if end else ns
    if _NAIVE.fullmatch(text):
        return parse_timestamp(text + "Z")[0]
    if _NUMBER.fullmatch(text) and abs(float(text)) >= MS_THRESHOLD:
        seconds, _, fraction = text.partition(".")
        return parse_timestamp(f"{seconds[:-3]}.{seconds[-3:]}{fraction}")[0]
    return parse_timestamp(text)[0]


class Instant(fields.String):
    """A point in time; loads to epoch nanoseconds. ``end=True``: a date alone means its end."""

    def __init__(self, *, end: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        super().__init__(**kwargs)
        self.end = end

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str):
            raise ValidationError("must be a timestamp")
        try:
            return parse_instant(value, end=self.end)
        except TimestampError as exc:
            raise ValidationError(
                f"{exc}; use RFC 3339 (2024-05-01T12:00:00Z), yyyy-MM-dd, "
                "yyyy-MM-ddTHH:mm:ss (UTC) or unix seconds/milliseconds"
            ) from None


def window(start_ns: int | None, end_ns: int | None, start_name: str,
           end_name: str) -> TimeWindow:
    """The inclusive window of two loaded bounds (either may be open); 400 when reversed."""
    return open_window(None if start_ns is None else format_ns(start_ns, 9),
                       None if end_ns is None else format_ns(end_ns, 9), start_name, end_name)


def exclusive_window(after_ns: int | None, before_ns: int | None, after_name: str,
                     before_name: str) -> TimeWindow:
    """Events strictly after ``after_ns`` and strictly before ``before_ns``; 400 unless
    after < before."""
    if after_ns is not None and before_ns is not None and after_ns >= before_ns:
        raise InvalidInput(f"{after_name}: must be earlier than {before_name}", field=after_name)
    # Inclusive bounds one nanosecond inside (the store's resolution); an empty range
    # (after and before 1 ns apart) matches nothing, as it should.
    return TimeWindow(None if after_ns is None else after_ns + 1,
                      None if before_ns is None else before_ns - 1)


def load_args(schema: Schema, args: MultiDict[str, str]) -> dict[str, Any]:
    """Load a query string through ``schema``; raise InvalidInput naming the parameter."""
    data: dict[str, Any] = {}
    for given in args:
        name = given[:-2] if given.endswith("[]") else given
        values = [value for value in args.getlist(given) if value.strip()]
        if isinstance(schema.fields.get(name), Repeated):
            parts = [part.strip() for value in values for part in value.split(",")]
            data.setdefault(name, []).extend(part for part in parts if part)
            continue
        if len(values) > 1:
            raise InvalidInput(f"{given}: give this parameter once", field=given)
        if values:
            data[given] = values[0]
    for name in [name for name, value in data.items() if value == []]:
        del data[name]
    return load(schema, data)


def described(args: MultiDict[str, str]) -> str:
    """The request's parameters as one readable line (the self-audit event's ``query``)."""
    return " ".join(f"{name}={value}" for name, value in args.items(multi=True)
                    if name != "namespace" and value.strip())
